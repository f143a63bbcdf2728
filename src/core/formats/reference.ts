/**
 * `--check`: a reference hash list (json, sums or hashdeep, detected from its
 * first bytes) compared with what is on disk now.
 */
import type { Algo } from '../algorithms.js';
import { CustodyError } from '../errors.js';
import { parseHashdeep } from './hashdeep.js';
import { parseJsonReference } from './json.js';
import { parseSums } from './sums.js';

export type { ReferenceEntry } from './result.js';
import type { ReferenceEntry } from './result.js';

export type ReferenceFormat = 'json' | 'sums' | 'hashdeep';

export function detectFormat(text: string): ReferenceFormat {
  const t = text.replace(/^\uFEFF/, '');
  if (t.startsWith('%%%% HASHDEEP-1.0')) return 'hashdeep';
  if (/^\s*\{/.test(t)) return 'json';
  return 'sums';
}

/** `sumsAlgo` decides what a bare 64-hex sums line means (sha256 unless told otherwise). */
export function parseReference(text: string, sumsAlgo?: Algo): { format: ReferenceFormat; entries: ReferenceEntry[] } {
  const format = detectFormat(text);
  const entries =
    format === 'json' ? parseJsonReference(text) : format === 'hashdeep' ? parseHashdeep(text) : parseSums(text, sumsAlgo);
  if (entries.length === 0) throw new CustodyError('USAGE', `check file lists no files (read as ${format})`);
  return { format, entries };
}

export type CheckStatus = 'matched' | 'changed' | 'missing' | 'new';

export interface CheckLine {
  path: string;
  status: CheckStatus;
  /** For changed: what differs (size or algorithm), expected and actual. */
  differences?: { what: string; expected: string; actual: string }[];
}

export interface CheckSummary {
  matched: number;
  changed: number;
  missing: number;
  new: number;
}

export function compareDigests(ref: ReferenceEntry, actual: { size: number; digests: Partial<Record<Algo, string>> }): CheckLine['differences'] {
  const diffs: NonNullable<CheckLine['differences']> = [];
  if (ref.size !== undefined && ref.size !== actual.size) {
    diffs.push({ what: 'size', expected: String(ref.size), actual: String(actual.size) });
  }
  for (const [algo, hex] of Object.entries(ref.digests) as [Algo, string][]) {
    const got = actual.digests[algo];
    if (got !== hex) diffs.push({ what: algo, expected: hex, actual: got ?? '(not computed)' });
  }
  return diffs;
}

export function summarize(lines: CheckLine[]): CheckSummary {
  const s: CheckSummary = { matched: 0, changed: 0, missing: 0, new: 0 };
  for (const l of lines) s[l.status]++;
  return s;
}
