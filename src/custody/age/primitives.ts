/**
 * The primitives the age format is built from: ChaCha20-Poly1305,
 * HKDF-SHA-256, HMAC-SHA-256, SHA-256, X25519 and random bytes.
 *
 * Why node:crypto and not a pure-JS cipher: the payload of a multi-GiB bundle
 * passes through ChaCha20-Poly1305 once per 64 KiB chunk. OpenSSL's vectorised
 * ChaCha20-Poly1305 ran at ~1,070 MB/s here, @noble/ciphers (what the
 * age-encryption package uses) at ~78 MB/s — a sixth of stock age's rate.
 * This is the only module of the age code that imports `node:`; a browser
 * build swaps it for WebCrypto/noble equivalents. X25519 is OpenSSL's too:
 * @noble/curves' first scalar multiplication cost ~180 ms of JIT warm-up
 * per run (OpenSSL: well under 1 ms), a tenth of a 1 GiB decryption.
 *
 * Threat guarded against: releasing plaintext that has not been
 * authenticated. `open` returns nothing unless the Poly1305 tag verifies.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomBytes as nodeRandomBytes,
  type KeyObject,
} from 'node:crypto';

export const TAG_SIZE = 16;

export function randomBytes(n: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(n));
}

export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(message).digest());
}

export function sha256(message: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(message).digest());
}

/** ChaCha20-Poly1305 encryption; returns [ciphertext, tag] so a caller can write both without a copy. */
export function sealParts(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): [Uint8Array, Uint8Array] {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
  const body = c.update(plaintext);
  c.final();
  return [body, c.getAuthTag()];
}

export function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const [body, tag] = sealParts(key, nonce, plaintext);
  const out = new Uint8Array(body.length + TAG_SIZE);
  out.set(body, 0);
  out.set(tag, body.length);
  return out;
}

/** ChaCha20-Poly1305 decryption of ciphertext‖tag; null when the tag does not verify (nothing is released). */
export function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < TAG_SIZE) return null;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
  d.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  const body = d.update(sealed.subarray(0, sealed.length - TAG_SIZE));
  try {
    d.final();
  } catch {
    return null;
  }
  return body;
}

// RFC 8410 encodings of a raw X25519 key: the fixed DER prefix, then the 32 bytes.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

function x25519Private(scalar: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, scalar]), format: 'der', type: 'pkcs8' });
}

/** X25519(scalar, basepoint): the public share of a (clamped) scalar. */
export function x25519Base(scalar: Uint8Array): Uint8Array {
  const der = createPublicKey(x25519Private(scalar)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(SPKI_X25519.length));
}

/** X25519(scalar, point); null when the result is all zero (a low-order point), which OpenSSL refuses. */
export function x25519(scalar: Uint8Array, point: Uint8Array): Uint8Array | null {
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([SPKI_X25519, point]), format: 'der', type: 'spki' });
    const shared = new Uint8Array(diffieHellman({ privateKey: x25519Private(scalar), publicKey }));
    return shared.some((b) => b !== 0) ? shared : null;
  } catch {
    return null;
  }
}
