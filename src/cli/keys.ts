/**
 * The key store on disk (<home>/keys/<keyid>.key + .pub) and how commands
 * find keys: a file, a key id prefix or a name in <home>/keys, the trust
 * store. The only custody-identity code that touches the file system.
 *
 * A reference that looks like hex is looked up in the key stores only, never
 * as a file (key-ref.ts says why); secret keys and the keys folder that
 * others could read or change are refused (key-perms.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CustodyError, fromSystemError } from '../core/errors.js';
import { keyId } from '../custody/ed25519.js';
import { makeIdentity, parsePublicKeyFile, sameKey, signerFromSeed, type Identity, type Signer } from '../custody/identity.js';
import { decryptKeyFile, readKeyFileHeader } from '../custody/keyfile.js';
import { readPublicKeyAny } from '../custody/public-key-formats.js';
import { withLedger, type DamagedTrustedKey, type TrustedKey } from '../ledger/index.js';
import type { CliContext } from './context.js';
import { assertPrivateKeyFile, assertPrivateKeysDir } from './key-perms.js';
import { fileHint, hexKeyRef } from './key-ref.js';
import { readPassphrase } from './passphrase.js';
import { ensureHomeKeysDir, homeKeysDir, readKeyishFile, writeNewFile } from '../ops/keystore.js';

export function keysDir(ctx: CliContext): string {
  return homeKeysDir(ctx.opts.home);
}

/** Creates <home> and <home>/keys with mode 0700 (secret keys live there). */
export function ensureKeysDir(ctx: CliContext): string {
  return ensureHomeKeysDir(ctx.opts.home);
}

export { readKeyishFile, writeNewFile };

export interface HomeKey {
  keyid: string;
  identity: Identity;
  created?: string;
  /** undefined for a public key only */
  encrypted?: boolean;
  keyPath?: string;
  pubPath?: string;
}

