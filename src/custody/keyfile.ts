/**
 * The secret key file (`.key`), JSON:
 *
 *   {"type":"custody-secret-key","version":1,
 *    "name":…,"org":…,"role":…,"created":…,"keyid":…,"publicKey":<b64>,
 *    "kdf":{"name":"argon2id","memoryKiB":65536,"iterations":3,"parallelism":1,"salt":<b64 16>},
 *    "cipher":{"name":"aes-256-gcm","nonce":<b64 12>},
 *    "sealedSeed":<b64: AES-256-GCM ciphertext of the 32-byte seed || 16-byte tag>}
 *
 * Every field but sealedSeed is the header, and the header is the AEAD's
 * associated data (serialised from the parsed values in a fixed order), so no
 * field — name, key id, public key, KDF parameters — can be changed without
 * decryption failing. Unencrypted (`--no-passphrase`): kdf and cipher are
 * {"name":"none"} and the seed is stored as "seed" in the clear.
 *
 * Threats: a hostile key file with huge KDF parameters (memory/time
 * exhaustion) — capped before any work; a swapped public key or name — bound
 * by the associated data, and the decrypted seed must derive the stored key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CustodyError } from '../core/errors.js';
import { publicKeyFromSeed } from './ed25519.js';
import { bytesEqual, fromBase64Strict, toBase64, utf8 } from './encoding.js';
import { checkLabel, makeIdentity, type Identity } from './identity.js';
import { asObject, onlyKeys, parseStrictJson } from './strict-json.js';

export const SECRET_KEY_FILE_TYPE = 'custody-secret-key';

export interface KdfParams {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export const DEFAULT_KDF: KdfParams = { memoryKiB: 64 * 1024, iterations: 3, parallelism: 1 };
/** Caps on reading: a file asking for more is refused before any work. */
export const KDF_LIMITS = { maxMemoryKiB: 256 * 1024, maxIterations: 10, maxParallelism: 4 } as const;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface KeyFileHeader {
  identity: Identity;
  created: string;
  encrypted: boolean;
  kdf?: KdfParams & { salt: Uint8Array };
  nonce?: Uint8Array;
}

function checkKdf(k: KdfParams): void {
  const ok =
    Number.isSafeInteger(k.memoryKiB) &&
    Number.isSafeInteger(k.iterations) &&
    Number.isSafeInteger(k.parallelism) &&
    k.parallelism >= 1 &&
    k.parallelism <= KDF_LIMITS.maxParallelism &&
    k.iterations >= 1 &&
    k.iterations <= KDF_LIMITS.maxIterations &&
    k.memoryKiB >= 8 * k.parallelism &&
    k.memoryKiB <= KDF_LIMITS.maxMemoryKiB;
  if (!ok) {
    throw new CustodyError(
      'BAD_KEY',
      `key file asks for unacceptable Argon2id parameters (memory ${k.memoryKiB} KiB, iterations ${k.iterations}, parallelism ${k.parallelism}); ` +
        `at most ${KDF_LIMITS.maxMemoryKiB} KiB, ${KDF_LIMITS.maxIterations} iterations, parallelism ${KDF_LIMITS.maxParallelism}`,
    );
  }
}

/** The header in a fixed order: the associated data is these exact bytes. */
function headerDoc(h: KeyFileHeader): Record<string, unknown> {
  const doc: Record<string, unknown> = { type: SECRET_KEY_FILE_TYPE, version: 1, name: h.identity.name };
  if (h.identity.org !== undefined) doc.org = h.identity.org;
  if (h.identity.role !== undefined) doc.role = h.identity.role;
  doc.created = h.created;
  doc.keyid = h.identity.keyid;
  doc.publicKey = toBase64(h.identity.publicKey);
  doc.kdf = h.kdf
    ? { name: 'argon2id', memoryKiB: h.kdf.memoryKiB, iterations: h.kdf.iterations, parallelism: h.kdf.parallelism, salt: toBase64(h.kdf.salt) }
    : { name: 'none' };
  doc.cipher = h.nonce ? { name: 'aes-256-gcm', nonce: toBase64(h.nonce) } : { name: 'none' };
  return doc;
}

