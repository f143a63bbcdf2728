/**
 * Bundle layout v1 (DESIGN §3): member names, their order, and the naming
 * rules for the bag root, item ids and payload paths.
 *
 * The same rules are applied by seal (to refuse evidence whose names a strict
 * reader would later refuse) and by verify/extract (to refuse hostile names
 * that slipped past — a bundle is untrusted input, and a name is what decides
 * where extract writes).
 */
import { CustodyError, type ErrorCode } from '../core/errors.js';
import { compareBytes, utf8 } from '../custody/encoding.js';

export const BUNDLE_VERSION = 1;

export const BAGIT_TXT = 'bagit.txt';
export const BAG_INFO_TXT = 'bag-info.txt';
export const CUSTODY_MANIFEST_JSON = 'custody/manifest.json';
export const PIECES_TXT = 'custody/pieces-sha256.txt';
export const SEALER_PEM = 'custody/sealer.pem';
export const SEALER_MINISIGN_PUB = 'custody/sealer.minisign.pub';
export const VERIFY_TXT = 'VERIFY.txt';
export const TAGMANIFEST = 'tagmanifest-sha256.txt';
/**
 * The seal signatures over the tagmanifest. Not named `tagmanifest-*`: BagIt
 * readers (the Library of Congress's Java library among them) parse every root
 * file of that name as a tag manifest and crash on a binary signature.
 */
export const SEAL_SIG = 'custody/seal.sig';
export const SEAL_MINISIG = 'custody/seal.minisig';
export const CHAIN_DIR = 'custody/chain/';
/**
 * All custody records of a bundle together, at most. Readers keep the records
 * until the whole chain is checked, and names allow 10,000 of them: at 1 MiB
 * each a hostile bundle could make verify hold 10 GB. A real record is a few KiB.
 */
export const MAX_CHAIN_BYTES = 64 << 20;

/**
 * Streaming limits that seal and the readers (verify, extract) agree on, so
 * that seal refuses up front what verify would refuse, and verify can read
 * tag files of any size (an export of 1,000,000 files makes a 500 MB
 * custody/manifest.json) with bounded memory per line and per entry instead
 * of a cap on the whole file. Threat: a hostile bundle with one endless line
 * or one endless JSON entry exhausting the reader's memory.
 *
 * - TAG_LIMITS.manifestFileEntryBytes: one element of `files` in
 *   custody/manifest.json, as seal writes it (pretty-printed JSON, indentation
 *   and line breaks included, the separating comma not), at most 64 KiB.
 * - TAG_LIMITS.tagLineBytes: one line of manifest-<alg>.txt or
 *   custody/pieces-sha256.txt, its LF included, at most 8 KiB; a payload path
 *   too long for that (after percent-encoding) is refused at seal.
 * - The number of `files` entries in custody/manifest.json equals the number
 *   of payload (data/) members, and every manifest-<alg>.txt has one line per
 *   payload member (a reader may count instead of holding them).
 */
export const TAG_LIMITS = Object.freeze({
  manifestFileEntryBytes: 64 << 10,
  tagLineBytes: 8 << 10,
});

/**
 * The two comment lines of custody/seal.minisig. The trusted one is
 * signed; the untrusted one is not, so verify compares it exactly (a byte of
 * the bundle that nothing checks would break "change any byte, verify fails").
 */
export function minisigComments(bagName: string, bundleDigest: string, caseId: string): { untrusted: string; trusted: string } {
  return {
    untrusted: `signature of custody bundle ${bagName} (tagmanifest-sha256.txt)`,
    trusted: `custody bundle ${bagName} sha256:${bundleDigest} case ${caseId}`,
  };
}

export function manifestName(algo: string): string {
  return `manifest-${algo}.txt`;
}

/** Tag files written after the payload and listed in the tagmanifest, in member order. */
function tagFilesAfterPayload(algos: readonly string[]): string[] {
  return [...algos.map(manifestName), CUSTODY_MANIFEST_JSON, PIECES_TXT, SEALER_PEM, SEALER_MINISIGN_PUB, VERIFY_TXT];
}

/**
 * The tag files the tagmanifest lists, in member order.
 * The tagmanifest cannot list itself, nor the signatures over it, nor the
 * chain records (they are appended later and carry their own signatures).
 */
export function tagFilesInOrder(algos: readonly string[]): string[] {
  return [BAGIT_TXT, BAG_INFO_TXT, ...tagFilesAfterPayload(algos)];
}

/** Tag members after the payload, in order, up to the chain records. */
export function membersAfterPayload(algos: readonly string[]): string[] {
  return [...tagFilesAfterPayload(algos), TAGMANIFEST, SEAL_SIG, SEAL_MINISIG];
}

/** Record members: the one naming lives with the records (custody/record.ts). */
export { parseRecordMemberName as parseChainMemberName } from '../custody/record.js';

/** Item ids and the bag root name: one safe path component, portable across file systems. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isValidId(id: string): boolean {
  return ID.test(id) && !id.endsWith('.');
}

export function assertItemId(id: string, code: ErrorCode = 'USAGE'): void {
  if (!isValidId(id)) {
    throw new CustodyError(code, `invalid item id ${JSON.stringify(id)}: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

/** Turns a file name into an item id (the default for `--item`). */
export function itemIdFromName(name: string): string {
  let id = name.normalize('NFC').replace(/[^A-Za-z0-9._-]+/g, '_');
  id = id.replace(/^[^A-Za-z0-9]+/, '').replace(/\.+$/, '').slice(0, 64).replace(/\.+$/, '');
  return isValidId(id) ? id : 'item';
}

