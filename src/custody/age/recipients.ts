/**
 * age recipients (who a file key is wrapped for) and identities (what unwraps
 * it): native X25519 (`age1…` / `AGE-SECRET-KEY-1…`) and `ssh-ed25519`, the
 * stanza stock age writes for an OpenSSH Ed25519 key. Custody keys are
 * Ed25519, so a bundle can be encrypted to exactly the person a transfer
 * names, and opened by custody or by `age -d -i <their OpenSSH key>`.
 *
 * ssh-ed25519 as the age spec and age's agessh package define it: the
 * Ed25519 public key is mapped to its X25519 (Montgomery) form, the secret
 * scalar is the first half of SHA-512(seed); the X25519 shared secret is
 * multiplied by a tweak, HKDF-SHA-256(ikm = "", salt = the SSH public key
 * blob, info = label), so that it differs from a plain X25519 exchange with
 * the same key; the stanza names the key by the first 4 bytes of the SHA-256
 * of its SSH blob.
 *
 * Threats guarded against: a low-order ephemeral share (an all-zero shared
 * secret would make the wrapping key public) is refused; a malformed stanza
 * meant for us is an error, never silently skipped.
 */
import { bech32 } from '@scure/base';
import { Point, etc } from '@noble/ed25519';
import { CustodyError } from '../../core/errors.js';
import { publicKeyFromSeed } from '../ed25519.js';
import { concatBytes, utf8 } from '../encoding.js';
import { b64Decode, b64Encode, headerError, type Stanza } from './format.js';
import { hkdfSha256, open, randomBytes, seal, sha256, sha512, x25519, x25519Base } from './primitives.js';

export const FILE_KEY_SIZE = 16;
const X25519_LABEL = 'age-encryption.org/v1/X25519';
const SSH_ED25519_LABEL = 'age-encryption.org/v1/ssh-ed25519';
const ZERO_NONCE = new Uint8Array(12);

export interface AgeRecipient {
  /** How the recipient is named to people (an age1… string, a key id). */
  readonly label: string;
  wrap(fileKey: Uint8Array): Stanza[];
}

export interface AgeIdentity {
  readonly label: string;
  /** The file key if one of the stanzas is for this identity, null if none is; throws on a malformed stanza meant for it. */
  unwrap(stanzas: Stanza[]): Uint8Array | null;
}

function dh(scalar: Uint8Array, point: Uint8Array): Uint8Array {
  const shared = x25519(scalar, point);
  if (!shared) throw headerError('a recipient stanza carries a low-order X25519 share');
  return shared;
}

function unwrapBody(wrappingKey: Uint8Array, body: Uint8Array): Uint8Array | null {
  if (body.length !== FILE_KEY_SIZE + 16) return null;
  return open(wrappingKey, ZERO_NONCE, body);
}

