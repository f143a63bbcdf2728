/**
 * The examiner's own SQLite ledger (<home>/ledger.db) behind the async
 * LedgerStore interface: better-sqlite3 stays synchronous underneath, each
 * call resolves at once, and every write keeps its one IMMEDIATE transaction.
 */
import { openLedger, type Ledger } from './index.js';
import type { LedgerStore } from './store.js';
import type { CaseInput, CustodyRecordInput, ImportInput, SealInput, TrustedKeyInput } from './types.js';

export class SqliteLedgerStore implements LedgerStore {
  readonly shared = false;
  readonly #l: Ledger;
  constructor(ledger: Ledger) {
    this.#l = ledger;
  }
  get name(): string {
    return this.#l.file;
  }
  /** The synchronous ledger underneath. */
  get ledger(): Ledger {
    return this.#l;
  }
  async close(): Promise<void> {
    this.#l.close();
  }
  async addTrustedKey(k: TrustedKeyInput) {
    return this.#l.addTrustedKey(k);
  }
  async listTrustedKeys() {
    return this.#l.listTrustedKeys();
  }
  async trustStore() {
    return this.#l.trustStore();
  }
  async removeTrustedKey(ref: string) {
    return this.#l.removeTrustedKey(ref);
  }
  async trustedPublicKeys() {
    return this.#l.trustedPublicKeys();
  }
  async trustEvents() {
    return this.#l.trustEvents();
  }
  async createCase(c: CaseInput) {
    return this.#l.createCase(c);
  }
  async ensureCase(id: string) {
    return this.#l.ensureCase(id);
  }
  async getCase(id: string) {
    return this.#l.getCase(id);
  }
  async listCases() {
    return this.#l.listCases();
  }
  async recordSeal(s: SealInput) {
    this.#l.recordSeal(s);
  }
  async recordCustodyRecord(c: CustodyRecordInput) {
    return this.#l.recordCustodyRecord(c);
  }
  async importBundle(b: ImportInput) {
    return this.#l.importBundle(b);
  }
  async updateBundlePath(digest: string, path: string) {
    this.#l.updateBundlePath(digest, path);
  }
  async records(filter: { bundleDigest?: string; caseId?: string } = {}) {
    return this.#l.records(filter);
  }
  async bundles(filter: { caseId?: string } = {}) {
    return this.#l.bundles(filter);
  }
  async getBundle(digest: string) {
    return this.#l.getBundle(digest);
  }
  async items(bundleDigest: string) {
    return this.#l.items(bundleDigest);
  }
  async files(bundleDigest: string) {
    return this.#l.files(bundleDigest);
  }
  async findFilesByHash(hex: string) {
    return this.#l.findFilesByHash(hex);
  }
  async allRows() {
    return this.#l.allRows();
  }
}

/** Opens <home>/ledger.db (creating the home and the schema when needed) as a LedgerStore. */
export async function openSqliteStore(home: string): Promise<SqliteLedgerStore> {
  return new SqliteLedgerStore(openLedger(home));
}
