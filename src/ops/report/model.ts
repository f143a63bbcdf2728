/**
 * What the printable chain-of-custody report shows. Built from a verified
 * (or failed) bundle by report-model builders; rendered by html.ts. Plain data
 * so the renderer is a pure function that tests can feed directly.
 */
export interface ReportParty {
  name: string;
  org?: string;
  role?: string;
  keyid: string;
  fingerprint: string;
}

export interface ReportFile {
  path: string;
  size: number;
  hashes: Record<string, string>;
}

export interface ReportItem {
  id: string;
  description?: string;
  /** Source device, seizure and acquisition facts the examiner gave at sealing (make, serial, seized_at, tool, …). */
  meta: Record<string, string>;
  files: ReportFile[];
  /** A single file or a folder, and the path it was sealed from (as the sealer's machine named it). */
  kind?: 'file' | 'directory' | 'image';
  source?: string;
  /** What the imaging tool recorded in the image itself (an E01's header), flattened to dotted keys. */
  acquisition?: Record<string, string>;
}

/** What a receiver found when it verified the bundle before accepting custody (signed in its receive record). */
export interface ReportVerification {
  verified: boolean;
  trusted: boolean;
  code?: string;
  message?: string;
  tool?: string;
}

export interface ReportRecord {
  seq: number;
  action: string;
  at: string;
  by: ReportParty;
  to?: ReportParty;
  reason?: string;
  authority?: string;
  location?: string;
  condition?: string;
  note?: string;
  signatureOk: boolean;
  /** Why this record did not verify, when it did not. */
  problem?: string;
  /** The receiver's verification result, for a receive record. */
  verification?: ReportVerification;
  /** The UTC offset where the record was made (e.g. "+01:00"), when known; `at` is always UTC. */
  utcOffset?: string;
}

/** One verification check made for this report, as the verdict states it. */
export interface ReportCheck {
  ok: boolean;
  check: string;
  detail: string;
}

export interface ReportModel {
  generatedAt: string;
  toolVersion: string;
  bundle: { name: string; digest: string; file: string; sizeBytes?: number };
  /** `trusted: false` when the sealer's key was accepted with --allow-untrusted; `results` is `checks` unflattened. */
  verdict: { ok: boolean; headline: string; checks: string[]; problem?: string; trusted?: boolean; results?: ReportCheck[] };
  case: { id: string; title?: string; authority?: string };
  sealer: ReportParty;
  sealedAt?: string;
  /** The tool (and its version) that sealed the bundle, and the hash algorithms it recorded. */
  sealTool?: { name: string; version: string };
  algorithms?: string[];
  items: ReportItem[];
  records: ReportRecord[];
}