/** The bag root (`<name>/` inside the tar), from the output file name. */
export function bagNameFromOut(outBasename: string): string {
  return itemIdFromName(outBasename.replace(/\.tar$/i, '')) || 'bundle';
}

/**
 * Why a path component is refused, or undefined when it is fine. Guards:
 * `.`/`..` (path traversal), `/` and `\` (separators on some system),
 * control characters other than tab, CR and LF (they hide in terminals; CR
 * and LF are percent-encoded in the manifests, as BagIt asks).
 * Names are not normalised: NFD stays NFD, as the evidence has it.
 */
export function componentProblem(c: string): string | undefined {
  if (c.length === 0) return 'an empty path component';
  if (c === '.' || c === '..') return `a '${c}' path component`;
  if (c.includes('/') || c.includes('\\')) return 'a slash or backslash in a name';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(c)) return 'a control character in a name';
  if (c.length > 85 && utf8(c).length > 255) return 'a name longer than 255 bytes'; // ≤ 85 UTF-16 units: ≤ 255 bytes
  return undefined;
}

const WINDOWS_RESERVED = /^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(\..*)?$/i;
// eslint-disable-next-line no-control-regex
const WINDOWS_CHARS = /[<>:"|?*\\\u0000-\u001f]/;

/**
 * Why a Windows file system (NTFS, exFAT, FAT) cannot hold this one path
 * component, or undefined. Such names are sealed as they are (they are the
 * evidence's) and marked in custody/manifest.json, so that whoever extracts
 * on Windows is told before, not halfway.
 */
export function windowsNameProblem(component: string): string | undefined {
  if (WINDOWS_RESERVED.test(component)) return 'a device name reserved on Windows';
  if (WINDOWS_CHARS.test(component)) return 'a character Windows refuses in names (< > : " | ? * \\ or a control character)';
  if (/[. ]$/.test(component)) return 'a trailing dot or space (Windows drops it)';
  return undefined;
}

/** The first Windows problem of any component of a '/'-separated path. */
export function windowsPathProblem(rel: string): string | undefined {
  for (const c of rel.split('/')) {
    const p = windowsNameProblem(c);
    if (p !== undefined) return `${JSON.stringify(c)}: ${p}`;
  }
  return undefined;
}

/**
 * Checks `data/<item>/<path>` (relative to the bag root) and returns the item
 * id and the path inside the item.
 */
export function parsePayloadPath(rel: string, code: ErrorCode = 'UNSAFE_BUNDLE'): { item: string; path: string } {
  const parts = rel.split('/');
  if (parts.length < 3 || parts[0] !== 'data') {
    throw new CustodyError(code, `payload member ${rel} is not data/<item>/<path>`, { member: rel });
  }
  const item = parts[1]!;
  if (!isValidId(item)) throw new CustodyError(code, `payload member ${rel} has an invalid item id`, { member: rel });
  for (let k = 2; k < parts.length; k++) {
    const p = componentProblem(parts[k]!);
    if (p) throw new CustodyError(code, `payload member ${rel} has ${p}`, { member: rel, item });
  }
  // What follows "data/<item>/": the same as joining the parts after the item, without the copies.
  return { item, path: rel.slice(6 + item.length) };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The UTF-8 sequence length a lead byte announces (0: not a lead byte). */
function seqLength(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/**
 * The name under which a path component that is not valid UTF-8 is sealed
 * (a tar pax name and a BagIt manifest path must be UTF-8): every byte that
 * is not part of a valid UTF-8 sequence becomes `%XX` (two uppercase hex
 * digits) and a '%' becomes `%25`; valid characters stay as they are. The
 * original bytes are kept in custody/manifest.json (`nameBytes`), and
 * extract writes the file under them. Undefined for a valid UTF-8 name
 * (sealed as it is).
 */
export function escapeNameBytes(bytes: Uint8Array): string | undefined {
  try {
    strictUtf8.decode(bytes);
    return undefined;
  } catch {
    /* escape below */
  }
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const n = seqLength(bytes[i]!);
    let ch: string | undefined;
    if (n > 0 && i + n <= bytes.length) {
      try {
        ch = strictUtf8.decode(bytes.subarray(i, i + n));
      } catch {
        ch = undefined;
      }
    }
    if (ch === undefined) {
      out += `%${bytes[i]!.toString(16).toUpperCase().padStart(2, '0')}`;
      i += 1;
    } else {
      out += ch === '%' ? '%25' : ch;
      i += n;
    }
  }
  return out;
}

/** Escapes each component of a '/'-separated byte path that needs it (see escapeNameBytes). */
export function escapePathBytes(bytes: Uint8Array): string {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x2f) {
      const c = bytes.subarray(start, i);
      parts.push(escapeNameBytes(c) ?? strictUtf8.decode(c));
      start = i + 1;
    }
  }
  return parts.join('/');
}

/** Byte-order comparison of UTF-8 names, so member order does not depend on locale. */
export function compareNames(a: string, b: string): number {
  return compareBytes(utf8(a), utf8(b));
}
