/**
 * Can the file system extract writes to hold every name of the bundle?
 *
 * Bundles keep the evidence's names as they are (README.txt beside
 * Readme.txt, an NFD name beside its NFC twin, `CON`, `a:b`). A target that
 * folds case (NTFS, exFAT, FAT, APFS by default), that normalises Unicode
 * (APFS, some NFS servers), or that refuses Windows names would make one file
 * out of two, or fail halfway, or — worst — silently give the examiner a
 * file under another name than the one that was sealed. Extract asks here
 * first, and refuses before writing anything, naming both members.
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
  const canCreate = (name: string): boolean => {
    const a = path.join(dir, name);
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
  };
}

/** The key under which the target stores a name (two names with one key are one file there). */
function targetKey(name: string, p: TargetProfile): string {
  let k = name;
  if (p.normalisationInsensitive) k = k.normalize('NFC');
  if (p.caseInsensitive) k = foldName(k);
  return k;
}

/**
 * Refuses a member name (relative to the destination) that the target
 * cannot hold: one that is the same file there as an earlier one (every
 * folder above a member counts too), or one it cannot create. Fed all names
 * before anything is written where the bundle is a file; member by member,
 * before each is written, where it streams from stdin.
 */
export class TargetNameCheck {
  private readonly seen = new Map<string, string>();
  private readonly active: boolean;

  constructor(
    private readonly p: TargetProfile,
    private readonly dest: string,
  ) {
    this.active = p.caseInsensitive || p.normalisationInsensitive || p.windowsNames;
  }

  add(name: string): void {
    if (!this.active) return;
    const parts = name.split('/');
    for (let i = 1; i <= parts.length; i++) this.one(parts.slice(0, i).join('/'), name);
    if (this.p.windowsNames) {
      for (const c of parts) {
        const why = windowsNameProblem(c);
        if (why !== undefined) {
          throw new CustodyError('USAGE', `cannot extract into ${this.dest}: ${JSON.stringify(name)} has ${why}, which its file system cannot hold; nothing was written`, {
            member: name,
            hint: 'extract onto a file system that can hold the name (ext4, XFS, APFS)',
          });
        }
      }
    }
  }

  private one(prefix: string, member: string): void {
    const k = targetKey(prefix, this.p);
    const other = this.seen.get(k);
    if (other !== undefined && other !== prefix) {
      const how = other.normalize('NFC') === prefix.normalize('NFC') ? 'Unicode normalisation' : 'case';
      throw new CustodyError(
        'USAGE',
        `cannot extract into ${this.dest}: ${JSON.stringify(other)} and ${JSON.stringify(prefix)} would be one file there (its file system ignores ${how}); nothing was written`,
        { member, hint: 'extract onto a file system that keeps both names (ext4, XFS, APFS case-sensitive)' },
      );
    }
    this.seen.set(k, prefix);
  }
}

/** All names at once (see TargetNameCheck). */
export function assertTargetHolds(names: readonly string[], p: TargetProfile, dest: string): void {
  const c = new TargetNameCheck(p, dest);
  for (const n of names) c.add(n);
}
