/**
 * C2SP's age test vectors (npm cctv-age), parsed once for every test that
 * runs them: each vector's header lines (expect, payload, identity, …) and
 * its file, inflated when the vector says so.
 */
import { inflateSync } from 'node:zlib';
import * as vectors from 'cctv-age';

export type Outcome = 'success' | 'no match' | 'header failure' | 'HMAC failure' | 'payload failure';

export interface AgeVector {
  name: string;
  meta: Map<string, string[]>;
  file: Uint8Array;
}

function parseVector(name: string, bytes: Uint8Array): AgeVector {
  const meta = new Map<string, string[]>();
  let off = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, off);
    const line = Buffer.from(bytes.subarray(off, nl)).toString('utf8');
    off = nl + 1;
    if (line === '') break;
    const i = line.indexOf(': ');
    const k = line.slice(0, i);
    meta.set(k, [...(meta.get(k) ?? []), line.slice(i + 2)]);
  }
  const file = bytes.subarray(off);
  return { name, meta, file: meta.get('compressed')?.[0] === 'zlib' ? new Uint8Array(inflateSync(file)) : file };
}

/** Every vector in the package. */
export const allAgeVectors: AgeVector[] = Object.entries(vectors as Record<string, Uint8Array>)
  .filter(([k]) => k !== 'default')
  .map(([k, b]) => parseVector(k, b));

/** Whether custody's age code applies: no scrypt passphrase, not armored, X25519 identities only. */
export function appliesToCustody(v: AgeVector): boolean {
  return !v.meta.has('passphrase') && v.meta.get('armored')?.[0] !== 'yes' && (v.meta.get('identity') ?? []).every((i) => i.startsWith('AGE-SECRET-KEY-1'));
}

/** `bytes` as a stream of `size`-byte pieces (a reader's chunks cut anywhere). */
export async function* inPieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
