/**
 * Node's Buffer under the verification core's base64 (custody/encoding.ts
 * setBase64), installed by custody at start-up; never by the verifier page.
 *
 * Why: every record `custody log --case` shows is decoded from its envelope
 * (payload and signature) and encoded again to prove the spelling canonical;
 * in the core's table codec that is cold interpreted code, in Buffer native.
 *
 * Threat guarded against: two spellings of the same bytes accepted. Buffer's
 * decoder is lenient (it skips junk and stops at padding), so it only
 * proposes bytes: the core keeps the regular-expression check before it and
 * accepts the text only when these bytes encode back to exactly it, which
 * happens for the one canonical spelling and gives the bytes the core's own
 * decoder gives (test/node-base64.test.ts holds the two codecs equal).
 */
import { setBase64, type Base64Codec } from '../custody/encoding.js';

export const nodeBase64: Base64Codec = {
  encode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
  // A copy: Buffer.from may hand back a view into its shared pool.
  decode: (text) => new Uint8Array(Buffer.from(text, 'base64')),
};

export function useNodeBase64(): void {
  setBase64(nodeBase64);
}
