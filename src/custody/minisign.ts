/**
 * Minisign public keys and signatures, so a receiving authority can check the
 * seal with stock `minisign -V`. We write only the prehashed `ED` form
 * (BLAKE2b-512 of the message, then Ed25519) with a trusted comment bound by
 * the global signature; the legacy `Ed` form is not accepted on reading.
 *
 * Key id: minisign stores 8 bytes and prints them as a little-endian u64 in
 * upper-case hex. We store our key id's 8 bytes reversed, so minisign prints
 * exactly our key id (upper-cased) — one id for one key across tools.
 */
import { blake2b } from '@noble/hashes/blake2.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { CustodyError } from '../core/errors.js';
import { keyId, verifyEd25519 } from './ed25519.js';
import { bytesEqual, concatBytes as concat, decodeBase64Canonical, toBase64 } from './encoding.js';
import type { Signer } from './identity.js';

// BLAKE2b-512 (unkeyed, 64-byte output: what minisign's prehash uses), in pure JavaScript
// (@noble/hashes) so signatures verify in the verifier page too. Not hash-wasm: loading its
// wasm at import cost every CLI start ~0.1 s of CPU.
function blake2b512(message: Uint8Array): Uint8Array {
  return blake2b(message, { dkLen: 64 });
}

const SIG_ALG_PREHASHED = Uint8Array.from([0x45, 0x44]); // "ED"
const PK_ALG = Uint8Array.from([0x45, 0x64]); // "Ed"

/** The 8 key-id bytes as minisign stores them (our key id, reversed). */
export function minisignKeyIdBytes(pub: Uint8Array): Uint8Array {
  return hexToBytes(keyId(pub)).reverse();
}

/** Our key id upper-cased: what `minisign` prints as the key ID. */
export function minisignKeyIdText(pub: Uint8Array): string {
  return keyId(pub).toUpperCase();
}

function oneLine(text: string, what: string): string {
  if (/[\r\n]/.test(text)) throw new CustodyError('INTERNAL', `a minisign ${what} must be one line`);
  return text;
}

export function minisignPublicKeyFile(pub: Uint8Array, untrustedComment?: string): string {
  const comment = oneLine(untrustedComment ?? `minisign public key ${minisignKeyIdText(pub)}`, 'comment');
  return `untrusted comment: ${comment}\n${toBase64(concat(PK_ALG, minisignKeyIdBytes(pub), pub))}\n`;
}

export function minisignSign(signer: Signer, message: Uint8Array, trustedComment: string, untrustedComment?: string): string {
  oneLine(trustedComment, 'trusted comment');
  const pub = signer.identity.publicKey;
  const signature = signer.sign(blake2b512(message));
  const tc = new TextEncoder().encode(trustedComment);
  const global = signer.sign(concat(signature, tc));
  const uc = oneLine(untrustedComment ?? `signature from custody secret key ${minisignKeyIdText(pub)}`, 'comment');
  return (
    `untrusted comment: ${uc}\n` +
    `${toBase64(concat(SIG_ALG_PREHASHED, minisignKeyIdBytes(pub), signature))}\n` +
    `trusted comment: ${trustedComment}\n` +
    `${toBase64(global)}\n`
  );
}

function strictB64(s: string | undefined): Uint8Array | null {
  return s === undefined ? null : decodeBase64Canonical(s);
}

/** True only for a well-formed prehashed minisign signature by `pub` over `message`, trusted comment included. */
export function minisignVerify(sigText: string, message: Uint8Array, pub: Uint8Array): boolean {
  const lines = sigText.replace(/\r?\n$/, '').split(/\r?\n/);
  if (lines.length !== 4) return false;
  const [uc, sigLine, tcLine, globalLine] = lines as [string, string, string, string];
  if (!uc.startsWith('untrusted comment: ') || !tcLine.startsWith('trusted comment: ')) return false;
  const sigBlob = strictB64(sigLine);
  const global = strictB64(globalLine);
  if (!sigBlob || sigBlob.length !== 74 || !global || global.length !== 64) return false;
  if (!bytesEqual(sigBlob.subarray(0, 2), SIG_ALG_PREHASHED)) return false;
  if (!bytesEqual(sigBlob.subarray(2, 10), minisignKeyIdBytes(pub))) return false;
  const signature = sigBlob.subarray(10);
  if (!verifyEd25519(signature, blake2b512(message), pub)) return false;
  const tc = new TextEncoder().encode(tcLine.slice('trusted comment: '.length));
  return verifyEd25519(global, concat(signature, tc), pub);
}

/** Reads a minisign public key file (`Ed` + key id + key). */
export function minisignPublicKeyFromText(text: string): Uint8Array {
  const lines = text.replace(/\r?\n$/, '').split(/\r?\n/);
  const blob = strictB64(lines.length === 2 && lines[0]!.startsWith('untrusted comment:') ? lines[1] : lines.length === 1 ? lines[0] : undefined);
  if (!blob || blob.length !== 42 || !bytesEqual(blob.subarray(0, 2), PK_ALG)) throw new CustodyError('BAD_KEY', 'not a minisign public key');
  const pub = blob.slice(10);
  if (!bytesEqual(blob.subarray(2, 10), minisignKeyIdBytes(pub))) {
    throw new CustodyError('BAD_KEY', 'this minisign key was not made by custody (its key id is not ours); use the .pub or PEM file');
  }
  return pub;
}
