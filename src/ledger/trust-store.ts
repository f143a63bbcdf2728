/**
 * The trust store: which sealer keys this examiner or authority accepts.
 * Removal deletes the row; the schema's triggers log every add and remove in
 * the append-only trust_events table (see schema.ts for why).
 */
import { CustodyError } from '../core/errors.js';
import { assertStrongPublicKey, weakKeyReason } from '../custody/ed25519.js';
import type { Db } from './open.js';
import type { DamagedTrustedKey, TrustedKey, TrustedKeyInput, TrustEvent } from './types.js';
import { assertText, sha256Hex } from './validate.js';

export interface TrustedKeyRow {
  fingerprint: string;
  keyid: string;
  public_key: Buffer;
  name: string;
  org: string | null;
  role: string | null;
  label: string | null;
  added_at: string;
}

export function toTrustedKey(r: TrustedKeyRow): TrustedKey {
  const k: TrustedKey = {
    publicKey: new Uint8Array(r.public_key),
    fingerprint: r.fingerprint,
    keyid: r.keyid,
    name: r.name,
    addedAt: r.added_at,
  };
  if (r.org !== null) k.org = r.org;
  if (r.role !== null) k.role = r.role;
  if (r.label !== null) k.label = r.label;
  return k;
}

/**
 * The fingerprint is recomputed rather than believed: a key stored under
 * another key's fingerprint would let `trust remove <fp>` remove the wrong
 * key and make `trust list` show a fingerprint the user never confirmed.
 */
export function checkKey(k: TrustedKeyInput): void {
  if (!(k.publicKey instanceof Uint8Array) || k.publicKey.length !== 32) {
    throw new CustodyError('BAD_KEY', 'a trusted key must be a raw 32-byte Ed25519 public key');
  }
  // Defence in depth: `trust add` checks too, but the store itself never holds a small-order,
  // mixed-order or non-canonical key, whichever code path adds it.
  assertStrongPublicKey(k.publicKey, 'user', 'a key to trust');
  const fp = sha256Hex(k.publicKey);
  if (k.fingerprint !== fp) throw new CustodyError('BAD_KEY', `fingerprint ${k.fingerprint} does not match the public key (${fp})`);
  if (k.keyid !== fp.slice(0, 16)) throw new CustodyError('BAD_KEY', `key id ${k.keyid} does not match the public key`);
  assertText(k.name, 'the key owner name', 'user', 256);
  for (const [what, v] of [['org', k.org], ['role', k.role], ['label', k.label]] as const) {
    if (v !== undefined) assertText(v, `the key ${what}`, 'user', 256);
  }
}

export function addTrustedKey(db: Db, k: TrustedKeyInput): { added: boolean } {
  checkKey(k);
  const exists = db.prepare('SELECT 1 FROM trusted_keys WHERE fingerprint = ?').get(k.fingerprint);
  if (exists) return { added: false };
  db.prepare(
    `INSERT INTO trusted_keys (fingerprint, keyid, public_key, name, org, role, label, added_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(k.fingerprint, k.keyid, Buffer.from(k.publicKey), k.name, k.org ?? null, k.role ?? null, k.label ?? null, new Date().toISOString());
  return { added: true };
}

/**
 * Why a stored row must not be believed, or undefined when it is sound.
 * Rows are re-checked on every read, not only when added: whoever can write
 * ledger.db (the sqlite3 shell, another program) can insert a row that shows
 * a fingerprint the user once confirmed next to someone else's public key,
 * and trust would then go to that other key.
 */
export function rowProblem(r: TrustedKeyRow): string | undefined {
  const pub = new Uint8Array(r.public_key);
  if (pub.length !== 32) return 'its public key is not 32 bytes';
  const fp = sha256Hex(pub);
  if (r.fingerprint !== fp) return `its fingerprint does not match its public key (whose fingerprint is ${fp})`;
  if (r.keyid !== fp.slice(0, 16)) return `its key id ${r.keyid} does not match its public key`;
  const weak = weakKeyReason(pub);
  if (weak !== null) return `its public key is unsafe: ${weak}`;
  try {
    assertText(r.name, 'its name', 'evidence', 256);
    for (const [what, v] of [['org', r.org], ['role', r.role], ['label', r.label]] as const) {
      if (v !== null) assertText(v, `its ${what}`, 'evidence', 256);
    }
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

/** Every row of the trust store, split into the sound ones and the damaged ones (never trusted). */
export function readTrustStore(db: Db): { keys: TrustedKey[]; damaged: DamagedTrustedKey[] } {
  const rows = db.prepare('SELECT * FROM trusted_keys ORDER BY added_at, fingerprint').all() as TrustedKeyRow[];
  const keys: TrustedKey[] = [];
  const damaged: DamagedTrustedKey[] = [];
  for (const r of rows) {
    const problem = rowProblem(r);
    if (problem === undefined) keys.push(toTrustedKey(r));
    else damaged.push({ fingerprint: r.fingerprint, keyid: r.keyid, name: r.name, addedAt: r.added_at, problem });
  }
  return { keys, damaged };
}

/** The sound trusted keys only: a damaged row is left out (readTrustStore says which and why). */
export function listTrustedKeys(db: Db): TrustedKey[] {
  return readTrustStore(db).keys;
}

export function trustedPublicKeys(db: Db): Uint8Array[] {
  return readTrustStore(db)
    .keys.sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0))
    .map((k) => k.publicKey);
}

/** Shortest prefix accepted: a few hex digits could match a key the user did not mean. */
export const MIN_PREFIX = 8;

export function removeTrustedKey(db: Db, fingerprintOrPrefix: string): TrustedKey | undefined {
  const ref = fingerprintOrPrefix.trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(ref) || ref.length < MIN_PREFIX || ref.length > 64) {
    throw new CustodyError('USAGE', `not a fingerprint or key id: ${JSON.stringify(fingerprintOrPrefix)}`, {
      hint: `give at least ${MIN_PREFIX} hex digits of the fingerprint (custody trust list shows them)`,
    });
  }
  // substr comparison, not LIKE: LIKE is case-insensitive and treats _ and % specially.
  const rows = db
    .prepare('SELECT * FROM trusted_keys WHERE substr(fingerprint, 1, ?) = ? ORDER BY fingerprint')
    .all(ref.length, ref) as TrustedKeyRow[];
  if (rows.length === 0) return undefined;
  if (rows.length > 1) {
    throw new CustodyError('USAGE', `${ref} matches ${rows.length} trusted keys: ${rows.map((r) => r.fingerprint).join(', ')}`, {
      hint: 'give more digits of the fingerprint',
    });
  }
  db.prepare('DELETE FROM trusted_keys WHERE fingerprint = ?').run(rows[0]!.fingerprint);
  return toTrustedKey(rows[0]!);
}

export function trustEvents(db: Db): TrustEvent[] {
  const rows = db.prepare('SELECT * FROM trust_events ORDER BY id').all() as {
    event: 'add' | 'remove';
    fingerprint: string;
    public_key: Buffer;
    name: string;
    label: string | null;
    at: string;
  }[];
  return rows.map((r) => {
    const ev: TrustEvent = { event: r.event, fingerprint: r.fingerprint, publicKey: new Uint8Array(r.public_key), name: r.name, at: r.at };
    if (r.label !== null) ev.label = r.label;
    return ev;
  });
}
