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
import type { ReportOptions } from '../commands/report.js';
import type { CliContext } from '../context.js';
import { VERSION } from '../main.js';
import { outcome, type Outcome } from '../outcome.js';
import { buildReportModel } from './build-model.js';
import { CustodyError } from '../../core/errors.js';
import { buildCaseJsonLd } from './case-jsonld.js';
import { renderReportHtml } from './html.js';
import { parseLangs } from './i18n/index.js';

export interface ReportWritten {
  /** The HTML form, when --html was given. */
  file?: string;
  /** The CASE/UCO JSON-LD, when --case-jsonld was given. */
  jsonld?: string;
  verdict: BundleVerdict;
}

async function writeAtomically(out: string, force: boolean, bytes: Buffer): Promise<void> {
  await writeFileAtomically(out, force, async (fd) => {
    for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off);
  });
}

/** Verifies `bundle` and writes its report to `o.html` and/or `o.caseJsonld`; never throws for a bundle that does not verify. */
export async function writeReport(ctx: CliContext, bundle: string, o: ReportOptions, now: Date = new Date()): Promise<ReportWritten> {
  const langs = parseLangs(o.lang);
  if (o.html === undefined && o.caseJsonld === undefined) {
    throw new CustodyError('USAGE', 'report needs --html <out.html>, --case-jsonld <out.jsonld>, or both');
  }
  const out = o.html === undefined ? undefined : path.resolve(o.html);
  const jsonOut = o.caseJsonld === undefined ? undefined : path.resolve(o.caseJsonld);
  if (out !== undefined && out === jsonOut) throw new CustodyError('USAGE', '--html and --case-jsonld name the same file');
  // Refuse before the (possibly long) verification, and again at the rename.
  for (const f of [out, jsonOut]) if (f !== undefined) assertCanCreate(f, o.force === true);
  const src = await openBundleSource(bundle);
  const verdict = await runVerify(ctx, src, { trust: o.trust, receipt: o.receipt, allowUntrusted: o.allowUntrusted === true, strictTrust: o.strictTrust === true }, undefined, 'report');
  const model = buildReportModel(verdict, {
    file: path.basename(bundle),
    ...(src.size === undefined ? {} : { sizeBytes: src.size }),
    generatedAt: now.toISOString(),
    toolVersion: VERSION,
  });
  // Both outputs are rendered before either is written: a failure while rendering leaves nothing behind.
  const html = out === undefined ? undefined : Buffer.from(renderReportHtml(model, { langs, files: o.files ?? 'all' }), 'utf8');
  const jsonld = jsonOut === undefined ? undefined : Buffer.from(`${JSON.stringify(buildCaseJsonLd(model), null, 1)}\n`, 'utf8');
  const written: ReportWritten = { verdict };
  if (out !== undefined && html) {
    await writeAtomically(out, o.force === true, html);
    written.file = out;
  }
  if (jsonOut !== undefined && jsonld) {
    await writeAtomically(jsonOut, o.force === true, jsonld);
    written.jsonld = jsonOut;
  }
  return written;
}

export async function reportCommand(ctx: CliContext, bundle: string, o: ReportOptions): Promise<Outcome> {
  const { file, jsonld, verdict } = await writeReport(ctx, bundle, o);
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
