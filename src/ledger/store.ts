/**
 * One ledger, two engines: the interface the use cases call, whichever
 * database holds the ledger — the examiner's own SQLite file (the default)
 * or a lab's shared PostgreSQL. Every method is async so that a network
 * database fits behind it; the SQLite engine stays synchronous underneath.
 *
 * Threat: two engines drifting apart, so that a rule (append-only records,
 * one record per bundle digest and seq, a fork refused) holds on one and not
 * on the other. Both implement this one interface, the same tests run on
 * both, and each enforces the rules inside its database.
 */
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

/** Every row of a ledger, table by table, as stored: what `custody ledger copy` moves. */
export interface LedgerRows {
  cases: { id: string; title: string | null; authority: string | null; created_at: string }[];
  bundles: { digest: string; name: string; path: string | null; state: string; case_id: string; created_at: string; updated_at: string }[];
  items: { bundle_digest: string; item_id: string; description: string | null; details: string | null }[];
  /** files with their hashes folded in (the file id is each database's own). */
  files: { bundle_digest: string; item_id: string; path: string; size: number; piece_count: number | null; merkle_root: string | null; hashes: { algo: string; hex: string }[] }[];
  records: { bundle_digest: string; seq: number; action: string; signer_keyid: string; at: string; payload: Uint8Array; envelope: Uint8Array; payload_sha256: string; stored_at: string }[];
  trusted_keys: { fingerprint: string; keyid: string; public_key: Uint8Array; name: string; org: string | null; role: string | null; label: string | null; added_at: string }[];
  trust_events: { event: string; fingerprint: string; public_key: Uint8Array; name: string; label: string | null; at: string }[];
}

export interface LedgerStore {
  /** What to call this ledger in a message: the file, or the server and database (never a password). */
  readonly name: string;
  /** Whether the ledger is shared by many examiners (PostgreSQL) rather than this home's own file. */
  readonly shared: boolean;
  close(): Promise<void>;

  addTrustedKey(k: TrustedKeyInput): Promise<{ added: boolean }>;
  listTrustedKeys(): Promise<TrustedKey[]>;
  trustStore(): Promise<{ keys: TrustedKey[]; damaged: DamagedTrustedKey[] }>;
  removeTrustedKey(fingerprintOrPrefix: string): Promise<TrustedKey | undefined>;
  trustedPublicKeys(): Promise<Uint8Array[]>;
  trustEvents(): Promise<TrustEvent[]>;

  createCase(c: CaseInput): Promise<{ created: boolean }>;
  ensureCase(id: string): Promise<{ created: boolean }>;
  getCase(id: string): Promise<CaseRow | undefined>;
  listCases(): Promise<CaseRow[]>;

  recordSeal(s: SealInput): Promise<void>;
  recordCustodyRecord(c: CustodyRecordInput): Promise<{ added: boolean }>;
  importBundle(b: ImportInput): Promise<{ bundleAdded: boolean; recordsAdded: number }>;
  updateBundlePath(digest: string, path: string): Promise<void>;
  records(filter?: { bundleDigest?: string; caseId?: string }): Promise<StoredRecord[]>;
  bundles(filter?: { caseId?: string }): Promise<BundleRow[]>;
  getBundle(digest: string): Promise<BundleRow | undefined>;
  items(bundleDigest: string): Promise<StoredItem[]>;
  files(bundleDigest: string): Promise<StoredFile[]>;
  findFilesByHash(hex: string): Promise<StoredFile[]>;

  /** Every row, table by table (for ledger copy and its check). */
  allRows(): Promise<LedgerRows>;
}

export type { BundleRow, CaseRow, StoredFile, StoredItem, StoredRecord };
