/**
 * How an EWF image's own account (stored hashes, acquisition facts, media
 * geometry) is shown to people and written to JSON. One place, so `hash`,
 * `seal` and the report say the same thing in the same words.
 */
import { geometryOf } from './geometry.js';
import type { EwfSummary } from './hash-ewf.js';

const LABELS: [keyof EwfSummary['acquisition'], string][] = [
  ['caseNumber', 'case number'],
  ['evidenceNumber', 'evidence number'],
  ['examiner', 'examiner'],
  ['description', 'description'],
  ['notes', 'notes'],
  ['acquisitionDate', 'acquired'],
  ['systemDate', 'system date'],
  ['softwareVersion', 'software version'],
  ['os', 'acquired on'],
  ['model', 'model'],
  ['serialNumber', 'serial number'],
  ['deviceLabel', 'device label'],
];

function visible(s: string): string {
  return /[\u0000-\u001f\u007f]/.test(s) ? JSON.stringify(s) : s;
}

/** "stored MD5 matches", "stored SHA-1 DOES NOT MATCH (stored …)", one line per stored hash. */
export function storedHashLines(s: EwfSummary): string[] {
  const lines: string[] = [];
  for (const [key, name] of [
    ['md5', 'MD5'],
    ['sha1', 'SHA-1'],
  ] as const) {
    const stored = s.stored[key];
    if (!stored) continue;
    const m = s.matches[key];
    lines.push(m === true ? `stored ${name} matches` : m === false ? `stored ${name} DOES NOT MATCH: the image says ${stored}` : `stored ${name} ${stored} (not checked)`);
  }
  if (lines.length === 0) lines.push('the image stores no MD5 or SHA-1 to compare');
  return lines;
}

/** The indented block `custody hash` prints under an EWF image's media hashes. */
export function describeImage(s: EwfSummary, indent = '  '): string[] {
  const out = storedHashLines(s).map((l) => indent + l);
  out.push(`${indent}media: ${s.mediaSize} bytes (${s.sectorCount} sectors × ${s.bytesPerSector} bytes${s.tailBytes > 0 ? ` + ${s.tailBytes} bytes of a partial last sector` : ''}), in ${s.segments.length} segment${s.segments.length === 1 ? '' : 's'}`);
  out.push(`${indent}chunks: ${s.chunkCount} × ${s.chunkSize} bytes (${s.sectorsPerChunk} sectors), compression ${s.compression ?? 'unknown'}`);
  if (s.readErrors.length > 0) {
    const n = s.readErrors.reduce((t, e) => t + e.sectors, 0);
    out.push(`${indent}acquisition read errors: ${n} sectors in ${s.readErrors.length} ranges were unreadable and are zeros in the image`);
  }
  const a = s.acquisition;
  const rows = LABELS.filter(([k]) => a[k] !== undefined);
  if (rows.length > 0) {
    out.push(`${indent}acquisition (as recorded in the image):`);
    const width = Math.max(...rows.map(([, l]) => l.length));
    for (const [k, label] of rows) out.push(`${indent}  ${label.padEnd(width)}  ${visible(a[k]!)}`);
  }
  return out;
}

/** The JSON form (`image` of a hashed file; `acquisition` block of a sealed item). */
export function imageJson(s: EwfSummary): Record<string, unknown> {
  return {
    format: s.format,
    segments: s.segments,
    mediaSize: s.mediaSize,
    ...geometryOf(s),
    stored: s.stored,
    matches: s.matches,
    acquisition: acquisitionJson(s.acquisition),
    readErrors: s.readErrors,
  };
}

/**
 * The names the image's own dates take in `--json` documents, where every
 * time field but a record's `at` ends in `At`. Their values stay as the image
 * recorded them (local time, often without a zone); custody/manifest.json
 * keeps the image's own names.
 */
const ACQUISITION_JSON_NAMES: Record<string, string> = { acquisitionDate: 'acquiredAt', systemDate: 'systemClockAt' };

export function acquisitionJson(a: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [ACQUISITION_JSON_NAMES[k] ?? k, v]));
}
