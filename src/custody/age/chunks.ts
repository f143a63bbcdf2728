/**
 * The STREAM layer of age v1 (C2SP age spec, "Payload"): the payload in
 * chunks of 64 KiB of ChaCha20-Poly1305, each under a nonce of an 11-byte
 * big-endian counter and a final-chunk flag. Kept apart from the header code
 * so a sealing worker (bundle/age-seal-worker.ts) loads only this and the cipher.
 *
 * Threat guarded against: a payload sealed in runs on several threads that
 * differs from one sealed in order (a chunk under the wrong counter, a final
 * flag on the wrong chunk, or none): every run goes through sealChunks, which
 * places each chunk by its index alone.
 */
import { CustodyError } from '../../core/errors.js';
import { aead, TAG_SIZE } from './primitives.js';

export const CHUNK_SIZE = 64 * 1024;
/** The sealed size of one whole chunk: chunk k starts k times this after the payload nonce. */
export const SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;

/** Chunks in a payload of `size` plaintext bytes: at least one (an empty payload is one empty final chunk). */
export function chunkCount(size: number): number {
  return Math.max(1, Math.ceil(size / CHUNK_SIZE));
}

/** Bytes of the sealed payload (nonce excluded) for `size` plaintext bytes: each chunk gains a tag. */
export function sealedPayloadSize(size: number): number {
  return size + TAG_SIZE * chunkCount(size);
}

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
 * Seals a run of consecutive chunks, `first` onwards: `plaintext` holds their
 * bytes (whole chunks, but for the payload's final one), `out` receives them
 * sealed (at least plaintext.length + 16 bytes per chunk). `endsPayload`: the
 * run's last chunk is the payload's final chunk (the only one flagged so; a
 * run that ends the payload with a whole chunk is still flagged at that chunk,
 * and an empty run that ends it is one empty final chunk). Returns the bytes
 * written. The same bytes whichever thread seals which run, so a payload
 * sealed in runs on several cores equals one sealed in order.
 */
export function sealChunks(key: Uint8Array, plaintext: Uint8Array, first: number, endsPayload: boolean, out: Uint8Array): number {
  const chunks = chunkCount(plaintext.length);
  if (!endsPayload && plaintext.length % CHUNK_SIZE !== 0) throw new CustodyError('INTERNAL', 'age: a partial chunk before the end of the payload');
  if (!endsPayload && plaintext.length === 0) return 0;
  const nonce = new Uint8Array(12);
  let o = 0;
  for (let c = 0; c < chunks; c++) {
    const n = Math.min(CHUNK_SIZE, plaintext.length - c * CHUNK_SIZE);
    aead.sealInto(key, setChunkNonce(nonce, first + c, endsPayload && c === chunks - 1), plaintext.subarray(c * CHUNK_SIZE, c * CHUNK_SIZE + n), out.subarray(o, o + n + TAG_SIZE));
    o += n + TAG_SIZE;
  }
  return o;
}

