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
  /** Source device and acquisition facts (make, model, serial, …). */
  meta: Record<string, string>;
  files: ReportFile[];
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
}

export interface ReportModel {
  generatedAt: string;
  toolVersion: string;
  bundle: { name: string; digest: string; file: string; sizeBytes?: number };
  verdict: { ok: boolean; headline: string; checks: string[]; problem?: string };
  case: { id: string; title?: string; authority?: string };
  sealer: ReportParty;
  sealedAt?: string;
  items: ReportItem[];
  records: ReportRecord[];
}
