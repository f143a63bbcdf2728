/**
 * The trust store: which sealer keys this examiner or authority accepts.
 * Removal deletes the row; the schema's triggers log every add and remove in
 * the append-only trust_events table (see schema.ts for why).
 */
import { CustodyError } from '../core/errors.js';
import { assertStrongPublicKey } from '../custody/ed25519.js';
import type { Db } from './open.js';
import type { TrustedKey, TrustedKeyInput, TrustEvent } from './types.js';
import { assertText, sha256Hex } from './validate.js';

interface TrustedKeyRow {
  fingerprint: string;
  keyid: string;
  public_key: Buffer;
  name: string;
  org: string | null;
  role: string | null;
  label: string | null;
  added_at: string;
}

function toTrustedKey(r: TrustedKeyRow): TrustedKey {
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
function checkKey(k: TrustedKeyInput): void {
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

export function listTrustedKeys(db: Db): TrustedKey[] {
  const rows = db.prepare('SELECT * FROM trusted_keys ORDER BY added_at, fingerprint').all() as TrustedKeyRow[];
  return rows.map(toTrustedKey);
}

export function trustedPublicKeys(db: Db): Uint8Array[] {
  const rows = db.prepare('SELECT public_key FROM trusted_keys ORDER BY fingerprint').all() as { public_key: Buffer }[];
  return rows.map((r) => new Uint8Array(r.public_key));
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
