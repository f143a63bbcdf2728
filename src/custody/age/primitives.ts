/**
 * The primitives the age format is built from: ChaCha20-Poly1305,
 * HKDF-SHA-256, HMAC-SHA-256, SHA-256, X25519 and random bytes.
 *
 * ChaCha20-Poly1305 is libsodium's (npm sodium-native: N-API bindings with
 * prebuilt binaries in the package, nothing compiled or fetched at install)
 * because it writes into memory the caller owns. node:crypto's
 * `cipher.update` hands back a fresh buffer for every 64 KiB chunk (and
 * Node 20 zero-fills and copies on the way): on a 1 GiB encryption that
 * garbage, the zero-fill, the copy and the page faults on ever-new memory
 * cost more than the cipher itself and held custody at two thirds of stock
 * age's rate. With libsodium the stream code seals into and opens into
 * buffers it reuses, and no chunk allocates. When the native module cannot
 * load (a platform without a prebuilt binary) the same interface runs on
 * node:crypto, slower but identical in output; CUSTODY_AGE_CIPHER=node forces
 * that path (the tests run the age vectors through both). A pure-JS cipher is
 * no fallback: @noble/ciphers ran at ~78 MB/s, a sixth of stock age's rate.
 * This is the only module of the age code that imports `node:`; a browser
 * build swaps it for WebCrypto/noble equivalents. X25519 is OpenSSL's:
 * @noble/curves' first scalar multiplication cost ~180 ms of JIT warm-up
 * per run (OpenSSL: well under 1 ms), a tenth of a 1 GiB decryption.
 *
 * Threat guarded against: releasing plaintext that has not been
 * authenticated. `open` returns nothing, and `openInto` leaves no plaintext
 * in the caller's buffer, unless the Poly1305 tag verifies (libsodium checks
 * the tag before it decrypts; the node:crypto path copies out only after
 * `final()` accepted the tag).
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
import { createRequire } from 'node:module';

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

export function sha512(message: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha512').update(message).digest());
}

/** ChaCha20-Poly1305 (IETF: 32-byte key, 12-byte nonce, 16-byte tag, no associated data) into the caller's memory. */
export interface Aead {
  readonly name: 'libsodium' | 'node:crypto';
  /** Encrypts `plaintext` into `out` (plaintext.length + TAG_SIZE bytes): the ciphertext, then the tag. */
  sealInto(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void;
  /** Decrypts ciphertext‖tag into `out` (sealed.length − TAG_SIZE bytes); false, and no plaintext in `out`, when the tag does not verify. */
  openInto(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, out: Uint8Array): boolean;
}

interface SodiumNative {
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(c: Uint8Array, mac: Uint8Array, m: Uint8Array, ad: null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_decrypt_detached(m: Uint8Array, nsec: null, c: Uint8Array, mac: Uint8Array, ad: null, npub: Uint8Array, k: Uint8Array): void;
}

const nodeAead: Aead = {
  name: 'node:crypto',
  sealInto(key, nonce, plaintext, out) {
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
    out.set(c.update(plaintext), 0);
    c.final();
    out.set(c.getAuthTag(), plaintext.length);
  },
  openInto(key, nonce, sealed, out) {
    if (sealed.length < TAG_SIZE) return false;
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
    d.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
    const body = d.update(sealed.subarray(0, sealed.length - TAG_SIZE));
    try {
      d.final();
    } catch {
      return false;
    }
    out.set(body, 0);
    return true;
  },
};

function sodiumAead(s: SodiumNative): Aead {
  return {
    name: 'libsodium',
    sealInto(key, nonce, plaintext, out) {
      const n = plaintext.length;
      s.crypto_aead_chacha20poly1305_ietf_encrypt_detached(out.subarray(0, n), out.subarray(n, n + TAG_SIZE), plaintext, null, null, nonce, key);
    },
    openInto(key, nonce, sealed, out) {
      if (sealed.length < TAG_SIZE) return false;
      const n = sealed.length - TAG_SIZE;
      try {
        // libsodium verifies the tag before it decrypts; on failure it throws and has written only zeros.
        s.crypto_aead_chacha20poly1305_ietf_decrypt_detached(out.subarray(0, n), null, sealed.subarray(0, n), sealed.subarray(n), null, nonce, key);
        return true;
      } catch {
        return false;
      }
    },
  };
}

function loadAead(): Aead {
  if (process.env.CUSTODY_AGE_CIPHER === 'node') return nodeAead;
  try {
    const s = createRequire(import.meta.url)('sodium-native') as SodiumNative;
    if (typeof s.crypto_aead_chacha20poly1305_ietf_encrypt_detached === 'function') return sodiumAead(s);
  } catch {
    // No prebuilt binary for this platform (or it failed to load): node:crypto does the same work.
  }
  return nodeAead;
}

/** The ChaCha20-Poly1305 in use: libsodium where its prebuilt binary loads, else node:crypto. */
export const aead: Aead = loadAead();

export function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + TAG_SIZE);
  aead.sealInto(key, nonce, plaintext, out);
  return out;
}

/** ChaCha20-Poly1305 decryption of ciphertext‖tag; null when the tag does not verify (nothing is released). */
export function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < TAG_SIZE) return null;
  const out = new Uint8Array(sealed.length - TAG_SIZE);
  return aead.openInto(key, nonce, sealed, out) ? out : null;
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
