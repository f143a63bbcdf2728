/**
 * Who signs: an identity is a public key plus the name, organisation and role
 * a person gave it. The `.pub` file is that identity as JSON.
 */
import { CustodyError, type ErrorCode } from '../core/errors.js';
import { checkText } from '../core/text.js';
import { assertStrongPublicKey, fingerprint, keyId, publicKeyFromSeed, signEd25519 } from './ed25519.js';
import { bytesEqual, fromBase64Strict, toBase64 } from './encoding.js';
import { asObject, onlyKeys, parseStrictJson } from './strict-json.js';

export interface Identity {
  name: string;
  org?: string;
  role?: string;
  publicKey: Uint8Array;
  keyid: string;
  fingerprint: string;
}

export interface Signer {
  identity: Identity;
  sign(message: Uint8Array): Uint8Array;
}

export interface Naming {
  name: string;
  org?: string | undefined;
  role?: string | undefined;
}

export const PUBLIC_KEY_FILE_TYPE = 'custody-public-key';

/**
 * Names end up on terminals and in printed reports. Threat: control
 * characters (ANSI escapes, newlines) in a name could rewrite what a
 * verifier sees, so they are refused.
 */
export function checkLabel(value: unknown, what: string, code: ErrorCode): string {
  return checkText(value, what, code, { max: 256 }).normalize('NFC');
}

/** Builds an identity; `source` says whether a weak key is the user's mistake or bad evidence. */
export function makeIdentity(publicKey: Uint8Array, naming: Naming, source: 'user' | 'evidence' = 'user'): Identity {
  assertStrongPublicKey(publicKey, source);
  const code: ErrorCode = source === 'user' ? 'USAGE' : 'MALFORMED_BUNDLE';
  const id: Identity = {
    name: checkLabel(naming.name, 'name', code),
    publicKey: new Uint8Array(publicKey),
    keyid: keyId(publicKey),
    fingerprint: fingerprint(publicKey),
  };
  if (naming.org !== undefined) id.org = checkLabel(naming.org, 'org', code);
  if (naming.role !== undefined) id.role = checkLabel(naming.role, 'role', code);
  return id;
}

export function signerFromSeed(seed: Uint8Array, naming: Naming): Signer {
  const identity = makeIdentity(publicKeyFromSeed(seed), naming, 'user');
  const secret = new Uint8Array(seed);
  return { identity, sign: (message: Uint8Array) => signEd25519(secret, message) };
}

/** The `.pub` file: what a person hands to others so they can trust or name them. */
export function publicKeyFile(identity: Identity, created?: string): string {
  const doc: Record<string, unknown> = { type: PUBLIC_KEY_FILE_TYPE, version: 1, name: identity.name };
  if (identity.org !== undefined) doc.org = identity.org;
  if (identity.role !== undefined) doc.role = identity.role;
  doc.keyid = identity.keyid;
  doc.fingerprint = identity.fingerprint;
  doc.publicKey = toBase64(identity.publicKey);
  if (created !== undefined) doc.created = created;
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Reads a `.pub` file; refuses weak keys and a key id or fingerprint that does not match the key. */
export function parsePublicKeyFile(bytes: Uint8Array | string): Identity & { created?: string } {
  const what = 'public key file';
  const doc = asObject(parseStrictJson(bytes, what, 'BAD_KEY'), what, 'BAD_KEY');
  onlyKeys(doc, ['type', 'version', 'name', 'org', 'role', 'keyid', 'fingerprint', 'publicKey', 'created'], what, 'BAD_KEY');
  if (doc.type !== PUBLIC_KEY_FILE_TYPE || doc.version !== 1) {
    throw new CustodyError('BAD_KEY', `not a custody public key file (type ${PUBLIC_KEY_FILE_TYPE}, version 1)`);
  }
  const pub = fromBase64Strict(doc.publicKey, 'publicKey', 'BAD_KEY', 32);
  const id = makeIdentity(
    pub,
    {
      name: checkLabel(doc.name, 'name', 'BAD_KEY'),
      org: doc.org === undefined ? undefined : checkLabel(doc.org, 'org', 'BAD_KEY'),
      role: doc.role === undefined ? undefined : checkLabel(doc.role, 'role', 'BAD_KEY'),
    },
    'user',
  );
  if (doc.keyid !== undefined && doc.keyid !== id.keyid) throw new CustodyError('BAD_KEY', `key id ${String(doc.keyid)} does not match the public key (${id.keyid})`);
  if (doc.fingerprint !== undefined && doc.fingerprint !== id.fingerprint) {
    throw new CustodyError('BAD_KEY', 'the fingerprint in the file does not match the public key');
  }
  if (doc.created !== undefined && typeof doc.created !== 'string') throw new CustodyError('BAD_KEY', 'created must be a string');
  return doc.created === undefined ? id : { ...id, created: doc.created };
}

export function sameKey(a: Identity | Uint8Array, b: Identity | Uint8Array): boolean {
  const ka = a instanceof Uint8Array ? a : a.publicKey;
  const kb = b instanceof Uint8Array ? b : b.publicKey;
  return bytesEqual(ka, kb);
}
