/**
 * Strict base64 and hex decoding for untrusted input.
 *
 * Threat: lenient decoders (Buffer.from(s, 'base64')) skip junk and accept
 * several spellings of the same bytes, so two different documents could carry
 * "the same" key or signature and a byte-for-byte check could be dodged. We
 * accept only the one canonical spelling: decode, re-encode, compare.
 */
import { CustodyError, type ErrorCode } from '../core/errors.js';

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
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
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) throw new CustodyError(code, `${what} is not canonical base64`);
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new CustodyError(code, `${what} is ${bytes.length} bytes, expected ${expectedLength}`);
  }
  return new Uint8Array(bytes);
}

/** Lowercase hex of an exact length or throws `code`. */
export function fromHexStrict(text: unknown, what: string, code: ErrorCode, expectedLength: number): Uint8Array {
  if (typeof text !== 'string' || text.length !== expectedLength * 2 || !/^[0-9a-f]*$/.test(text)) {
    throw new CustodyError(code, `${what} is not ${expectedLength * 2} lowercase hex digits`);
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
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

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
