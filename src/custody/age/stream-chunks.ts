/**
 * The STREAM layout of an age payload, shared by the one-thread encryptor
 * (stream.ts), the two-thread one (parallel-encrypt.ts) and its worker
 * (seal-worker.ts): 64 KiB chunks, each sealed with ChaCha20-Poly1305 under a
 * nonce that is the chunk's 11-byte big-endian counter and a last byte of 1
 * for the final chunk. Kept apart, and importing only the cipher, so that a
 * worker thread loads no more than it seals with.
 *
 * Threat guarded against: two encryptors that cut or number chunks
 * differently. A chunk sealed under another counter or final flag than the
 * one-thread code would give fails to open (or opens out of place); with one
 * copy of the rule, a segment sealed on either thread is byte for byte what
 * the one-thread code writes.
 */
import { aead, TAG_SIZE } from './primitives.js';

export const CHUNK_SIZE = 64 * 1024;
export const SEALED_CHUNK = CHUNK_SIZE + TAG_SIZE;

/** Sets the STREAM nonce in place: 11-byte big-endian chunk counter, then 1 for the final chunk. */
export function setChunkNonce(n: Uint8Array, counter: number, last: boolean): Uint8Array {
  let c = counter;
  for (let i = 10; i >= 0; i--) {
    n[i] = c % 256;
    c = Math.floor(c / 256);
  }
  n[11] = last ? 1 : 0;
  return n;
}

/**
 * Seals, in place, a run of chunks laid out as they will be written: the
 * plaintext of chunk i at i × SEALED_CHUNK in `segment` (`n` bytes in all,
 * each chunk followed by room for its tag), the chunks numbered from
 * `firstCounter`. Returns the sealed length, n + 16 per chunk, which then
 * lies contiguous from the start of `segment`. Only a `last` run may end in a
 * short chunk, and the final flag goes on its last chunk; an empty last run
 * is one empty final chunk (the empty file).
 */
export function sealChunksInPlace(key: Uint8Array, segment: Uint8Array, n: number, firstCounter: number, last: boolean): number {
  if (!last && (n === 0 || n % CHUNK_SIZE !== 0)) throw new RangeError(`a run of chunks that is not the last must be whole chunks (${n} bytes)`);
  const chunks = n === 0 ? 1 : Math.ceil(n / CHUNK_SIZE);
  const nonce = new Uint8Array(12);
  for (let i = 0; i < chunks; i++) {
    const size = Math.min(CHUNK_SIZE, n - i * CHUNK_SIZE);
    const at = i * SEALED_CHUNK;
    // The cipher writes over the plaintext it has read (libsodium encrypts in place; node:crypto copies out after).
    aead.sealInto(key, setChunkNonce(nonce, firstCounter + i, last && i === chunks - 1), segment.subarray(at, at + size), segment.subarray(at, at + size + TAG_SIZE));
  }
  return n + chunks * TAG_SIZE;
}
