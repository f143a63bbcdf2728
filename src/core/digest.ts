/**
 * SHA-256 of small things (tag files, record payloads, bundle digests) as
 * lowercase hex — the one definition. Pure JavaScript (@noble/hashes), no
 * `node:` import, so the verification core computes the same digests in
 * custody and in the verifier page. Evidence is never hashed here: it goes
 * through the hash engine (worker threads and OpenSSL in custody, WebCrypto
 * in the page).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/**
 * The same SHA-256 from a faster source, when the host installs one (custody
 * installs OpenSSL's at start-up: the pure-JavaScript one runs cold for the
 * first hundreds of small digests of every command); the page installs none.
 */
let installed: ((bytes: Uint8Array) => Uint8Array) | undefined;

export function setSha256(hash: ((bytes: Uint8Array) => Uint8Array) | undefined): void {
  installed = hash;
}

export function sha256Bytes(bytes: Uint8Array): Uint8Array {
  return installed ? installed(bytes) : sha256(bytes);
}

export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256Bytes(bytes));
}
