/**
 * The target name check as it was before it kept names by folder: every
 * path and every prefix whole, in three maps (269 MB of heap at a million
 * names). Kept as the reference the compact check must agree with, decision
 * for decision (test/target-names.test.ts).
 */
import { CustodyError } from '../../src/core/errors.js';
import { windowsNameProblem } from '../../src/bundle/layout.js';
import { foldName } from '../../src/bundle/tar-names.js';
import { windowsSafeName, type NameMode, type TargetProfile } from '../../src/bundle/target-names.js';

/** The key under which the target stores a name (two names with one key are one file there). */
function targetKey(name: string, p: TargetProfile): string {
  let k = name;
  if (p.normalisationInsensitive) k = k.normalize('NFC');
  if (p.caseInsensitive) k = foldName(k);
  return k;
}

/** `name (n).ext` (the extension after the last dot, not a leading one), as file managers name a second copy. */
function numbered(component: string, n: number): string {
  const dot = component.lastIndexOf('.');
  return dot > 0 ? `${component.slice(0, dot)} (${n})${component.slice(dot)}` : `${component} (${n})`;
}

const REFUSE_HINT = 'extract onto a file system that keeps both names (ext4, XFS, APFS case-sensitive), or add --rename-unportable to write them under safe names listed in a mapping file';

export class ReferenceTargetNameCheck {
  /** target key of a written path → the sealed path written there */
  private readonly seen = new Map<string, string>();
  /** sealed path (every prefix) → the path it is written under */
  private readonly written = new Map<string, string>();
  /** sealed path (every prefix) → why it was renamed */
  private readonly why = new Map<string, string>();
  /** The target folds, normalises or refuses some names (false on ext4, XFS: then every name is written as it is). */
  readonly active: boolean;

  constructor(
    readonly profile: TargetProfile,
    readonly dest: string,
    readonly mode: NameMode = 'refuse',
  ) {
    this.active = profile.caseInsensitive || profile.normalisationInsensitive || profile.windowsNames;
  }

  /** The path to write `name` under: itself, unless renamed. */
  add(name: string): string {
    if (!this.active) return name;
    const parts = name.split('/');
    let parent = '';
    for (let i = 0; i < parts.length; i++) {
      const sealed = parts.slice(0, i + 1).join('/');
      parent = this.written.get(sealed) ?? this.place(sealed, parent, parts[i]!);
    }
    return parent;
  }

  /** Where `sealed` (or a member under it) was written; itself when it was not renamed or not seen. */
  writtenPath(sealed: string): string {
    if (!this.active) return sealed;
    const parts = sealed.split('/');
    for (let i = parts.length; i > 0; i--) {
      const w = this.written.get(parts.slice(0, i).join('/'));
      if (w !== undefined) return [w, ...parts.slice(i)].join('/');
    }
    return sealed;
  }

  /** Some member (or a folder above one) is written under another path. */
  get renamedAny(): boolean {
    return this.why.size > 0;
  }

  /** Why `sealed` is written under another path (the first renamed folder above it, or itself), or undefined. */
  renamedBecause(sealed: string): string | undefined {
    if (this.why.size === 0) return undefined;
    const parts = sealed.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const w = this.why.get(parts.slice(0, i).join('/'));
      if (w !== undefined) return w;
    }
    return undefined;
  }

  private place(sealed: string, parent: string, component: string): string {
    let candidate = component;
    let why: string | undefined;
    const windows = this.profile.windowsNames ? windowsNameProblem(component) : undefined;
    if (windows !== undefined) {
      why = `${JSON.stringify(component)} has ${windows}`;
      if (this.mode === 'refuse') {
        throw new CustodyError('USAGE', `cannot extract into ${this.dest}: ${JSON.stringify(sealed)} has ${windows}, which its file system cannot hold; nothing was written to ${this.dest}`, {
          member: sealed,
          hint: 'extract onto a file system that can hold the name (ext4, XFS, APFS), or add --rename-unportable to write it under a safe name listed in a mapping file',
        });
      }
      candidate = windowsSafeName(component);
    }
    const join = (c: string) => (parent === '' ? c : `${parent}/${c}`);
    let at = join(candidate);
    const other = this.seen.get(targetKey(at, this.profile));
    if (other !== undefined) {
      const how = other.normalize('NFC') === sealed.normalize('NFC') ? 'Unicode normalisation' : 'case';
      if (this.mode === 'refuse') {
        throw new CustodyError('USAGE', `cannot extract into ${this.dest}: ${JSON.stringify(other)} and ${JSON.stringify(sealed)} would be one file there (its file system ignores ${how}); nothing was written to ${this.dest}`, {
          member: sealed,
          hint: REFUSE_HINT,
        });
      }
      const taken = this.written.get(other) === at && this.why.has(other);
      why ??= taken ? `its name is the safe name given to ${JSON.stringify(other)}` : `would be one file with ${JSON.stringify(other)} there (its file system ignores ${how})`;
      for (let n = 2; this.seen.has(targetKey(at, this.profile)); n++) at = join(numbered(candidate, n));
    }
    this.seen.set(targetKey(at, this.profile), sealed);
    this.written.set(sealed, at);
    if (why !== undefined) this.why.set(sealed, why);
    return at;
  }
}

