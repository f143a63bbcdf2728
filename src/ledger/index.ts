/**
 * The ledger (DESIGN §5): <home>/ledger.db through better-sqlite3. The only
 * module that touches SQLite. Every writing method runs in one IMMEDIATE
 * transaction (the write lock is taken up front, so two processes queue on
 * the busy timeout instead of failing on a lock upgrade), and every failure
 * surfaces as a CustodyError naming the ledger file.
 *
 * The ledger is a convenience and an audit trail; a bundle always verifies on its own.
 */
import * as cases from './cases.js';
import * as read from './bundle-read.js';
import * as write from './bundle-write.js';
import { ledgerError, openDatabase, type Db } from './open.js';
import * as trust from './trust-store.js';
import { allRows } from './all-rows.js';
import type { LedgerRows } from './store.js';
import type {
  BundleRow,
  CaseInput,
  CaseRow,
  CustodyRecordInput,
  DamagedTrustedKey,
  ImportInput,
  SealInput,
  StoredFile,
  StoredItem,
  StoredRecord,
  TrustedKey,
  TrustedKeyInput,
  TrustEvent,
} from './types.js';

export type * from './types.js';
export type * from './store.js';
export { assertCaseId, isValidCaseId, CASE_ID_PATTERN } from './validate.js';
export { SCHEMA_VERSION } from './schema.js';
export { BUSY_TIMEOUT_MS } from './open.js';
export { checkStoredChain, type StoredChainCheck, type StoredChainKeys } from './stored-chain.js';

export class Ledger {
  readonly #db: Db;
  /** Absolute path of ledger.db. */
  readonly file: string;

  constructor(db: Db, file: string) {
    this.#db = db;
    this.file = file;
  }

  /** A read: errors become CustodyErrors about the ledger file. */
  #read<T>(fn: (db: Db) => T): T {
    try {
      return fn(this.#db);
    } catch (e) {
      throw ledgerError(e, this.file);
    }
  }

  /** A write: all of fn's rows commit together or not at all. */
  #write<T>(fn: (db: Db) => T): T {
    try {
      return this.#db.transaction(() => fn(this.#db)).immediate();
    } catch (e) {
      throw ledgerError(e, this.file);
    }
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  // --- trust store ---
  addTrustedKey(k: TrustedKeyInput): { added: boolean } {
    return this.#write((db) => trust.addTrustedKey(db, k));
  }
  /** The sound trusted keys; a row whose fingerprint, key id or key does not hold together is left out. */
  listTrustedKeys(): TrustedKey[] {
    return this.#read((db) => trust.listTrustedKeys(db));
  }
  /** Every row: the sound keys, and the damaged rows with the reason each is not trusted. */
  trustStore(): { keys: TrustedKey[]; damaged: DamagedTrustedKey[] } {
    return this.#read((db) => trust.readTrustStore(db));
  }
  /** undefined when nothing matches; an ambiguous or too short prefix is a USAGE error. */
  removeTrustedKey(fingerprintOrPrefix: string): TrustedKey | undefined {
    return this.#write((db) => trust.removeTrustedKey(db, fingerprintOrPrefix));
  }
  trustedPublicKeys(): Uint8Array[] {
    return this.#read((db) => trust.trustedPublicKeys(db));
  }
  /** Every add and remove ever made, oldest first (append-only). */
  trustEvents(): TrustEvent[] {
    return this.#read((db) => trust.trustEvents(db));
  }

  // --- cases ---
  /** {created: false} when the id exists (the CLI turns that into EXISTS). */
  createCase(c: CaseInput): { created: boolean } {
    return this.#write((db) => cases.createCase(db, c));
  }
  ensureCase(id: string): { created: boolean } {
    return this.#write((db) => cases.ensureCase(db, id));
  }
  getCase(id: string): CaseRow | undefined {
    return this.#read((db) => cases.getCase(db, id));
  }
  listCases(): CaseRow[] {
    return this.#read((db) => cases.listCases(db));
  }

  // --- bundles and records ---
  /** seal: the case (created if new), items, files with hashes, the bundle and its seal record. */
  recordSeal(s: SealInput): void {
    this.#write((db) => write.recordSeal(db, s));
  }
  /** transfer/receive on a bundle the ledger knows: appends the record, moves the state. */
  recordCustodyRecord(c: CustodyRecordInput): { added: boolean } {
    return this.#write((db) => write.recordCustodyRecord(db, c));
  }
  /** receive (or a transfer of a bundle this ledger has not seen): everything the bundle carries. Idempotent. */
  importBundle(b: ImportInput): { bundleAdded: boolean; recordsAdded: number } {
    return this.#write((db) => write.importBundle(db, b));
  }
  updateBundlePath(digest: string, path: string): void {
    this.#write((db) => write.updateBundlePath(db, digest, path));
  }
  records(filter: { bundleDigest?: string; caseId?: string } = {}): StoredRecord[] {
    return this.#read((db) => read.records(db, filter));
  }
  bundles(filter: { caseId?: string } = {}): BundleRow[] {
    return this.#read((db) => read.bundles(db, filter));
  }
  getBundle(digest: string): BundleRow | undefined {
    return this.#read((db) => read.getBundle(db, digest));
  }
  items(bundleDigest: string): StoredItem[] {
    return this.#read((db) => read.items(db, bundleDigest));
  }
  files(bundleDigest: string): StoredFile[] {
    return this.#read((db) => read.files(db, bundleDigest));
  }
  findFilesByHash(hex: string): StoredFile[] {
    return this.#read((db) => read.findFilesByHash(db, hex));
  }
  /** Every row, table by table, in one read transaction (a consistent snapshot for ledger copy). */
  allRows(): LedgerRows {
    return this.#read((db) => db.transaction(() => allRows(db))());
  }
}

/** Opens <home>/ledger.db, creating <home> (0700) and the schema if needed. Close it when done. */
export function openLedger(home: string): Ledger {
  const { db, file } = openDatabase(home);
  return new Ledger(db, file);
}

/** Opens the ledger, runs fn (sync or async), and closes the ledger when fn is done, whatever happens. */
export function withLedger<T>(home: string, fn: (ledger: Ledger) => T): T {
  const ledger = openLedger(home);
  let result: T;
  try {
    result = fn(ledger);
  } catch (e) {
    ledger.close();
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => ledger.close()) as T;
  ledger.close();
  return result;
}
