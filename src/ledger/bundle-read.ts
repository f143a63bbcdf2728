/** Reading bundles, records, items and files back out of the ledger as plain data. */
import type { Db } from './open.js';
import type { BundleRow, BundleState, RecordAction, StoredFile, StoredItem, StoredRecord } from './types.js';

/** A record row as both engines return it (records joined with their bundle's name and case). */
export interface RecordDbRow {
  bundle_digest: string;
  seq: number;
  action: RecordAction;
  signer_keyid: string;
  at: string;
  payload: Buffer;
  envelope: Buffer;
  payload_sha256: string;
  stored_at: string;
  name: string;
  case_id: string;
}

/**
 * Ordered bundle by bundle, each bundle's chain in seq order; bundles in the
 * order they were sealed (their seal record's time), so `log --case` reads as
 * a timeline.
 */
export function records(db: Db, filter: { bundleDigest?: string; caseId?: string } = {}): StoredRecord[] {
  // Only the conditions given: "(@x IS NULL OR col = @x)" would keep SQLite from using the indexes (a full scan per log --case).
  const where: string[] = [];
  if (filter.bundleDigest !== undefined) where.push('r.bundle_digest = @digest');
  if (filter.caseId !== undefined) where.push('b.case_id = @caseId');
  const rows = db
    .prepare(
      `SELECT r.*, b.name, b.case_id FROM records r JOIN bundles b ON b.digest = r.bundle_digest
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY (SELECT r0.at FROM records r0 WHERE r0.bundle_digest = r.bundle_digest AND r0.seq = 0),
                r.bundle_digest, r.seq`,
    )
    .all({ ...(filter.bundleDigest !== undefined ? { digest: filter.bundleDigest } : {}), ...(filter.caseId !== undefined ? { caseId: filter.caseId } : {}) }) as RecordDbRow[];
  return rows.map(storedRecord);
}

/** One record row as plain data. */
export function storedRecord(r: RecordDbRow): StoredRecord {
  return {
    bundleDigest: r.bundle_digest,
    bundleName: r.name,
    caseId: r.case_id,
    seq: r.seq,
    action: r.action,
    signerKeyid: r.signer_keyid,
    at: r.at,
    payload: new Uint8Array(r.payload),
    envelope: new Uint8Array(r.envelope),
    payloadSha256: r.payload_sha256,
    storedAt: r.stored_at,
  };
}

interface BundleDbRow {
  digest: string;
  name: string;
  path: string | null;
  state: BundleState;
  case_id: string;
  created_at: string;
  updated_at: string;
  records: number;
}

const SELECT_BUNDLES = `
  SELECT b.*, (SELECT count(*) FROM records r WHERE r.bundle_digest = b.digest) AS records FROM bundles b`;

function toBundle(r: BundleDbRow): BundleRow {
  const b: BundleRow = {
    digest: r.digest,
    name: r.name,
    state: r.state,
    caseId: r.case_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    records: r.records,
  };
  if (r.path !== null) b.path = r.path;
  return b;
}

export function bundles(db: Db, filter: { caseId?: string } = {}): BundleRow[] {
  const rows = db
    .prepare(`${SELECT_BUNDLES} WHERE (@caseId IS NULL OR b.case_id = @caseId) ORDER BY b.created_at, b.digest`)
    .all({ caseId: filter.caseId ?? null }) as BundleDbRow[];
  return rows.map(toBundle);
}

export function getBundle(db: Db, digest: string): BundleRow | undefined {
  const r = db.prepare(`${SELECT_BUNDLES} WHERE b.digest = ?`).get(digest) as BundleDbRow | undefined;
  return r && toBundle(r);
}

export function items(db: Db, bundleDigest: string): StoredItem[] {
  const rows = db
    .prepare('SELECT * FROM items WHERE bundle_digest = ? ORDER BY item_id')
    .all(bundleDigest) as { bundle_digest: string; item_id: string; description: string | null; details: string | null }[];
  return rows.map((r) => {
    const it: StoredItem = { bundleDigest: r.bundle_digest, id: r.item_id };
    if (r.description !== null) it.description = r.description;
    if (r.details !== null) it.details = JSON.parse(r.details) as Record<string, unknown>;
    return it;
  });
}

interface FileDbRow {
  id: number;
  bundle_digest: string;
  case_id: string;
  item_id: string;
  path: string;
  size: number;
  piece_count: number | null;
  merkle_root: string | null;
}

function withHashes(db: Db, rows: FileDbRow[]): StoredFile[] {
  const hashes = db.prepare('SELECT algo, hex FROM file_hashes WHERE file_id = ? ORDER BY algo');
  return rows.map((r) => {
    const f: StoredFile = {
      bundleDigest: r.bundle_digest,
      caseId: r.case_id,
      itemId: r.item_id,
      path: r.path,
      size: r.size,
      hashes: Object.fromEntries((hashes.all(r.id) as { algo: string; hex: string }[]).map((h) => [h.algo, h.hex])),
    };
    if (r.piece_count !== null) f.pieceCount = r.piece_count;
    if (r.merkle_root !== null) f.merkleRoot = r.merkle_root;
    return f;
  });
}

const SELECT_FILES = 'SELECT f.*, b.case_id FROM files f JOIN bundles b ON b.digest = f.bundle_digest';

export function files(db: Db, bundleDigest: string): StoredFile[] {
  return withHashes(db, db.prepare(`${SELECT_FILES} WHERE f.bundle_digest = ? ORDER BY f.path`).all(bundleDigest) as FileDbRow[]);
}

/** Every file in any bundle whose digest (any algorithm) is `hex`: "where did this image go?" */
export function findFilesByHash(db: Db, hex: string): StoredFile[] {
  const rows = db
    .prepare(
      `${SELECT_FILES} WHERE f.id IN (SELECT file_id FROM file_hashes WHERE hex = ?) ORDER BY b.created_at, f.path`,
    )
    .all(hex.toLowerCase()) as FileDbRow[];
  return withHashes(db, rows);
}
