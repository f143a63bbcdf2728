/** A verify verdict for people (text) and for pipelines (JSON): shared by verify, extract, report and receive. */
import { groupedFingerprint } from '../../custody/ed25519.js';
import { escapeText } from '../../core/text.js';
import type { BundleVerdict } from '../../bundle/verify.js';
import type { CliContext } from '../context.js';
import { humanBytes } from '../../core/bytes.js';

export function verdictJson(v: BundleVerdict): Record<string, unknown> {
  const chain = v.chain;
  return {
    verified: v.ok,
    mode: v.mode,
    bundleName: v.bagName,
    bundleDigest: v.bundleDigest,
    case: v.caseId,
    sealer: v.sealer,
    algorithms: v.algorithms,
    pieceSize: v.pieceSize,
    files: v.files,
    bytes: v.bytes,
    items: v.manifest?.items.map((i) => ({ id: i.id, kind: i.kind, ...(i.description ? { description: i.description } : {}), meta: i.meta })),
    checks: v.checks,
    ...(v.ledger ? { ledger: v.ledger } : {}),
    ...(v.failed ? { failedCheck: v.failed } : {}),
    chain: chain && {
      ok: chain.ok,
      records: chain.records.map((r) => ({
        member: r.member,
        seq: r.seq,
        action: r.action,
        ok: r.ok,
        ...(r.code ? { code: r.code, message: r.message } : {}),
        ...(r.rule ? { rule: r.rule } : {}),
        ...(r.predicate ? { at: r.predicate.at, by: { name: r.predicate.by.name, keyid: r.predicate.by.keyid } } : {}),
        ...(r.predicate?.to ? { to: { name: r.predicate.to.name, keyid: r.predicate.to.keyid } } : {}),
        ...(r.trusted === undefined ? {} : { trusted: r.trusted }),
      })),
      custodian: chain.custodian && { name: chain.custodian.name, keyid: chain.custodian.keyid, fingerprint: chain.custodian.fingerprint },
      pendingTransfer: chain.pendingTransfer && { seq: chain.pendingTransfer.seq, to: { name: chain.pendingTransfer.to.name, keyid: chain.pendingTransfer.to.keyid } },
    },
  };
}

export function verdictText(ctx: CliContext, v: BundleVerdict, label: string): string[] {
  const c = ctx.chalk;
  // A bundle's strings are escaped before any colour is added (run.ts escapes whole lines too, but keeps colour codes).
  const e = (s: string | undefined): string => escapeText(s ?? '?');
  // The verdict line itself says what a pieces-mode VERIFIED does not attest.
  const scope = v.ok && v.mode === 'pieces' ? '  (pieces checked; flat hashes not recomputed (use --full))' : '';
  const L: string[] = [v.ok ? c.green.bold(`VERIFIED  ${e(label)}`) + scope : c.red.bold(`NOT VERIFIED  ${e(label)}`)];
  if (v.bagName) L.push(`  bundle        ${e(v.bagName)}`);
  const mode = v.checks.find((k) => k.check === 'mode');
  if (mode) L.push(`  mode          ${mode.detail}`);
  if (v.bundleDigest) L.push(`  bundle digest ${v.bundleDigest}`);
  if (v.caseId) L.push(`  case          ${v.caseId}`);
  if (v.sealer) {
    const trust = v.sealer.trusted ? c.green(v.sealer.trustedAs === 'own key' ? 'trusted: own key' : v.sealer.trustedAs === 'fingerprint given with --trust' ? 'trusted: fingerprint given with --trust' : 'trusted') : c.yellow('NOT trusted');
    L.push(`  sealer        ${e(v.sealer.name)} (key id ${v.sealer.keyid}), ${trust}`);
    L.push(`  fingerprint   ${groupedFingerprint(v.sealer.fingerprint)}`);
  }
  if (v.files !== undefined) {
    const pieces = v.pieceSize ? `, pieces of ${humanBytes(v.pieceSize)}` : '';
    L.push(`  evidence      ${v.files} file(s), ${humanBytes(v.bytes ?? 0)}; ${v.algorithms?.join(', ')}${pieces}`);
  }
  if (v.chain?.records.length) {
    const last = v.chain.records[v.chain.records.length - 1]!;
    const state = v.chain.pendingTransfer
      ? `in transit to ${e(v.chain.pendingTransfer.to.name)}`
      : v.chain.custodian
        ? `held by ${e(v.chain.custodian.name)}`
        : 'unknown';
    L.push(`  custody       ${state} (${v.chain.records.length} record(s), last: ${last.action})`);
  }
  if (v.ledger && (v.ledger.state === 'stale' || v.ledger.state === 'fork')) L.push(`  ledger        ${c.yellow(e(v.ledger.detail))}`);
  L.push('  checks:');
  for (const k of v.checks) L.push(`    ${k.ok ? c.green('ok  ') : c.red('FAIL')} ${k.check}: ${e(k.detail)}`);
  return L;
}

