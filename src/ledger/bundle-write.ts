/**
 * Writing bundles, their items, files and custody records. The Ledger wraps
 * each exported function in one IMMEDIATE transaction, so a failure (or a
 * kill -9) anywhere in it leaves none of its rows.
 *
 * Records are stored exactly as signed and never changed. Storing the same
 * record twice is a no-op (receive, re-import); a DIFFERENT record at a
 * (bundle, seq) the ledger already holds means two chains grew from one
 * bundle — a fork — and is refused loudly with CHAIN_ERROR.
 */
import { CustodyError } from '../core/errors.js';
import { ensureCase } from './cases.js';
import type { Db } from './open.js';
import type {
  BundleState,
  CustodyRecordInput,
  FileInput,
  ImportInput,
  ItemInput,
  RecordAction,
  RecordInput,
  SealInput,
} from './types.js';
import { assertHex64, assertText, sha256Hex, type InputSource } from './validate.js';

export const STATE_AFTER: Record<RecordAction, BundleState> = { seal: 'sealed', transfer: 'in transit', receive: 'received' };

function fail(source: InputSource, message: string): CustodyError {
  return new CustodyError(source === 'user' ? 'USAGE' : 'MALFORMED_BUNDLE', message);
}

export function checkRecord(r: RecordInput, source: InputSource): void {
  if (!Number.isSafeInteger(r.seq) || r.seq < 0) throw fail(source, `record seq ${String(r.seq)} is not a whole number >= 0`);
  if (!(r.action in STATE_AFTER)) throw fail(source, `record ${r.seq} has an unknown action ${JSON.stringify(r.action)}`);
  // The one chain rule the ledger can check without parsing: seq 0 is the seal and only seq 0.
  if ((r.seq === 0) !== (r.action === 'seal')) {
    throw new CustodyError('CHAIN_ERROR', `record ${r.seq} is a ${r.action}: only record 0 may be, and must be, the seal`);
  }
  if (!/^[0-9a-f]{16}$/.test(r.signerKeyid)) throw fail(source, `record ${r.seq}: signer key id ${JSON.stringify(r.signerKeyid)} is not 16 hex digits`);
  if (Number.isNaN(Date.parse(r.at))) throw fail(source, `record ${r.seq}: time ${JSON.stringify(r.at)} is not an ISO 8601 date`);
  if (!(r.payload instanceof Uint8Array) || r.payload.length === 0) throw fail(source, `record ${r.seq} has no payload`);
  if (!(r.envelope instanceof Uint8Array) || r.envelope.length === 0) throw fail(source, `record ${r.seq} has no envelope`);
}

/** A different record at a (bundle, seq) the ledger holds: two chains grew from one bundle. Both engines say it in these words. */
export function forkError(digest: string, seq: number, stored: string, mine: string): CustodyError {
  return new CustodyError(
    'CHAIN_ERROR',
    `fork: the ledger already holds a different record ${seq} for bundle ${digest} ` + `(payload sha256 ${stored}, this one ${mine})`,
    { hint: 'two custody chains grew from the same bundle; find out which copy is genuine before going on' },
  );
}

