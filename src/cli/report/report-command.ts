/**
 * `custody report` after its flags are parsed (loaded on use: the verifier
 * pulls in hashing, tar and crypto code that --help does not need). The use
 * case is ops/report.ts; this renders its verdict as the HTML form and as
 * CASE/UCO JSON-LD.
 */
import { CustodyError } from '../../core/errors.js';
import type { BundleVerdict } from '../../bundle/verify.js';
import { openBundleInput } from '../../ops/bundle-input.js';
import { checkReportOutputs, writeReport, type ReportContext, type ReportOutput } from '../../ops/report.js';
import { assertTrustFlags } from '../../ops/verify.js';
import { loadAgeIdentities } from '../age-keys.js';
import type { CliContext } from '../context.js';
import { outcome, type Outcome } from '../outcome.js';
import { progressFor } from '../progress.js';
import { verdictJson } from '../render/verdict.js';
import { trustFor } from '../trust-input.js';
import { ledgerFor } from '../ledger-input.js';
import { buildReportModel } from '../../ops/report/build-model.js';
import { buildCaseJsonLd } from './case-jsonld.js';
import { renderReportHtml } from './html.js';
import { parseLangs, type Lang } from './i18n/index.js';

export interface ReportOptions {
  html?: string;
  /** The same facts as CASE/UCO 1.4 JSON-LD. */
  caseJsonld?: string;
  /** `fr`, or two codes for a bilingual form (`en,fr`). */
  lang?: string;
  files?: 'all' | 'none';
  trust: string[];
  allowUntrusted?: boolean;
  strictTrust?: boolean;
  receipt: string[];
  force?: boolean;
  key?: string;
  passphraseFile?: string;
}

/** The HTML form of a verdict. */
export function renderReport(verdict: BundleVerdict, c: ReportContext, form: { langs?: Lang[]; files?: 'all' | 'none' } = {}): string {
  return renderReportHtml(buildReportModel(verdict, c), { langs: form.langs ?? parseLangs(undefined), files: form.files ?? 'all' });
}

/** The CASE/UCO 1.4 JSON-LD of a verdict. */
export function renderCaseJsonLd(verdict: BundleVerdict, c: ReportContext): string {
  return `${JSON.stringify(buildCaseJsonLd(buildReportModel(verdict, c)), null, 1)}\n`;
}

export async function reportCommand(ctx: CliContext, bundle: string, o: ReportOptions): Promise<Outcome> {
  const langs = parseLangs(o.lang);
  if (o.html === undefined && o.caseJsonld === undefined) {
    throw new CustodyError('USAGE', 'report needs --html <out.html>, --case-jsonld <out.jsonld>, or both');
  }
  assertTrustFlags(o);
  const outputs: (ReportOutput & { kind: 'html' | 'jsonld' })[] = [];
  if (o.html !== undefined) outputs.push({ kind: 'html', out: o.html, render: (v, c) => renderReport(v, c, { langs, files: o.files ?? 'all' }) });
  if (o.caseJsonld !== undefined) outputs.push({ kind: 'jsonld', out: o.caseJsonld, render: renderCaseJsonLd });
  checkReportOutputs(outputs.map((x) => x.out), o.force === true);
  const input = await openBundleInput(bundle, { ageKeys: () => loadAgeIdentities(ctx, o) });
  const { files, verdict } = await writeReport({
    input,
    bundleFile: bundle,
    outputs,
    force: o.force === true,
    ...trustFor(ctx, o.trust),
    ledger: ledgerFor(ctx),
    allowUntrusted: o.allowUntrusted === true,
    strictTrust: o.strictTrust === true,
    receipts: o.receipt,
    progress: progressFor(ctx),
  });
  const file = files[outputs.findIndex((x) => x.kind === 'html')];
  const jsonld = files[outputs.findIndex((x) => x.kind === 'jsonld')];
  const c = ctx.chalk;
  const head = verdict.ok ? c.green.bold('VERIFIED') : c.red.bold('NOT VERIFIED');
  const lines = [
    ...(file ? [`wrote ${file}`] : []),
    ...(jsonld ? [`wrote ${jsonld} (CASE/UCO 1.4 JSON-LD)`] : []),
    `  verdict       ${head}`,
    ...(verdict.bundleDigest ? [`  bundle digest ${verdict.bundleDigest}`] : []),
    ...(verdict.caseId ? [`  case          ${verdict.caseId}`] : []),
    `  records       ${verdict.chain?.records.length ?? 0}`,
  ];
  const res = outcome({ report: file, ...(jsonld ? { caseJsonld: jsonld } : {}), verified: verdict.ok, bundleDigest: verdict.bundleDigest, verdict: verdictJson(verdict) }, lines);
  if (verdict.error) res.error = verdict.error;
  return res;
}
