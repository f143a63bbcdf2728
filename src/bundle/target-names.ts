/**
 * Can the file system extract writes to hold every name of the bundle?
 *
 * Bundles keep the evidence's names as they are (README.txt beside
 * Readme.txt, an NFD name beside its NFC twin, `CON`, `a:b`). A target that
 * folds case (NTFS, exFAT, FAT, APFS by default), that normalises Unicode
 * (APFS, some NFS servers), or that refuses Windows names would make one file
 * out of two, or fail halfway, or — worst — silently give the examiner a
 * file under another name than the one that was sealed. Extract asks here
 * first, and refuses before writing anything, naming both members — or,
 * when asked (`--rename-unportable`), gives each such member a safe,
 * deterministic name and lists every rename for the mapping file extract
 * writes beside the bag: a name is never changed silently.
 *
 * What the target does is found by probing it (creating a name and looking
 * for its twin), not guessed from the platform: a Linux examiner may extract
 * onto an exFAT USB disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { windowsNameProblem } from './layout.js';
import { foldName } from './tar-names.js';

export interface TargetProfile {
  /** `a` and `A` are one name. */
  caseInsensitive: boolean;
  /** NFC and NFD spellings are one name. */
  normalisationInsensitive: boolean;
  /** Names Windows file systems refuse (`CON`, `a:b`, `x?`, a trailing dot or space) cannot be created. */
  windowsNames: boolean;
  /** Names must be valid UTF-8 (NTFS, exFAT, FAT with a UTF-8 iocharset, APFS): a name sealed escaped cannot get its bytes back. */
  utf8Names?: boolean;
}

/** Probes the folder `dir` (empty, ours) for what its file system does to names. */
export function probeTarget(dir: string): TargetProfile {
  const probe = (create: string, look: string): boolean => {
    const a = path.join(dir, create);
    try {
      fs.writeFileSync(a, '', { flag: 'wx' });
    } catch {
      return false;
    }
    try {
      return fs.existsSync(path.join(dir, look));
    } finally {
      fs.rmSync(a, { force: true });
    }
  };
  const canCreate = (name: string | Buffer): boolean => {
    const a = typeof name === 'string' ? path.join(dir, name) : Buffer.concat([Buffer.from(`${dir}/`), name]);
    try {
      fs.writeFileSync(a, '', { flag: 'wx' });
      fs.rmSync(a, { force: true });
      return true;
    } catch {
      return false;
    }
  };
  return {
    caseInsensitive: probe('.custody-probe-case-a', '.CUSTODY-PROBE-CASE-A'),
    normalisationInsensitive: probe('.custody-probe-\u00e9', '.custody-probe-e\u0301'),
    windowsNames: !canCreate('.custody-probe-a:b?'),
    utf8Names: !canCreate(Buffer.from('.custody-probe-\xff', 'latin1')),
  };
}


/** The key under which the target stores a name (two names with one key are one file there). */
function targetKey(name: string, p: TargetProfile): string {
  let k = name;
  if (p.normalisationInsensitive) k = k.normalize('NFC');
  if (p.caseInsensitive) k = foldName(k);
  return k;
}

const RESERVED_DEVICE = /^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(\..*)?$/i;
// eslint-disable-next-line no-control-regex
const REFUSED_CHARS = /[<>:"|?*\\\u0000-\u001f]/g;

/**
 * A name Windows can hold, made from one it cannot: each refused character
 * becomes '_', a trailing dot or space becomes '_', and a device name gets
 * '_' after it (`CON` → `CON_`, `aux.txt` → `aux_.txt`). Deterministic: the
 * same sealed name always gives the same safe name.
 */
export function windowsSafeName(component: string): string {
  let s = component.replace(REFUSED_CHARS, '_').replace(/[. ]+$/, (t) => '_'.repeat(t.length));
  const m = RESERVED_DEVICE.exec(s);
  if (m) s = `${m[1]}_${m[2] ?? ''}`;
  return s;
}

/** `name (n).ext` (the extension after the last dot, not a leading one), as file managers name a second copy. */
function numbered(component: string, n: number): string {
  const dot = component.lastIndexOf('.');
  return dot > 0 ? `${component.slice(0, dot)} (${n})${component.slice(dot)}` : `${component} (${n})`;
}

export type NameMode = 'refuse' | 'rename';

const REFUSE_HINT = 'extract onto a file system that keeps both names (ext4, XFS, APFS case-sensitive), or add --rename-unportable to write them under safe names listed in a mapping file';

/**
 * Decides the name every member (relative to the destination) is written
 * under on the target. Refuses ('refuse') or renames ('rename') a member the
 * target cannot hold: one that is the same file there as an earlier one
 * (every folder above a member counts too; a renamed folder renames all it
 * holds), or one it cannot create. Fed all names before anything is written
 * where the bundle is a file; member by member, before each is written,
 * where it streams from stdin. Both see the members in the bundle's order,
 * so a bundle gets the same names either way: the first of a colliding pair
 * keeps its name, the next is `name (2).ext`, and so on.
 */
export class TargetNameCheck {
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

/** All names at once (see TargetNameCheck). */
export function assertTargetHolds(names: readonly string[], p: TargetProfile, dest: string): void {
  const c = new TargetNameCheck(p, dest);
  for (const n of names) c.add(n);
}