/** Appends one record; returns false when the identical record is already stored. */
function appendRecord(db: Db, digest: string, r: RecordInput, source: InputSource): boolean {
  checkRecord(r, source);
  const payloadSha256 = sha256Hex(r.payload);
  const existing = db
    .prepare('SELECT payload_sha256 FROM records WHERE bundle_digest = ? AND seq = ?')
    .get(digest, r.seq) as { payload_sha256: string } | undefined;
  if (existing) {
    if (existing.payload_sha256 === payloadSha256) return false;
    throw forkError(digest, r.seq, existing.payload_sha256, payloadSha256);
  }
  db.prepare(
    `INSERT INTO records (bundle_digest, seq, action, signer_keyid, at, payload, envelope, payload_sha256, stored_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(digest, r.seq, r.action, r.signerKeyid, r.at, Buffer.from(r.payload), Buffer.from(r.envelope), payloadSha256, new Date().toISOString());
  return true;
}

/** After appending, the stored chain must be 0..n without gaps; returns the last record's action. */
function checkContiguous(db: Db, digest: string): RecordAction {
  const s = db
    .prepare('SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM records WHERE bundle_digest = ?')
    .get(digest) as { n: number; lo: number; hi: number };
  if (s.lo !== 0 || s.hi !== s.n - 1) {
    throw new CustodyError('CHAIN_ERROR', `the records of bundle ${digest} would not run 0..n without gaps (have ${s.n}, highest seq ${s.hi})`);
  }
  const last = db.prepare('SELECT action FROM records WHERE bundle_digest = ? AND seq = ?').get(digest, s.hi) as { action: RecordAction };
  return last.action;
}

function insertBundleIfNew(db: Db, b: { digest: string; name: string; path?: string | undefined; caseId: string }, source: InputSource): void {
  assertHex64(b.digest, 'the bundle digest', source);
  assertText(b.name, 'the bundle name', source, 255);
  const row = db.prepare('SELECT case_id FROM bundles WHERE digest = ?').get(b.digest) as { case_id: string } | undefined;
  if (row) {
    // Same digest = same tag files = same case; a mismatch means the caller mixed up two bundles.
    if (row.case_id !== b.caseId) throw fail(source, `bundle ${b.digest} belongs to case ${row.case_id}, not ${b.caseId}`);
    return;
  }
  const now = new Date().toISOString();
  db.prepare(
    `INSERT INTO bundles (digest, name, path, state, case_id, created_at, updated_at) VALUES (?, ?, ?, 'sealed', ?, ?, ?)`,
  ).run(b.digest, b.name, b.path ?? null, b.caseId, now, now);
}

function setState(db: Db, digest: string, state: BundleState, path: string | undefined): void {
  if (!(state in { sealed: 1, 'in transit': 1, received: 1 })) throw fail('user', `unknown bundle state ${JSON.stringify(state)}`);
  db.prepare('UPDATE bundles SET state = ?, path = coalesce(?, path), updated_at = ? WHERE digest = ?').run(
    state,
    path ?? null,
    new Date().toISOString(),
    digest,
  );
}

/** Items and files are described by the bundle's signed manifest: same digest, same content, so re-inserts are ignored. */
export function checkItemsAndFiles(items: ItemInput[], files: Iterable<FileInput>, source: InputSource): void {
  for (const it of items) {
    assertText(it.id, 'an item id', source, 255);
    if (it.description !== undefined) assertText(it.description, `the description of item ${it.id}`, source);
  }
  for (const f of files) {
    if (f.path.length === 0 || f.path.length > 4096) throw new CustodyError(source === 'user' ? 'USAGE' : 'MALFORMED_BUNDLE', 'a file path must be 1-4096 characters');
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw fail(source, `file ${f.path} has a bad size ${String(f.size)}`);
    if (f.pieceCount !== undefined && (!Number.isSafeInteger(f.pieceCount) || f.pieceCount < 0)) throw fail(source, `file ${f.path} has a bad piece count`);
    if (f.merkleRoot !== undefined) assertHex64(f.merkleRoot, `the Merkle root of ${f.path}`, source);
    for (const [algo, hex] of Object.entries(f.hashes)) {
      if (!/^[a-z0-9-]{1,32}$/.test(algo) || !/^[0-9a-f]{8,256}$/.test(hex)) throw fail(source, `file ${f.path}: bad ${algo} digest ${JSON.stringify(hex)}`);
    }
  }
}

/**
 * Page cache for a bundle's files (SQLite's default is 2 MB): the hash index
 * takes its keys in random order, so a seal of 10⁵–10⁶ files with the default
 * cache spilled and re-read index pages for every row (a million-file seal
 * spent minutes here). Pages are allocated only as used.
 */
const BULK_CACHE_KIB = 32 << 10;

function insertItemsAndFiles(db: Db, digest: string, items: ItemInput[], files: Iterable<FileInput>, source: InputSource): void {
  const cache = db.pragma('cache_size', { simple: true }) as number;
  db.pragma(`cache_size = -${BULK_CACHE_KIB}`);
  try {
    insertItemsAndFilesCached(db, digest, items, files, source);
  } finally {
    db.pragma(`cache_size = ${cache}`);
  }
}

function insertItemsAndFilesCached(db: Db, digest: string, items: ItemInput[], files: Iterable<FileInput>, source: InputSource): void {
  const insertItem = db.prepare(
    'INSERT INTO items (bundle_digest, item_id, description, details) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
  );
  const itemIds = new Set<string>();
  for (const it of items) {
    assertText(it.id, 'an item id', source, 255);
    if (it.description !== undefined) assertText(it.description, `the description of item ${it.id}`, source);
    itemIds.add(it.id);
    insertItem.run(digest, it.id, it.description ?? null, it.details === undefined ? null : JSON.stringify(it.details));
  }
  const knownItem = db.prepare('SELECT 1 FROM items WHERE bundle_digest = ? AND item_id = ?');
  const insertFile = db.prepare(
    `INSERT INTO files (bundle_digest, item_id, path, size, piece_count, merkle_root) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (bundle_digest, path) DO NOTHING`,
  );
  const insertHash = db.prepare('INSERT INTO file_hashes (file_id, algo, hex) VALUES (?, ?, ?)');
  for (const f of files) {
    // A path is the evidence's own name (escaped when shown), not free text: only its length is checked here.
    if (f.path.length === 0 || f.path.length > 4096) throw new CustodyError(source === 'user' ? 'USAGE' : 'MALFORMED_BUNDLE', 'a file path must be 1-4096 characters');
    if (!itemIds.has(f.itemId) && !knownItem.get(digest, f.itemId)) throw fail(source, `file ${f.path} belongs to unknown item ${JSON.stringify(f.itemId)}`);
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw fail(source, `file ${f.path} has a bad size ${String(f.size)}`);
    if (f.pieceCount !== undefined && (!Number.isSafeInteger(f.pieceCount) || f.pieceCount < 0)) throw fail(source, `file ${f.path} has a bad piece count`);
    if (f.merkleRoot !== undefined) assertHex64(f.merkleRoot, `the Merkle root of ${f.path}`, source);
    const info = insertFile.run(digest, f.itemId, f.path, f.size, f.pieceCount ?? null, f.merkleRoot ?? null);
    if (info.changes === 0) continue; // already stored with its hashes
    for (const [algo, hex] of Object.entries(f.hashes)) {
      if (!/^[a-z0-9-]{1,32}$/.test(algo) || !/^[0-9a-f]{8,256}$/.test(hex)) throw fail(source, `file ${f.path}: bad ${algo} digest ${JSON.stringify(hex)}`);
      insertHash.run(info.lastInsertRowid, algo, hex);
    }
  }
}

export function recordSeal(db: Db, s: SealInput): void {
  if (s.record.seq !== 0 || s.record.action !== 'seal') throw fail('user', 'recordSeal takes the seq-0 seal record');
  ensureCase(db, s.caseId, 'user');
  insertBundleIfNew(db, { digest: s.bundleDigest, name: s.bundleName, path: s.path, caseId: s.caseId }, 'user');
  insertItemsAndFiles(db, s.bundleDigest, s.items, s.files, 'user');
  appendRecord(db, s.bundleDigest, s.record, 'user');
  setState(db, s.bundleDigest, STATE_AFTER[checkContiguous(db, s.bundleDigest)], s.path);
}

export function recordCustodyRecord(db: Db, c: CustodyRecordInput): { added: boolean } {
  assertHex64(c.bundleDigest, 'the bundle digest', 'user');
  const known = db.prepare('SELECT 1 FROM bundles WHERE digest = ?').get(c.bundleDigest);
  if (!known) {
    throw new CustodyError('NOT_FOUND', `bundle ${c.bundleDigest} is not in the ledger`, {
      hint: 'importBundle records a bundle with its whole chain',
    });
  }
  const added = appendRecord(db, c.bundleDigest, c.record, 'user');
  const last = checkContiguous(db, c.bundleDigest);
  setState(db, c.bundleDigest, c.state ?? STATE_AFTER[last], c.path);
  return { added };
}

/** Receive (or any command holding a verified bundle): everything the bundle carries. Idempotent. */
export function importBundle(db: Db, b: ImportInput): { bundleAdded: boolean; recordsAdded: number } {
  if (b.records.length === 0) throw fail('evidence', `bundle ${b.bundleDigest} has no custody records`);
  const extra: { title?: string; authority?: string } = {};
  if (b.caseTitle !== undefined) extra.title = b.caseTitle;
  if (b.caseAuthority !== undefined) extra.authority = b.caseAuthority;
  ensureCase(db, b.caseId, 'evidence', extra);
  const bundleAdded = !db.prepare('SELECT 1 FROM bundles WHERE digest = ?').get(b.bundleDigest);
  insertBundleIfNew(db, { digest: b.bundleDigest, name: b.bundleName, path: b.path, caseId: b.caseId }, 'evidence');
  insertItemsAndFiles(db, b.bundleDigest, b.items, b.files, 'evidence');
  let recordsAdded = 0;
  for (const r of [...b.records].sort((x, y) => x.seq - y.seq)) {
    if (appendRecord(db, b.bundleDigest, r, 'evidence')) recordsAdded++;
  }
  const last = checkContiguous(db, b.bundleDigest);
  setState(db, b.bundleDigest, b.state ?? STATE_AFTER[last], b.path);
  return { bundleAdded, recordsAdded };
}

export function updateBundlePath(db: Db, digest: string, path: string): void {
  assertHex64(digest, 'the bundle digest', 'user');
  const info = db.prepare('UPDATE bundles SET path = ?, updated_at = ? WHERE digest = ?').run(path, new Date().toISOString(), digest);
  if (info.changes === 0) throw new CustodyError('NOT_FOUND', `bundle ${digest} is not in the ledger`);
}
