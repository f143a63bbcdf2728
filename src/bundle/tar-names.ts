/**
 * Member-name rules shared by the tar writer (so we never write what our own
 * reader refuses) and the strict reader (a bundle is untrusted input: the
 * name decides where `extract` writes, and a second member with "the same"
 * name could shadow the one that was verified).
 */
import { CustodyError } from '../core/errors.js';
import { utf8 } from '../custody/encoding.js';
import { NameSet } from './name-set.js';
import { utf8Scratch } from './payload-table.js';

function unsafe(name: string, rule: string): CustodyError {
  return new CustodyError('UNSAFE_BUNDLE', `unsafe tar member ${JSON.stringify(name)}: ${rule}`, { member: name });
}

// C0 controls and DEL, except tab, CR and LF (evidence names hold them; the
// manifests percent-encode CR and LF as BagIt asks, so no line can be forged):
// BagIt manifests; NUL truncates names in C tools.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Longest member name (UTF-8 bytes) read or written. */
export const MAX_NAME_BYTES = 4096;
/** Deepest member name (path components) read or written. */
export const MAX_NAME_DEPTH = 256;
/** Distinct folders in one archive, and the bytes of their names (memory stays bounded on hostile input). */
export const MAX_FOLDERS = 1_000_000;
export const MAX_FOLDER_NAME_BYTES = 64 << 20;

/**
 * Checks one member name and returns it without the trailing '/' a
 * directory carries in tar. Throws UNSAFE_BUNDLE naming the rule broken.
 */
export function checkMemberName(raw: string, type: 'file' | 'dir'): string {
  return plainName(raw, type) ?? checkName(raw, type);
}

/**
 * The name checkMemberName returns for a name that plainly breaks no rule, in
 * one pass over its characters and without splitting it (the walk behind
 * transfer and log checks 200,000 names); undefined for anything else, which
 * checkName then judges (and words the refusal of).
 */
function plainName(raw: string, type: 'file' | 'dir'): string | undefined {
  let end = raw.length;
  // Short enough whatever its characters (at most 3 UTF-8 bytes each); not absolute; no drive letter (or anything ':' second).
  if (end === 0 || end * 3 > MAX_NAME_BYTES || raw.charCodeAt(0) === 0x2f || raw.charCodeAt(1) === 0x3a) return undefined;
  if (raw.charCodeAt(end - 1) === 0x2f) {
    if (type !== 'dir') return undefined;
    end--;
  }
  let slashes = 0;
  let start = 0;
  for (let i = 0; i <= end; i++) {
    const c = i < end ? raw.charCodeAt(i) : 0x2f;
    if (c === 0x2f) {
      // An empty, '.' or '..' component.
      const n = i - start;
      if (n === 0 || (n <= 2 && raw.charCodeAt(start) === 0x2e && (n === 1 || raw.charCodeAt(start + 1) === 0x2e))) return undefined;
      slashes++;
      start = i + 1;
    } else if (c < 0x20 || c === 0x7f || c === 0x5c) {
      return undefined; // a control character (or tab, CR, LF: judged there) or a backslash
    }
  }
  // `slashes` counted one past the last component; the raw name's components include the empty one after a trailing '/'.
  if (slashes + (end < raw.length ? 1 : 0) > MAX_NAME_DEPTH) return undefined;
  return end === raw.length ? raw : raw.slice(0, end);
}

function checkName(raw: string, type: 'file' | 'dir'): string {
  if (raw === '') throw unsafe(raw, 'empty name');
  // A pax path may be ~1 MiB: 400,000 components made the parent bookkeeping
  // below quadratic (verify hung for minutes). No file system takes a path
  // this long anyway (Linux PATH_MAX is 4096 bytes).
  if (raw.length * 3 > MAX_NAME_BYTES && utf8(raw).length > MAX_NAME_BYTES) throw unsafe(raw.slice(0, 100), `name longer than ${MAX_NAME_BYTES} bytes`);
  if (raw.startsWith('/')) throw unsafe(raw, 'absolute name (path traversal)');
  if (/^[A-Za-z]:/.test(raw)) throw unsafe(raw, 'drive-letter name (absolute on Windows)');
  if (raw.includes('\\')) throw unsafe(raw, 'backslash in name (a path separator on Windows)');
  if (CONTROL.test(raw)) throw unsafe(raw, 'control character in name');
  // Every folder above a member is remembered (NameTracker): a hostile 2 MB tar of
  // 400 names 2,000 folders deep took 1.8 GB and 23 s. Real evidence trees are far shallower.
  if (raw.split('/').length > MAX_NAME_DEPTH) throw unsafe(raw.slice(0, 100), `more than ${MAX_NAME_DEPTH} path components`);
  let name = raw;
  if (name.endsWith('/')) {
    if (type !== 'dir') throw unsafe(raw, "regular file whose name ends with '/'");
    name = name.slice(0, -1);
  }
  for (const part of name.split('/')) {
    if (part === '') throw unsafe(raw, "empty path component ('//' or a bare '/')");
    if (part === '.') throw unsafe(raw, "'.' path component");
    if (part === '..') throw unsafe(raw, "'..' path component (path traversal)");
  }
  return name;
}