function normalisePassphrase(passphrase: string): Uint8Array {
  // NFC so the same passphrase typed on different systems derives the same key.
  return utf8(passphrase.normalize('NFC'));
}

async function deriveKey(passphrase: string, kdf: KdfParams & { salt: Uint8Array }): Promise<Uint8Array> {
  checkKdf(kdf);
  // Loaded on use: only passphrase-protected keys need Argon2id, and hash-wasm costs every CLI start ~0.1 s.
  const { argon2id } = await import('hash-wasm');
  return argon2id({
    password: normalisePassphrase(passphrase),
    salt: kdf.salt,
    iterations: kdf.iterations,
    parallelism: kdf.parallelism,
    memorySize: kdf.memoryKiB,
    hashLength: 32,
    outputType: 'binary',
  });
}

/**
 * Writes a key file. `passphrase` null = unencrypted (the caller says so to
 * the user). `kdf` is for tests that need speed; real keys use DEFAULT_KDF.
 */
export async function encryptKeyFile(
  seed: Uint8Array,
  identity: Identity,
  passphrase: string | null,
  created: string,
  opts: { kdf?: KdfParams } = {},
): Promise<Uint8Array> {
  if (!bytesEqual(publicKeyFromSeed(seed), identity.publicKey)) throw new CustodyError('INTERNAL', 'the seed does not belong to this identity');
  if (passphrase === null) {
    const doc = headerDoc({ identity, created, encrypted: false });
    doc.seed = toBase64(seed);
    return utf8(`${JSON.stringify(doc, null, 2)}\n`);
  }
  if (passphrase.length === 0) throw new CustodyError('USAGE', 'the passphrase is empty (use --no-passphrase for an unencrypted key)');
  const kdf = { ...(opts.kdf ?? DEFAULT_KDF), salt: new Uint8Array(randomBytes(SALT_BYTES)) };
  const header: KeyFileHeader = { identity, created, encrypted: true, kdf, nonce: new Uint8Array(randomBytes(NONCE_BYTES)) };
  const doc = headerDoc(header);
  const key = await deriveKey(passphrase, kdf);
  const cipher = createCipheriv('aes-256-gcm', key, header.nonce!);
  cipher.setAAD(utf8(JSON.stringify(doc)));
  const sealed = Buffer.concat([cipher.update(seed), cipher.final(), cipher.getAuthTag()]);
  doc.sealedSeed = toBase64(sealed);
  return utf8(`${JSON.stringify(doc, null, 2)}\n`);
}

