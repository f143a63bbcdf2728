/**
 * Strict base64 and hex decoding for untrusted input.
 *
 * Threat: lenient decoders (Node's Buffer.from(s, 'base64'), atob) skip junk and accept
 * several spellings of the same bytes, so two different documents could carry
 * "the same" key or signature and a byte-for-byte check could be dodged. We
 * accept only the one canonical spelling: decode, re-encode, compare.
 *
 * No `node:` import and no `Buffer`: base64 goes through the web platform's
 * `atob`/`btoa` (in Node and in every browser), hex through @noble/hashes, so
 * the verification core runs unchanged in the verifier page.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { CustodyError, type ErrorCode } from '../core/errors.js';

/** Bytes per String.fromCharCode call: well below any engine's argument limit. */
const CHARS_PER_CALL = 0x8000;

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let at = 0; at < bytes.length; at += CHARS_PER_CALL) {
    binary += String.fromCharCode(...bytes.subarray(at, at + CHARS_PER_CALL));
  }
  return btoa(binary);
}

export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/** atob's bytes, or null where atob refuses (a length of 4n+1 once padding is set aside). */
function decodeBase64(text: string): Uint8Array | null {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return null;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Canonical standard base64 (with padding) decoded, or null: the text must
 * re-encode to itself, so padding is exact and the unused low bits are zero.
 */
export function decodeBase64Canonical(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  const bytes = decodeBase64(text);
  return bytes !== null && toBase64(bytes) === text ? bytes : null;
}

/** Canonical standard base64 (with padding) or throws `code`. */
export function fromBase64Strict(
  text: unknown,
  what: string,
  code: ErrorCode = 'MALFORMED_BUNDLE',
  expectedLength?: number,
): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new CustodyError(code, `${what} is not base64`);
  }
  const bytes = decodeBase64Canonical(text);
  if (bytes === null) throw new CustodyError(code, `${what} is not canonical base64`);
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new CustodyError(code, `${what} is ${bytes.length} bytes, expected ${expectedLength}`);
  }
  return bytes;
}

/** Lowercase hex of an exact length or throws `code`. */
export function fromHexStrict(text: unknown, what: string, code: ErrorCode, expectedLength: number): Uint8Array {
  if (typeof text !== 'string' || text.length !== expectedLength * 2 || !/^[0-9a-f]*$/.test(text)) {
    throw new CustodyError(code, `${what} is not ${expectedLength * 2} lowercase hex digits`);
  }
  return hexToBytes(text);
}

/** The parts one after another, in one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Byte-wise order (-1, 0, 1), as memcmp: shorter first when one is a prefix of the other. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of the text (a lone surrogate becomes U+FFFD, as Buffer did). */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
