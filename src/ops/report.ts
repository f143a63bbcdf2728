/**
 * The report use case: verify the bundle in full, then write the report's
 * outputs atomically — also when the bundle does not verify (whoever reads
 * the form must see the failure; the caller turns it into exit 1). What each
 * output looks like is the caller's `render` (the CLI's HTML form, its
 * CASE/UCO JSON-LD). Every output is rendered before any is written: a
 * failure while rendering leaves nothing behind.
 */
import path from 'node:path';
import { assertCanCreate } from '../bundle/atomic-output.js';
import { writeFilesAtomically } from '../bundle/atomic-outputs.js';
import type { BundleVerdict } from '../bundle/verify.js';
import { CustodyError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import type { BundleInput } from './bundle-input.js';
import type { ProgressFactory } from './progress.js';
import { verifyInput, type TrustRequest } from './verify.js';

/** What a renderer knows besides the verdict. */
export interface ReportContext {
  file: string;
  sizeBytes?: number;
  generatedAt: string;
  toolVersion: string;
}

export interface ReportOutput {
  out: string;
  render: (verdict: BundleVerdict, context: ReportContext) => string;
}

export interface ReportRequest extends TrustRequest {
  input: BundleInput;
  /** The bundle's file name as given (shown in the report). */
  bundleFile: string;
  outputs: ReportOutput[];
  force?: boolean;
  progress?: ProgressFactory;
  now?: Date;
}

export interface ReportResult {
  /** The files written, in the order of `outputs`. */
  files: string[];
  verdict: BundleVerdict;
}

/** Refuses an existing output (or two outputs on one file) before the (possibly long) verification; the rename refuses again. */
export function checkReportOutputs(outs: string[], force: boolean): string[] {
  const files = outs.map((o) => path.resolve(o));
  if (new Set(files).size !== files.length) throw new CustodyError('USAGE', 'two report outputs name the same file');
  for (const f of files) assertCanCreate(f, force);
  return files;
}

export async function writeReport(req: ReportRequest): Promise<ReportResult> {
  const files = checkReportOutputs(req.outputs.map((o) => o.out), req.force === true);
  const verdict = await verifyInput({ ...req, label: 'report' });
  const context: ReportContext = {
    file: path.basename(req.bundleFile),
    ...(req.input.size === undefined ? {} : { sizeBytes: req.input.size }),
    generatedAt: (req.now ?? new Date()).toISOString(),
    toolVersion: VERSION,
  };
  const rendered = req.outputs.map((o) => Buffer.from(o.render(verdict, context), 'utf8'));
  // All or none: an interrupted or failed run never leaves the form without the JSON-LD asked with it.
  writeFilesAtomically(files.map((file, i) => ({ file, bytes: rendered[i]! })), req.force === true);
  return { files, verdict };
}
