/**
 * custody's start-up choice of OpenSSL (node:crypto) for the small, hot
 * primitives of the verification core, which stays pure JavaScript so that
 * it runs in the verifier page: SHA-256 of small things (core/digest.ts) and
 * the quick "yes" of Ed25519 verification (custody/ed25519-openssl.ts).
 * Neither changes a result; both spare every command the pure-JavaScript
 * cold start (noble's base-point table alone is 55-80 ms).
 */
import { createHash } from 'node:crypto';
import { setSha256 } from '../core/digest.js';
import { useOpenSslEd25519 } from '../custody/ed25519-openssl.js';

export function opensslSha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

export function useOpenSsl(): void {
  setSha256(opensslSha256);
  useOpenSslEd25519();
}
