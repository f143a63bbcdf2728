/**
 * manifest-<alg>.txt and tagmanifest-sha256.txt (RFC 8493 §2.1.3, §2.2.1):
 * `<hex digest>  <path>` per line, LF-terminated, sorted by path bytes —
 * the form `sha256sum -c` reads. Paths are percent-encoded for `%`, CR and
 * LF as RFC 8493 requires (seal refuses CR/LF in names, so in practice only
 * `%` → `%25` occurs; `sha256sum -c` cannot find such a file, so VERIFY.txt
 * pipes the manifest through `sed 's/%25/%/g'` first).
 *
 * The parser is strict (one spelling per manifest): a manifest that lists a
 * file twice, in another order, or with a digest of the wrong length would
 * let two different byte strings mean the same thing.
 */
import { HEX_LENGTH } from '../core/algorithms.js';
import { CustodyError } from '../core/errors.js';
import { decodeUtf8, strictLines } from './bag-info.js';
import { compareNames } from './layout.js';

/**
 * Hex length of an algorithm's digest, or undefined for a name we do not know.
 * Names come from the bundle (untrusted): own keys only, so `constructor` or
 * `__proto__` is unknown, not a prototype member.
 */
export function digestHexLength(algo: string): number | undefined {
  return Object.hasOwn(HEX_LENGTH, algo) ? HEX_LENGTH[algo as keyof typeof HEX_LENGTH] : undefined;
}

export interface ManifestEntry {
  path: string;
  digest: string;
}

export function encodeManifestPath(p: string): string {
  return p.replace(/%/g, '%25').replace(/\n/g, '%0A').replace(/\r/g, '%0D');
}

export function decodeManifestPath(p: string, member: string): string {
  return p.replace(/%(..)?/g, (_m, code: string | undefined) => {
    if (code === '25') return '%';
    if (code === '0A') return '\n';
    if (code === '0D') return '\r';
    throw new CustodyError('MALFORMED_BUNDLE', `${member}: bad percent-encoding in a path`, { member });
  });
}

/** Sorts by path bytes and renders the manifest text. */
export function manifestText(entries: ManifestEntry[]): string {
  return [...entries]
    .sort((a, b) => compareNames(a.path, b.path))
    .map((e) => `${e.digest}  ${encodeManifestPath(e.path)}\n`)
    .join('');
}

/**
 * Parses a manifest strictly. `allowEmpty`: a bag with no payload files has an
 * empty payload manifest.
 */
export function parseManifest(bytes: Uint8Array, algo: string, member: string, allowEmpty = false): ManifestEntry[] {
  const len = digestHexLength(algo);
  if (len === undefined) throw new CustodyError('MALFORMED_BUNDLE', `${member}: unknown algorithm ${algo}`, { member });
  const lineRe = new RegExp(`^([0-9a-f]{${len}})  (.+)$`);
  const entries: ManifestEntry[] = [];
  let prev: string | undefined;
  for (const [i, line] of strictLines(decodeUtf8(bytes, member), member, allowEmpty).entries()) {
    const m = lineRe.exec(line);
    if (!m) {
      throw new CustodyError('MALFORMED_BUNDLE', `${member}: line ${i + 1} is not "<${len} lowercase hex digits>  <path>"`, { member });
    }
    const path = decodeManifestPath(m[2]!, member);
    if (prev !== undefined) {
      const c = compareNames(prev, path);
      if (c === 0) throw new CustodyError('MALFORMED_BUNDLE', `${member}: ${path} is listed twice`, { member });
      if (c > 0) throw new CustodyError('MALFORMED_BUNDLE', `${member}: lines are not sorted by path (at ${path})`, { member });
    }
    prev = path;
    entries.push({ path, digest: m[1]! });
  }
  return entries;
}