function sshString(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

// ---- native X25519 -------------------------------------------------------

export function x25519Recipient(publicKey: Uint8Array, label = encodeX25519Recipient(publicKey)): AgeRecipient {
  if (publicKey.length !== 32) throw new CustodyError('BAD_KEY', 'an X25519 recipient is 32 bytes');
  return {
    label,
    wrap(fileKey) {
      const ephemeral = randomBytes(32);
      const share = x25519Base(ephemeral);
      const shared = dh(ephemeral, publicKey);
      const key = hkdfSha256(shared, concatBytes(share, publicKey), X25519_LABEL, 32);
      return [{ type: 'X25519', args: [b64Encode(share)], body: seal(key, ZERO_NONCE, fileKey) }];
    },
  };
}

export function x25519Identity(secretKey: Uint8Array): AgeIdentity {
  if (secretKey.length !== 32) throw new CustodyError('BAD_KEY', 'an X25519 identity is 32 bytes');
  const ourPublic = x25519Base(secretKey);
  return {
    label: encodeX25519Recipient(ourPublic),
    unwrap(stanzas) {
      for (const s of stanzas) {
        if (s.type !== 'X25519') continue;
        if (s.args.length !== 1) throw headerError('an X25519 stanza must have exactly one argument');
        const share = b64Decode(s.args[0]!, 'an X25519 share');
        if (share.length !== 32) throw headerError('an X25519 share is not 32 bytes');
        if (s.body.length !== FILE_KEY_SIZE + 16) throw headerError('an X25519 stanza body is not 32 bytes');
        const shared = dh(secretKey, share);
        const key = hkdfSha256(shared, concatBytes(share, ourPublic), X25519_LABEL, 32);
        const fileKey = unwrapBody(key, s.body);
        if (fileKey) return fileKey;
      }
      return null;
    },
  };
}

export function encodeX25519Recipient(publicKey: Uint8Array): string {
  return bech32.encode('age', bech32.toWords(publicKey), 1000);
}

function decodeBech32(text: string, prefix: string, what: string): Uint8Array {
  try {
    const d = bech32.decode(text as `${string}1${string}`, 1000);
    if (d.prefix !== prefix) throw new Error('prefix');
    const bytes = bech32.fromWords(d.words);
    if (bytes.length !== 32) throw new Error('length');
    return bytes;
  } catch {
    throw new CustodyError('BAD_KEY', `not a valid ${what}`);
  }
}

/** `age1…` → an X25519 recipient. */
export function parseX25519Recipient(text: string): AgeRecipient {
  const t = text.trim();
  if (t !== t.toLowerCase()) throw new CustodyError('BAD_KEY', 'an age1… recipient is written in lower case');
  return x25519Recipient(decodeBech32(t, 'age', 'age1… recipient'), t);
}

/** `AGE-SECRET-KEY-1…` → an X25519 identity. */
export function parseX25519Identity(text: string): AgeIdentity {
  const t = text.trim();
  if (t !== t.toUpperCase()) throw new CustodyError('BAD_KEY', 'an AGE-SECRET-KEY-1… identity is written in upper case');
  return x25519Identity(decodeBech32(t.toLowerCase(), 'age-secret-key-', 'AGE-SECRET-KEY-1… identity'));
}

// ---- ssh-ed25519 ---------------------------------------------------------

/**
 * The X25519 (Montgomery) form of an Ed25519 public key: u = (1 + y) / (1 − y)
 * mod p, the birational map of RFC 7748 §4.1, as age's agessh package and
 * @noble/curves' `toMontgomery` compute it. Written out here on @noble/ed25519
 * (which custody loads anyway) rather than taken from @noble/curves, whose
 * ed25519 module cost 45–70 ms to load, a twentieth of a 1 GiB encryption; the
 * age tests check it against @noble/curves. The point is decoded strictly
 * (canonical y, x recoverable), so bytes that are no point are refused.
 */
export function montgomeryFromEdwards(edPublicKey: Uint8Array): Uint8Array {
  const { p } = Point.CURVE();
  const y = Point.fromBytes(edPublicKey, false).y;
  const u = etc.mod((1n + y) * etc.invert(etc.mod(1n - y, p), p), p);
  const out = new Uint8Array(32);
  let v = u;
  for (let i = 0; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** The X25519 secret scalar of an Ed25519 seed: the first half of SHA-512(seed), clamped (RFC 8032 §5.1.5). */
export function montgomerySecretFromSeed(seed: Uint8Array): Uint8Array {
  const s = sha512(seed).slice(0, 32);
  s[0]! &= 248;
  s[31]! &= 127;
  s[31]! |= 64;
  return s;
}

/** The SSH wire-format public key blob: string "ssh-ed25519", string key. */
export function sshEd25519Blob(edPublicKey: Uint8Array): Uint8Array {
  return concatBytes(sshString(utf8('ssh-ed25519')), sshString(edPublicKey));
}

function sshTag(blob: Uint8Array): string {
  return b64Encode(sha256(blob).subarray(0, 4));
}

function sshTweak(blob: Uint8Array): Uint8Array {
  return hkdfSha256(new Uint8Array(0), blob, SSH_ED25519_LABEL, 32);
}

/** A recipient for an Ed25519 public key, as stock age treats an `ssh-ed25519 …` line. */
export function sshEd25519Recipient(edPublicKey: Uint8Array, label: string): AgeRecipient {
  if (edPublicKey.length !== 32) throw new CustodyError('BAD_KEY', 'an Ed25519 public key is 32 bytes');
  let theirs: Uint8Array;
  try {
    theirs = montgomeryFromEdwards(edPublicKey);
  } catch {
    throw new CustodyError('BAD_KEY', `${label} is not a valid Ed25519 public key`);
  }
  const blob = sshEd25519Blob(edPublicKey);
  const tag = sshTag(blob);
  const tweak = sshTweak(blob);
  return {
    label,
    wrap(fileKey) {
      const ephemeral = randomBytes(32);
      const share = x25519Base(ephemeral);
      const shared = dh(tweak, dh(ephemeral, theirs));
      const key = hkdfSha256(shared, concatBytes(share, theirs), SSH_ED25519_LABEL, 32);
      return [{ type: 'ssh-ed25519', args: [tag, b64Encode(share)], body: seal(key, ZERO_NONCE, fileKey) }];
    },
  };
}

/** The identity for an Ed25519 key given by its 32-byte seed (what custody's .key file and an OpenSSH private key hold). */
export function sshEd25519Identity(seed: Uint8Array, label: string): AgeIdentity {
  if (seed.length !== 32) throw new CustodyError('BAD_KEY', 'an Ed25519 seed is 32 bytes');
  const edPublic = publicKeyFromSeed(seed);
  const secret = montgomerySecretFromSeed(seed);
  const ours = x25519Base(secret);
  const blob = sshEd25519Blob(edPublic);
  const tag = sshTag(blob);
  const tweak = sshTweak(blob);
  return {
    label,
    unwrap(stanzas) {
      for (const s of stanzas) {
        if (s.type !== 'ssh-ed25519') continue;
        if (s.args.length !== 2) throw headerError('an ssh-ed25519 stanza must have exactly two arguments');
        if (s.args[0] !== tag) continue;
        const share = b64Decode(s.args[1]!, 'an ssh-ed25519 share');
        if (share.length !== 32) throw headerError('an ssh-ed25519 share is not 32 bytes');
        const shared = dh(tweak, dh(secret, share));
        const key = hkdfSha256(shared, concatBytes(share, ours), SSH_ED25519_LABEL, 32);
        const fileKey = unwrapBody(key, s.body);
        // The tag names our key: a body that does not open is damage, not someone else's stanza.
        if (!fileKey) throw headerError(`the ssh-ed25519 stanza for ${label} does not decrypt (changed or damaged)`);
        return fileKey;
      }
      return null;
    },
  };
}