/** The keys in <home>/keys, from their .key headers (or .pub files when there is no .key). */
export function listHomeKeys(ctx: CliContext): HomeKey[] {
  const dir = keysDir(ctx);
  let names: string[];
  try {
    // Whatever sits in this folder is the examiner's own identity: refuse it if others can add to it.
    assertPrivateKeysDir(dir, fs.statSync(dir).mode);
    names = fs.readdirSync(dir).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fromSystemError(e, dir);
  }
  const byId = new Map<string, HomeKey>();
  for (const n of names) {
    const file = path.join(dir, n);
    if (n.startsWith('.')) continue;
    try {
      if (n.endsWith('.key')) {
        const h = readKeyFileHeader(readKeyishFile(file));
        const e = byId.get(h.identity.keyid) ?? { keyid: h.identity.keyid, identity: h.identity };
        Object.assign(e, { identity: h.identity, created: h.created, encrypted: h.encrypted, keyPath: file });
        byId.set(e.keyid, e);
      } else if (n.endsWith('.pub')) {
        const id = parsePublicKeyFile(readKeyishFile(file));
        const e = byId.get(id.keyid) ?? { keyid: id.keyid, identity: id, ...(id.created ? { created: id.created } : {}) };
        e.pubPath = file;
        byId.set(e.keyid, e);
      }
    } catch (err) {
      ctx.note(`custody: skipping ${file}: ${(err as Error).message}`);
    }
  }
  return [...byId.values()];
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * A key reference (file, key id / fingerprint prefix, or name in <home>/keys)
 * → the key in the home store, or a file path. A hex-looking reference is
 * never a file.
 */
function findKey(ctx: CliContext, ref: string): { file: string } | { home: HomeKey } {
  const hex = hexKeyRef(ref);
  if (hex === undefined && isFile(ref)) return { file: path.resolve(ref) };
  const keys = listHomeKeys(ctx);
  const byHex = hex !== undefined && hex.length >= 4 ? keys.filter((k) => k.identity.fingerprint.startsWith(hex)) : [];
  const matches = byHex.length > 0 ? byHex : keys.filter((k) => k.identity.name === ref);
  if (matches.length === 1) return { home: matches[0]! };
  if (matches.length > 1) {
    throw new CustodyError('USAGE', `"${ref}" matches ${matches.length} keys: ${matches.map((k) => `${k.keyid} (${k.identity.name})`).join(', ')}`, {
      hint: 'give more digits of the key id',
    });
  }
  if (hex !== undefined) {
    throw new CustodyError('NOT_FOUND', `no key "${ref}": no key id or name in ${keysDir(ctx)} matches`, { hint: `see custody key list; ${fileHint(ref)}` });
  }
  throw new CustodyError('NOT_FOUND', `no key "${ref}": not a file, nor a key id or name in ${keysDir(ctx)}`, { hint: 'see custody key list' });
}

/** A key reference → a path (the .key when there is one, else the .pub). */
export function resolveKeyRef(ctx: CliContext, ref: string): string {
  const found = findKey(ctx, ref);
  if ('file' in found) return found.file;
  return (found.home.keyPath ?? found.home.pubPath)!;
}

/** A key reference → its identity and metadata, without a passphrase. */
export function describeKeyRef(ctx: CliContext, ref: string): HomeKey & { file: string } {
  const found = findKey(ctx, ref);
  if ('home' in found) return { ...found.home, file: (found.home.keyPath ?? found.home.pubPath)! };
  const bytes = readKeyishFile(found.file);
  const r = readPublicKeyAny(bytes);
  const naming = r.naming ?? { name: path.basename(found.file) };
  const identity = makeIdentity(r.publicKey, naming);
  const out: HomeKey & { file: string } = { keyid: identity.keyid, identity, file: found.file };
  if (r.created !== undefined) out.created = r.created;
  if (r.format === 'custody-key') {
    out.encrypted = readKeyFileHeader(bytes).encrypted;
    out.keyPath = found.file;
  }
  return out;
}

/**
 * The signing key: --key, env CUSTODY_KEY, or the only key in <home>/keys;
 * unlocked with a passphrase from --passphrase-file, CUSTODY_PASSPHRASE or a
 * terminal prompt.
 */
export async function loadSigner(ctx: CliContext, opts: { key?: string | undefined; passphraseFile?: string | undefined }): Promise<Signer> {
  const { seed, identity } = await loadSecretKey(ctx, opts);
  return signerFromSeed(seed, identity);
}

/** The secret key itself (seed and identity), chosen and unlocked as loadSigner does: for decryption and export. */
export async function loadSecretKey(
  ctx: CliContext,
  opts: { key?: string | undefined; passphraseFile?: string | undefined },
): Promise<{ seed: Uint8Array; identity: Identity; file: string }> {
  let ref = opts.key ?? (process.env.CUSTODY_KEY ? process.env.CUSTODY_KEY : undefined);
  if (ref === undefined) {
    const secret = listHomeKeys(ctx).filter((k) => k.keyPath !== undefined);
    if (secret.length === 0) {
      throw new CustodyError('NOT_FOUND', `no signing key in ${keysDir(ctx)}`, { hint: 'make one with custody key new --name <name>, or give --key <file>' });
    }
    if (secret.length > 1) {
      throw new CustodyError('USAGE', `${secret.length} keys in ${keysDir(ctx)}; choose one`, { hint: 'give --key <file or key id> or set CUSTODY_KEY' });
    }
    ref = secret[0]!.keyPath!;
  }
  let file = resolveKeyRef(ctx, ref);
  let expected: Uint8Array | undefined;
  if (file.endsWith('.pub')) {
    const sibling = `${file.slice(0, -4)}.key`;
    if (!isFile(sibling)) throw new CustodyError('USAGE', `${file} is a public key; signing needs the secret .key file`);
    // The .pub names the identity the user chose; a .key beside it that is someone else's must not sign in its place.
    expected = readPublicKeyAny(readKeyishFile(file)).publicKey;
    file = sibling;
  }
  assertPrivateKeyFile(file);
  const bytes = readKeyishFile(file);
  const header = readKeyFileHeader(bytes);
  if (expected !== undefined && !sameKey(header.identity.publicKey, expected)) {
    throw new CustodyError('USAGE', `${file} is not the secret key of ${file.slice(0, -4)}.pub (key id ${header.identity.keyid}, not ${keyId(expected)}); refusing to sign with it`, {
      hint: 'give --key the .key file you mean',
    });
  }
  const passphrase = header.encrypted ? await readPassphrase({ passphraseFile: opts.passphraseFile, purpose: 'unlock', label: file }) : null;
  const { seed, identity } = await decryptKeyFile(bytes, passphrase, file);
  return { seed, identity, file };
}

/**
 * Someone else's identity (e.g. `transfer --to`): a public key file, or a
 * fingerprint / key id (at least 8 hex digits) of a key in <home>/keys or the
 * trust store. `fallbackName` names a key whose file carries no name (PEM).
 */
export function loadIdentityRef(ctx: CliContext, ref: string, fallbackName?: string): Identity {
  const hex = hexKeyRef(ref);
  if (hex === undefined && isFile(ref)) {
    const r = readPublicKeyAny(readKeyishFile(ref));
    if (!r.naming && fallbackName === undefined) {
      throw new CustodyError('USAGE', `${ref} is a bare public key with no name`, { hint: "use the person's .pub file (custody key export --format json)" });
    }
    return makeIdentity(r.publicKey, r.naming ?? { name: fallbackName! });
  }
  if (hex === undefined || hex.length < 8 || hex.length > 64) {
    throw new CustodyError('NOT_FOUND', `no such file, and not a fingerprint or key id: ${ref}`, {
      hint: `give a .pub file or at least 8 hex digits of a fingerprint${hex !== undefined ? `; ${fileHint(ref)}` : ''}`,
    });
  }
  const found = new Map<string, Identity>();
  for (const k of listHomeKeys(ctx)) if (k.identity.fingerprint.startsWith(hex)) found.set(k.identity.fingerprint, k.identity);
  for (const t of trustStoreKeys(ctx)) {
    if (t.fingerprint.startsWith(hex) && !found.has(t.fingerprint)) {
      found.set(t.fingerprint, makeIdentity(t.publicKey, { name: t.name, org: t.org, role: t.role }));
    }
  }
  if (found.size === 1) return [...found.values()][0]!;
  if (found.size > 1) throw new CustodyError('USAGE', `${ref} matches ${found.size} keys`, { hint: 'give more digits of the fingerprint' });
  throw new CustodyError('NOT_FOUND', `no key with fingerprint ${ref} in ${keysDir(ctx)} or the trust store`, { hint: `give the .pub file instead; ${fileHint(ref)}` });
}

/** The warning line for a trust-store row that is not trusted because it does not hold together. */
export function damagedTrustNote(d: DamagedTrustedKey): string {
  return `custody: warning: ignoring the trusted key row ${d.fingerprint}: ${d.problem} (custody trust remove ${d.fingerprint}, then add the key again)`;
}

/**
 * The sound keys of the trust store, with a warning line for each damaged
 * row (never trusted). Empty when there is no ledger yet: looking a key up
 * must not create a home.
 */
export function trustStoreKeys(ctx: CliContext): TrustedKey[] {
  if (!fs.existsSync(path.join(ctx.opts.home, 'ledger.db'))) return [];
  const { keys, damaged } = withLedger(ctx.opts.home, (ledger) => ledger.trustStore());
  for (const d of damaged) ctx.note(damagedTrustNote(d));
  return keys;
}

