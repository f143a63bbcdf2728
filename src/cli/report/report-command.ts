/**
 * `custody report` after its flags are parsed (loaded on use: the verifier
 * pulls in hashing, tar and crypto code that --help does not need). The use
 * case is ops/report.ts; this renders its model as the HTML form.
 */
import type { BundleVerdict } from '../../bundle/verify.js';
import { openBundleInput } from '../../ops/bundle-input.js';
import { checkReportOutput, writeReport, type ReportContext } from '../../ops/report.js';
import { assertTrustFlags } from '../../ops/verify.js';
import type { CliContext } from '../context.js';
import { outcome, type Outcome } from '../outcome.js';
import { progressFor } from '../progress.js';
import { verdictJson } from '../render/verdict.js';
import { trustedKeys } from '../trust-input.js';
import { buildReportModel } from './build-model.js';
import { renderReportHtml } from './html.js';

export interface ReportOptions {
  html: string;
  trust: string[];
  allowUntrusted?: boolean;
  strictTrust?: boolean;
  receipt: string[];
  force?: boolean;
}

/** The HTML form of a verdict. */
export function renderReport(verdict: BundleVerdict, c: ReportContext): string {
  return renderReportHtml(buildReportModel(verdict, c));
}

export async function reportCommand(ctx: CliContext, bundle: string, o: ReportOptions): Promise<Outcome> {
  assertTrustFlags(o);
  checkReportOutput(o.html, o.force === true);
  const input = await openBundleInput(bundle);
  const { file, verdict } = await writeReport({
    input,
    bundleFile: bundle,
    out: o.html,
    force: o.force === true,
    render: renderReport,
    trusted: trustedKeys(ctx, o.trust),
    allowUntrusted: o.allowUntrusted === true,
    strictTrust: o.strictTrust === true,
    receipts: o.receipt,
    progress: progressFor(ctx),
  });
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
