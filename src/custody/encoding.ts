/**
 * Strict base64 and hex decoding for untrusted input.
 *
 * Threat: lenient decoders (Buffer.from(s, 'base64'), atob) skip junk and accept
 * several spellings of the same bytes, so two different documents could carry
 * "the same" key or signature and a byte-for-byte check could be dodged. We
 * accept only the one canonical spelling: decode, re-encode, compare.
 *
 * No `node:` import and no `Buffer`, so the verification core runs unchanged
 * in the verifier page: hex comes from @noble/hashes, base64 is the table
 * codec below (the platform's atob/btoa work on binary strings: with the
 * conversions they were 5 to 40 times slower than Buffer on 8 MiB, this is
 * about 2 times; a package for thirty lines was not worth a dependency).
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { CustodyError, type ErrorCode } from '../core/errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ENCODE = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
/** Sextet of each alphabet character; '=' reads as 0 (only ever at the end: the caller checks). */
const DECODE = new Uint8Array(128);
ENCODE.forEach((c, i) => (DECODE[c] = i));
const PAD = 0x3d; // '='
const ascii = new TextDecoder();

/**
 * The same base64 from a faster source, when the host installs one (custody
 * installs Buffer's: cli/node-base64.ts; the page installs none). Records and
 * envelopes are decoded once per command, so the table codec below runs cold
 * in the interpreter; Buffer's is native. `decode` may be lenient: whether the
 * text is the canonical spelling is still decided here, by encoding again.
 */
export interface Base64Codec {
  encode(bytes: Uint8Array): string;
  decode(text: string): Uint8Array;
}
let installed: Base64Codec | undefined;

export function setBase64(codec: Base64Codec | undefined): void {
  installed = codec;
}

export function toBase64(bytes: Uint8Array): string {
  if (installed) return installed.encode(bytes);
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[n >>> 18]!;
    out[o++] = ENCODE[(n >>> 12) & 63]!;
    out[o++] = ENCODE[(n >>> 6) & 63]!;
    out[o++] = ENCODE[n & 63]!;
  }
  if (i < bytes.length) {
    const two = i + 1 < bytes.length;
    const n = (bytes[i]! << 16) | (two ? bytes[i + 1]! << 8 : 0);
    out[o++] = ENCODE[n >>> 18]!;
    out[o++] = ENCODE[(n >>> 12) & 63]!;
    out[o++] = two ? ENCODE[(n >>> 6) & 63]! : PAD;
    out[o++] = PAD;
  }
  return ascii.decode(out);
}

export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/**
 * Canonical standard base64 (with padding) decoded, or null: the text must
 * re-encode to itself, so padding is exact and the unused low bits are zero.
 */
export function decodeBase64Canonical(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  if (installed) {
    const bytes = installed.decode(text);
    return installed.encode(bytes) === text ? bytes : null;
  }
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const n =
      (DECODE[text.charCodeAt(i)]! << 18) |
      (DECODE[text.charCodeAt(i + 1)]! << 12) |
      (DECODE[text.charCodeAt(i + 2)]! << 6) |
      DECODE[text.charCodeAt(i + 3)]!;
    out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return toBase64(out) === text ? out : null;
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
  if (a.length !== b.length) return false;
  // A plain loop, not every(): every envelope read compares its bytes (kilobytes) once, mostly in
  // cold interpreted code, where a callback per byte costs several times the comparison.
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
