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
  /**
   * Every path placed, by folder: the number of the folder it is written in
   * and the target key of its own name → its own name as sealed. A folder
   * written once holds the children of one sealed folder only (two that
   * would share it are refused or renamed), so a name and its folder are the
   * whole path. Whole paths in three maps took 269 MB of heap at a million
   * names. The name is kept only where it is not its own key (1 otherwise),
   * and copied: a name cut from a member's path would keep the whole path.
   */
  private readonly seen = new Map<string, string | 1>();
  /** Folders written (paths on the target, '' the destination) → their numbers. */
  private readonly folders = new Map<string, number>([['', 0]]);
  /** sealed path → the path it is written under, where they differ (a renamed folder renames all it holds) */
  private readonly renamed = new Map<string, string>();
  /** sealed path → why it was renamed */
  private readonly why = new Map<string, string>();
  /** The target folds, normalises or refuses some names (false on ext4, XFS: then every name is written as it is). */
  readonly active: boolean;
  /** The last name added, by component, and where each of its prefixes is written. */
  private last: { parts: string[]; written: string[] } = { parts: [], written: [] };

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
    // The folders this name shares with the last one were placed then, under the paths they have for good.
    const last = this.last;
    let shared = 0;
    while (shared < parts.length - 1 && shared < last.parts.length - 1 && parts[shared] === last.parts[shared]) shared++;
    const written = last.written.slice(0, shared);
    let sealed = parts.slice(0, shared).join('/');
    let parent = shared === 0 ? '' : written[shared - 1]!;
    for (let i = shared; i < parts.length; i++) {
      const sealedFolder = sealed;
      const folder = parent;
      const part = parts[i]!;
      sealed = i === 0 ? part : `${sealed}/${part}`;
      const key = this.key(folder, part);
      parent = this.placed(sealed, key, folder, part) ?? this.place(sealed, i === 0 ? undefined : sealedFolder, folder, part, key);
      written.push(parent);
    }
    this.last = { parts, written };
    return parent;
  }

  /** Where `sealed` (or a member under it) was written; itself when it was not renamed or not seen. */
  writtenPath(sealed: string): string {
    if (!this.active || this.renamed.size === 0) return sealed;
    const parts = sealed.split('/');
    for (let i = parts.length; i > 0; i--) {
      const w = this.renamed.get(parts.slice(0, i).join('/'));
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

  /** The key of `name` in the written folder `folder`. */
  private key(folder: string, name: string): string {
    let n = this.folders.get(folder);
    if (n === undefined) {
      n = this.folders.size;
      this.folders.set(folder, n);
    }
    return `${n}/${targetKey(name, this.profile)}`;
  }

  /** What `seen` keeps for a name placed under `key`. */
  private static kept(key: string, component: string): string | 1 {
    return key.endsWith(component) && key.length - component.length === key.indexOf('/') + 1 ? 1 : (JSON.parse(JSON.stringify(component)) as string); // a copy, exact for any UTF-16
  }

  /** The name `seen` kept under `key`. */
  private static name(key: string, kept: string | 1): string {
    return kept === 1 ? key.slice(key.indexOf('/') + 1) : kept;
  }

  /** Where `sealed` (own name `component`, under `key` in its folder written as `folder`) was placed already, or undefined. */
  private placed(sealed: string, key: string, folder: string, component: string): string | undefined {
    const r = this.renamed.get(sealed);
    if (r !== undefined) return r;
    const kept = this.seen.get(key);
    return kept !== undefined && TargetNameCheck.name(key, kept) === component ? join(folder, component) : undefined;
  }

  /** Places `sealed` (in the sealed folder `sealedFolder`, undefined at the top; written as `parent`; own name `component`, its key `own`). */
  private place(sealed: string, sealedFolder: string | undefined, parent: string, component: string, own: string): string {
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
    let name = candidate;
    let key = candidate === component ? own : this.key(parent, name);
    const kept = this.seen.get(key);
    if (kept !== undefined) {
      const otherName = TargetNameCheck.name(key, kept);
      // The other is in the same sealed folder as this one (see `seen`).
      const other = sealedFolder === undefined ? otherName : `${sealedFolder}/${otherName}`;
      const how = other.normalize('NFC') === sealed.normalize('NFC') ? 'Unicode normalisation' : 'case';
      if (this.mode === 'refuse') {
        throw new CustodyError('USAGE', `cannot extract into ${this.dest}: ${JSON.stringify(other)} and ${JSON.stringify(sealed)} would be one file there (its file system ignores ${how}); nothing was written to ${this.dest}`, {
          member: sealed,
          hint: REFUSE_HINT,
        });
      }
      const taken = this.renamed.get(other) === join(parent, name) && this.why.has(other);
      why ??= taken ? `its name is the safe name given to ${JSON.stringify(other)}` : `would be one file with ${JSON.stringify(other)} there (its file system ignores ${how})`;
      for (let n = 2; this.seen.has(key); n++) {
        name = numbered(candidate, n);
        key = this.key(parent, name);
      }
    }
    const at = join(parent, name);
    this.seen.set(key, TargetNameCheck.kept(key, component));
    if (at !== sealed) this.renamed.set(sealed, at);
    if (why !== undefined) this.why.set(sealed, why);
    return at;
  }
}

function join(folder: string, name: string): string {
  return folder === '' ? name : `${folder}/${name}`;
}

/** All names at once (see TargetNameCheck). */
export function assertTargetHolds(names: readonly string[], p: TargetProfile, dest: string): void {
  const c = new TargetNameCheck(p, dest);
  for (const n of names) c.add(n);
}
