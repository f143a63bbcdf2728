/**
 * Adler-32 (RFC 1950), the checksum EWF puts on every section descriptor,
 * table and stored (uncompressed) chunk. Pure, so a browser verifier can use
 * it; guards against silently hashing a chunk whose bytes rotted on disk.
 */
const MOD = 65521;
/** Largest n such that 255·n·(n+1)/2 + (n+1)·(MOD−1) fits in 2^32 − 1 (zlib's NMAX). */
const NMAX = 5552;

export function adler32(data: Uint8Array, start = 1): number {
  let a = start & 0xffff;
  let b = (start >>> 16) & 0xffff;
  let i = 0;
  const n = data.length;
  while (i < n) {
    const end = Math.min(n, i + NMAX);
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= MOD;
    b %= MOD;
  }
  return ((b << 16) | a) >>> 0;
}
