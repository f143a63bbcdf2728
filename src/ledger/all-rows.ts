/** Every row of the SQLite ledger, table by table, as stored: the source of `custody ledger copy`. */
import type { Db } from './open.js';
import type { LedgerRows } from './store.js';

export function allRows(db: Db): LedgerRows {
  const hashes = new Map<number, { algo: string; hex: string }[]>();
  for (const h of db.prepare('SELECT file_id, algo, hex FROM file_hashes ORDER BY file_id, algo').all() as { file_id: number; algo: string; hex: string }[]) {
    const list = hashes.get(h.file_id) ?? [];
    list.push({ algo: h.algo, hex: h.hex });
    hashes.set(h.file_id, list);
  }
  const bytes = <T extends Record<string, unknown>>(r: T, ...cols: (keyof T)[]): T => {
    for (const c of cols) (r as Record<string, unknown>)[c as string] = new Uint8Array(r[c] as Buffer);
    return r;
  };
  return {
    cases: db.prepare('SELECT id, title, authority, created_at FROM cases ORDER BY created_at, id').all() as LedgerRows['cases'],
    bundles: db.prepare('SELECT digest, name, path, state, case_id, created_at, updated_at FROM bundles ORDER BY created_at, digest').all() as LedgerRows['bundles'],
    items: db.prepare('SELECT bundle_digest, item_id, description, details FROM items ORDER BY bundle_digest, item_id').all() as LedgerRows['items'],
    files: (db.prepare('SELECT id, bundle_digest, item_id, path, size, piece_count, merkle_root FROM files ORDER BY bundle_digest, path').all() as (LedgerRows['files'][number] & { id: number })[]).map(
      ({ id, ...f }) => ({ ...f, hashes: hashes.get(id) ?? [] }),
    ),
    records: (db.prepare('SELECT bundle_digest, seq, action, signer_keyid, at, payload, envelope, payload_sha256, stored_at FROM records ORDER BY bundle_digest, seq').all() as LedgerRows['records']).map(
      (r) => bytes(r, 'payload', 'envelope'),
    ),
    trusted_keys: (db.prepare('SELECT fingerprint, keyid, public_key, name, org, role, label, added_at FROM trusted_keys ORDER BY fingerprint').all() as LedgerRows['trusted_keys']).map(
      (r) => bytes(r, 'public_key'),
    ),
    trust_events: (db.prepare('SELECT event, fingerprint, public_key, name, label, at FROM trust_events ORDER BY id').all() as LedgerRows['trust_events']).map(
      (r) => bytes(r, 'public_key'),
    ),
  };
}