/**
 * Folds a name the way case-insensitive, normalising file systems (APFS,
 * NTFS, exFAT) may: two members that fold alike would land on one file
 * there. Upper- then lower-casing approximates Unicode full case folding
 * (ß → ss, ſ → s). Not a rule of the bundle (the evidence's own names are
 * kept, README.txt beside Readme.txt included); extract uses it to refuse,
 * before writing, a target that cannot hold both.
 */
export function foldName(name: string): string {
  return name.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC');
}

/**
 * Refuses byte-identical duplicate names (a second member could shadow the
 * one that was verified) and members that would be created inside something
 * that is a regular file. Names that differ only in case or Unicode
 * normalisation are different names: both are kept, as on the disk they
 * came from.
 */
export class NameTracker {
  /**
   * Every folder above a member so far (a NameSet, not a Set of strings: a million members' folders took ~30 MB
   * more as strings).
   */
  private readonly parents = new NameSet();
  /**
   * Every name so far, flagged 1 for a regular file, each kept as its folder in `parents` and the bytes after it
   * (compact: a million names). On the point of `parents`: one pass over a name hashes it and every folder
   * above it for both.
   */
  private readonly seen = new NameSet(this.parents.point, this.parents);
  private parentBytes = 0;
  /** The hashes of the folders above the name being added, then its own (NameSet.prefixHashes). */
  private cuts = new Int32Array(256);

  /**
   * `bytes`: the name's UTF-8 bytes, when the caller has them at hand (a header's raw name); otherwise the name
   * is encoded here.
   */
  add(name: string, type: 'file' | 'dir', bytes?: Uint8Array): void {
    const key = name;
    // The name's UTF-8 bytes (a scratch buffer, not encoded again below: NameSet copies them); '/' is
    // one byte, so the bytes before the n-th '/' are those of the folder the string has before it.
    const kb = bytes ?? utf8Scratch(key);
    if (this.cuts.length <= kb.length) this.cuts = new Int32Array(2 * kb.length + 1);
    const cuts = this.cuts;
    // One pass: cuts[0..n-1] hash the folders above the member (shortest first), cuts[n] the name.
    const n = this.seen.prefixHashes(kb, 0x2f, cuts);
    // The member's folder first (the name is kept as that folder and the bytes after it). `parents` holds
    // every folder above each one it holds (addFolders adds them shortest first): when the member's own
    // folder is there, so are all the others.
    const cut = kb.lastIndexOf(0x2f);
    let folder = cut < 0 ? -1 : this.parents.findHashed(kb, cuts[n - 1]!, cut);
    if (cut >= 0 && folder < 0) folder = this.addFolders(name, kb, cuts);
    if (this.seen.addNewHashed(kb, type === 'file' ? 1 : 0, cuts[n]!, folder) < 0) throw unsafe(name, 'duplicate name');
    if (type === 'file' && this.parents.findHashed(kb, cuts[n]!) >= 0) {
      throw unsafe(name, 'regular file with the same name as a directory holding earlier members');
    }
  }

  /** Adds each folder above the member not yet in `parents` (cuts: their hashes); returns the index of its own. */
  private addFolders(name: string, kb: Uint8Array, cuts: Int32Array): number {
    let last = -1;
    // Each folder above the member, cut from the name (joining component arrays was quadratic).
    let k = 0;
    for (let i = name.indexOf('/'), j = kb.indexOf(0x2f); i >= 0; i = name.indexOf('/', i + 1), j = kb.indexOf(0x2f, j + 1), k++) {
      const parent = kb.subarray(0, j);
      const h = cuts[k]!;
      last = this.parents.findHashed(parent, h);
      if (last < 0) {
        // A folder seen before was checked then, and no file of its name was admitted since.
        const s = this.seen.findHashed(parent, h);
        if (s >= 0 && this.seen.flags(s) === 1) throw unsafe(name, `inside ${JSON.stringify(name.slice(0, i))}, which is a regular file`);
        this.parentBytes += i;
        // Every distinct folder is remembered: 70,000 names 255 folders deep took 1.5 GB before failing deep in the runtime.
        if (this.parents.size >= MAX_FOLDERS || this.parentBytes > MAX_FOLDER_NAME_BYTES) {
          throw unsafe(name.slice(0, 100), `more than ${MAX_FOLDERS} distinct folders or ${MAX_FOLDER_NAME_BYTES} bytes of folder names in one archive`);
        }
        last = this.parents.addHashed(parent, 0, h);
      }
    }
    return last;
  }

  has(name: string): boolean {
    return this.seen.find(utf8Scratch(name)) >= 0;
  }

  /** Names added so far; name k's UTF-8 bytes (a reader keeps them here once, not twice). */
  get count(): number {
    return this.seen.size;
  }

  /** Name k's bytes (valid until the next bytesOf or add). */
  bytesOf(k: number): Uint8Array {
    return this.seen.bytesOf(k);
  }

  /** Name k without its first `skip` bytes against b, in byte order (NameSet.compareWith). */
  compareWith(k: number, b: Uint8Array, skip = 0): number {
    return this.seen.compareWith(k, b, skip);
  }
}
