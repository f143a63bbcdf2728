/**
 * Plain-data shapes going in and out of the ledger, so that callers never
 * need to know SQL. Byte fields are Uint8Array; hex fields lowercase.
 */

export type BundleState = 'sealed' | 'in transit' | 'received';
export type RecordAction = 'seal' | 'transfer' | 'receive';

export interface TrustedKeyInput {
  publicKey: Uint8Array; // raw 32-byte Ed25519 key
  fingerprint: string; // 64 hex: SHA-256 of publicKey (checked)
  keyid: string; // first 16 hex of the fingerprint (checked)
  name: string;
  org?: string;
  role?: string;
  /** The `--name` given to `trust add`, if any. */
  label?: string;
}

export interface TrustedKey extends TrustedKeyInput {
  addedAt: string;
}

/** A trust-store row that does not hold together (fingerprint, key id or key): shown, never trusted. */
export interface DamagedTrustedKey {
  /** as stored (not to be believed) */
  fingerprint: string;
  keyid: string;
  name: string;
  addedAt: string;
  /** why it is not trusted */
  problem: string;
}

export interface TrustEvent {
  event: 'add' | 'remove';
  fingerprint: string;
  publicKey: Uint8Array;
  name: string;
  label?: string;
  at: string;
}

export interface CaseInput {
  id: string;
  title: string;
  authority?: string;
}

export interface CaseRow {
  id: string;
  /** Absent when seal or receive created the case without a title. */
  title?: string;
  authority?: string;
  createdAt: string;
  /** How many bundles of this case the ledger knows. */
  bundles: number;
}

export interface ItemInput {
  id: string;
  description?: string;
  /** Anything else about the item (source device, acquisition, --meta): stored as JSON. */
  details?: Record<string, unknown>;
}

export interface FileInput {
  itemId: string;
  /** The path inside the bag, e.g. `data/disk01/image.dd`. */
  path: string;
  size: number;
  /** algorithm name → lowercase hex digest, e.g. {sha256: '…'}. */
  hashes: Record<string, string>;
  pieceCount?: number;
  merkleRoot?: string;
}

export interface RecordInput {
  seq: number;
  action: RecordAction;
  /** The in-toto statement bytes exactly as signed. */
  payload: Uint8Array;
  /** The DSSE envelope bytes exactly as stored in the bundle. */
  envelope: Uint8Array;
  signerKeyid: string;
  /** The record's `predicate.at` (ISO 8601 UTC). */
  at: string;
}

export interface SealInput {
  bundleDigest: string;
  bundleName: string;
  /** Where the bundle was written (absolute path). */
  path: string;
  caseId: string;
  items: ItemInput[];
  /** Iterated once (a seal of 1,000,000 files streams them from disk). */
  files: Iterable<FileInput>;
  /** The seq-0 seal record. */
  record: RecordInput;
}

export interface CustodyRecordInput {
  bundleDigest: string;
  /** The bundle's path on this machine, when known; updates the last known path. */
  path?: string;
  /** Defaults to what the record's action implies (transfer → in transit, receive → received). */
  state?: BundleState;
  record: RecordInput;
}

export interface ImportInput {
  bundleDigest: string;
  bundleName: string;
  path?: string;
  caseId: string;
  /** Used only when the case is new to this ledger. */
  caseTitle?: string;
  caseAuthority?: string;
  items: ItemInput[];
  files: FileInput[];
  /** Every record of the bundle's chain (seq 0 first, or in any order). */
  records: RecordInput[];
  /** Defaults to what the last record's action implies. */
  state?: BundleState;
}

export interface BundleRow {
  digest: string;
  name: string;
  path?: string;
  state: BundleState;
  caseId: string;
  createdAt: string;
  updatedAt: string;
  records: number;
}

export interface StoredRecord extends RecordInput {
  bundleDigest: string;
  bundleName: string;
  caseId: string;
  payloadSha256: string;
  storedAt: string;
}

export interface StoredFile extends FileInput {
  bundleDigest: string;
  caseId: string;
}

export interface StoredItem {
  bundleDigest: string;
  id: string;
  description?: string;
  details?: Record<string, unknown>;
}
