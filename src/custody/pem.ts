/**
 * PEM forms of Ed25519 keys, byte-for-byte what OpenSSL writes: SPKI for a
 * public key (`openssl pkey -pubout`), PKCS#8 v1 for a secret key
 * (`openssl genpkey -algorithm ed25519`). Decoding is strict: one PEM block,
 * canonical base64, and the exact DER of RFC 8410 (no parameters, no trailing
 * bytes), so one key has one spelling.
 */
import { CustodyError } from '../core/errors.js';
import { bytesEqual, concatBytes as concat, fromBase64Strict, toBase64 } from './encoding.js';

// RFC 8410 §4 and §7: SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (32 bytes) }
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32 bytes) } }
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

function wrap(label: string, der: Uint8Array): string {
  const b64 = toBase64(der).replace(/(.{64})(?=.)/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function unwrap(text: string, label: string): Uint8Array {
  const re = new RegExp(`^-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+?)\\r?\\n-----END ${label}-----\\r?\\n?$`);
  const m = re.exec(text.trim() + '\n');
  if (!m) {
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) {
      throw new CustodyError('BAD_KEY', 'the PEM key is encrypted; decrypt it first (openssl pkey -in key.pem -out plain.pem)');
    }
    throw new CustodyError('BAD_KEY', `not a single PEM ${label} block`);
  }
  return fromBase64Strict(m[1]!.replace(/\r?\n/g, ''), `PEM ${label}`, 'BAD_KEY');
}

export function publicKeyToSpkiPem(pub: Uint8Array): string {
  if (pub.length !== 32) throw new CustodyError('BAD_KEY', 'an Ed25519 public key is 32 bytes');
  return wrap('PUBLIC KEY', concat(SPKI_PREFIX, pub));
}

export function spkiPemToPublicKey(text: string): Uint8Array {
  const der = unwrap(text, 'PUBLIC KEY');
  if (der.length !== 44 || !bytesEqual(der.subarray(0, 12), SPKI_PREFIX)) {
    throw new CustodyError('BAD_KEY', 'the PEM public key is not an Ed25519 key (RFC 8410 SubjectPublicKeyInfo)');
  }
  return der.slice(12);
}

export function seedToPkcs8Pem(seed: Uint8Array): string {
  if (seed.length !== 32) throw new CustodyError('BAD_KEY', 'an Ed25519 secret key (seed) is 32 bytes');
  return wrap('PRIVATE KEY', concat(PKCS8_PREFIX, seed));
}

export function pkcs8PemToSeed(text: string): Uint8Array {
  const der = unwrap(text, 'PRIVATE KEY');
  if (der.length !== 48 || !bytesEqual(der.subarray(0, 16), PKCS8_PREFIX)) {
    throw new CustodyError('BAD_KEY', 'the PEM private key is not an Ed25519 PKCS#8 key (as openssl genpkey -algorithm ed25519 writes)');
  }
  return der.slice(16);
}
