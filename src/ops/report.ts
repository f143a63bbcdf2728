/**
 * The report use case: verify the bundle in full, then write the report
 * atomically — also when the bundle does not verify (whoever reads the form
 * must see the failure; the caller turns it into exit 1). How the report
 * looks is the caller's `render` (the CLI's HTML form).
 */
import fs from 'node:fs';
import path from 'node:path';
import { assertCanCreate, writeFileAtomically } from '../bundle/atomic-output.js';
import type { BundleVerdict } from '../bundle/verify.js';
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

export interface ReportRequest extends TrustRequest {
  input: BundleInput;
  /** The bundle's file name as given (shown in the report). */
  bundleFile: string;
  out: string;
  force?: boolean;
  render: (verdict: BundleVerdict, context: ReportContext) => string;
  progress?: ProgressFactory;
  now?: Date;
}

export interface ReportResult {
  file: string;
  verdict: BundleVerdict;
}

/** Refuses an existing output before the (possibly long) verification; writeReport refuses again at the rename. */
export function checkReportOutput(out: string, force: boolean): string {
  const file = path.resolve(out);
  assertCanCreate(file, force);
  return file;
}

export async function writeReport(req: ReportRequest): Promise<ReportResult> {
  const file = checkReportOutput(req.out, req.force === true);
  const verdict = await verifyInput({ ...req, label: 'report' });
  const html = req.render(verdict, {
    file: path.basename(req.bundleFile),
    ...(req.input.size === undefined ? {} : { sizeBytes: req.input.size }),
    generatedAt: (req.now ?? new Date()).toISOString(),
    toolVersion: VERSION,
  });
  const bytes = Buffer.from(html, 'utf8');
  await writeFileAtomically(file, req.force === true, async (fd) => {
    for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off);
  });
  return { file, verdict };
}