function parseKeyFile(bytes: Uint8Array): { header: KeyFileHeader; secret: Uint8Array } {
  const what = 'key file';
  const doc = asObject(parseStrictJson(bytes, what, 'BAD_KEY'), what, 'BAD_KEY');
  if (doc.type !== SECRET_KEY_FILE_TYPE) throw new CustodyError('BAD_KEY', `not a custody secret key file (type ${SECRET_KEY_FILE_TYPE})`);
  if (doc.version !== 1) throw new CustodyError('BAD_KEY', `unsupported key file version ${String(doc.version)}`);
  const kdfDoc = asObject(doc.kdf, 'key file kdf', 'BAD_KEY');
  const cipherDoc = asObject(doc.cipher, 'key file cipher', 'BAD_KEY');
  const encrypted = kdfDoc.name !== 'none';
  const base = ['type', 'version', 'name', 'org', 'role', 'created', 'keyid', 'publicKey', 'kdf', 'cipher'];
  onlyKeys(doc, [...base, encrypted ? 'sealedSeed' : 'seed'], what, 'BAD_KEY');

  const pub = fromBase64Strict(doc.publicKey, 'key file publicKey', 'BAD_KEY', 32);
  const identity = makeIdentity(pub, {
    name: checkLabel(doc.name, 'name', 'BAD_KEY'),
    org: doc.org === undefined ? undefined : checkLabel(doc.org, 'org', 'BAD_KEY'),
    role: doc.role === undefined ? undefined : checkLabel(doc.role, 'role', 'BAD_KEY'),
  });
  if (doc.keyid !== identity.keyid) throw new CustodyError('BAD_KEY', 'the key id in the key file does not match its public key');
  if (typeof doc.created !== 'string') throw new CustodyError('BAD_KEY', 'key file has no created time');
  const header: KeyFileHeader = { identity, created: doc.created, encrypted };

  if (!encrypted) {
    onlyKeys(kdfDoc, ['name'], 'key file kdf', 'BAD_KEY');
    onlyKeys(cipherDoc, ['name'], 'key file cipher', 'BAD_KEY');
    if (cipherDoc.name !== 'none') throw new CustodyError('BAD_KEY', 'key file: cipher without a kdf');
    return { header, secret: fromBase64Strict(doc.seed, 'key file seed', 'BAD_KEY', 32) };
  }
  onlyKeys(kdfDoc, ['name', 'memoryKiB', 'iterations', 'parallelism', 'salt'], 'key file kdf', 'BAD_KEY');
  onlyKeys(cipherDoc, ['name', 'nonce'], 'key file cipher', 'BAD_KEY');
  if (kdfDoc.name !== 'argon2id') throw new CustodyError('BAD_KEY', `unsupported key derivation ${JSON.stringify(kdfDoc.name)}`);
  if (cipherDoc.name !== 'aes-256-gcm') throw new CustodyError('BAD_KEY', `unsupported cipher ${JSON.stringify(cipherDoc.name)}`);
  const kdf = {
    memoryKiB: kdfDoc.memoryKiB as number,
    iterations: kdfDoc.iterations as number,
    parallelism: kdfDoc.parallelism as number,
    salt: fromBase64Strict(kdfDoc.salt, 'key file salt', 'BAD_KEY', SALT_BYTES),
  };
  checkKdf(kdf);
  header.kdf = kdf;
  header.nonce = fromBase64Strict(cipherDoc.nonce, 'key file nonce', 'BAD_KEY', NONCE_BYTES);
  return { header, secret: fromBase64Strict(doc.sealedSeed, 'key file sealedSeed', 'BAD_KEY', 32 + TAG_BYTES) };
}

/** What `key list` / `key show` need, without a passphrase. */
export function readKeyFileHeader(bytes: Uint8Array): KeyFileHeader {
  return parseKeyFile(bytes).header;
}

/**
 * Opens a key file. `label` names the key in a wrong-passphrase message.
 * Tampering with any header field is indistinguishable from a wrong
 * passphrase (the AEAD fails either way), so both give WRONG_PASSPHRASE.
 */
export async function decryptKeyFile(
  bytes: Uint8Array,
  passphrase: string | null,
  label = 'the key',
): Promise<{ seed: Uint8Array; identity: Identity; created: string; encrypted: boolean }> {
  const { header, secret } = parseKeyFile(bytes);
  let seed: Uint8Array;
  if (!header.encrypted) {
    seed = secret;
  } else {
    if (passphrase === null) throw new CustodyError('USAGE', `${label} is encrypted and no passphrase was given`);
    const key = await deriveKey(passphrase, header.kdf!);
    const decipher = createDecipheriv('aes-256-gcm', key, header.nonce!);
    decipher.setAAD(utf8(JSON.stringify(headerDoc(header))));
    decipher.setAuthTag(secret.subarray(32));
    try {
      seed = new Uint8Array(Buffer.concat([decipher.update(secret.subarray(0, 32)), decipher.final()]));
    } catch {
      throw new CustodyError('WRONG_PASSPHRASE', `wrong passphrase for ${label}`);
    }
  }
  // The seed must really be the secret half of the stored public key.
  if (!bytesEqual(publicKeyFromSeed(seed), header.identity.publicKey)) {
    throw new CustodyError('BAD_KEY', `${label}: the secret key does not match the public key in the file`);
  }
  return { seed, identity: header.identity, created: header.created, encrypted: header.encrypted };
}
