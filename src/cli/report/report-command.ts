/**
 * The work of `custody report`: verify, build the model, write the HTML
 * atomically. Also used by `custody demo`. A failed verification is written
 * too (the reader must see it) and returned as the outcome's error (exit 1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { assertCanCreate, writeFileAtomically } from '../../bundle/atomic-output.js';
import type { BundleVerdict } from '../../bundle/verify.js';
import { openBundleSource, runVerify, verdictJson } from '../commands/verify.js';
import { loadAgeIdentities } from '../age-keys.js';
import type { ReportOptions } from '../commands/report.js';
import type { CliContext } from '../context.js';
import { VERSION } from '../main.js';
import { outcome, type Outcome } from '../outcome.js';
import { buildReportModel } from './build-model.js';
import { renderReportHtml } from './html.js';

export interface ReportWritten {
  file: string;
  verdict: BundleVerdict;
}

/** Verifies `bundle` and writes its report to `o.html`; never throws for a bundle that does not verify. */
export async function writeReport(ctx: CliContext, bundle: string, o: ReportOptions, now: Date = new Date()): Promise<ReportWritten> {
  const out = path.resolve(o.html);
  // Refuse before the (possibly long) verification, and again at the rename.
  assertCanCreate(out, o.force === true);
  const src = await openBundleSource(bundle, () => loadAgeIdentities(ctx, o));
  const verdict = await runVerify(ctx, src, { trust: o.trust, receipt: o.receipt, allowUntrusted: o.allowUntrusted === true, strictTrust: o.strictTrust === true }, undefined, 'report');
  const model = buildReportModel(verdict, {
    file: path.basename(bundle),
    ...(src.size === undefined ? {} : { sizeBytes: src.size }),
    generatedAt: now.toISOString(),
    toolVersion: VERSION,
  });
  const bytes = Buffer.from(renderReportHtml(model), 'utf8');
  await writeFileAtomically(out, o.force === true, async (fd) => {
    for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off);
  });
  return { file: out, verdict };
}

export async function reportCommand(ctx: CliContext, bundle: string, o: ReportOptions): Promise<Outcome> {
  const { file, verdict } = await writeReport(ctx, bundle, o);
  const c = ctx.chalk;
  const head = verdict.ok ? c.green.bold('VERIFIED') : c.red.bold('NOT VERIFIED');
  const lines = [
    `wrote ${file}`,
    `  verdict       ${head}`,
    ...(verdict.bundleDigest ? [`  bundle digest ${verdict.bundleDigest}`] : []),
    ...(verdict.caseId ? [`  case          ${verdict.caseId}`] : []),
    `  records       ${verdict.chain?.records.length ?? 0}`,
  ];
  const res = outcome({ report: file, verified: verdict.ok, bundleDigest: verdict.bundleDigest, verdict: verdictJson(verdict) }, lines);
  if (verdict.error) res.error = verdict.error;
  return res;
}
