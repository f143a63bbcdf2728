/** A chain of custody as a timeline, for people (text) and pipelines (JSON): shared by log and the demo. */
import { recordNumber } from '../../custody/record.js';
import { escapeText } from '../../core/text.js';
import type { RecordVerdict } from '../../custody/chain.js';
import type { PartyJson } from '../../custody/record.js';
import type { Timeline } from '../../ops/log.js';
import type { CliContext } from '../context.js';

function party(p: PartyJson | undefined): Record<string, unknown> | undefined {
  if (!p) return undefined;
  return { name: p.name, ...(p.org ? { org: p.org } : {}), ...(p.role ? { role: p.role } : {}), keyid: p.keyid };
}

export function recordJson(t: Timeline, r: RecordVerdict, withBundle: boolean): Record<string, unknown> {
  const p = r.predicate;
  const problem = t.problems.get(r.seq);
  const ok = r.ok && problem === undefined;
  return {
    ...(withBundle ? { bundleName: t.bundleName, bundleDigest: t.bundleDigest } : {}),
    seq: r.seq,
    action: r.action,
    member: r.member,
    ...(p
      ? {
          at: p.at,
          by: party(p.by),
          ...(p.to ? { to: party(p.to) } : {}),
          ...Object.fromEntries((['reason', 'authority', 'location', 'condition', 'note'] as const).filter((k) => p[k] !== undefined).map((k) => [k, p[k]])),
          ...(p.verification ? { verification: p.verification } : {}),
        }
      : {}),
    signatureOk: p !== undefined && r.code !== 'SIGNATURE_ERROR',
    ok,
    ...(r.trusted === undefined ? {} : { trusted: r.trusted }),
    ...(ok ? {} : { code: problem ? 'CHAIN_ERROR' : r.code, message: problem ?? r.message }),
    payloadSha256: r.payloadSha256,
  };
}

const who = (p: PartyJson): string => `${p.name}${p.org ? `, ${p.org}` : ''}`;

export function timelineText(ctx: CliContext, t: Timeline): string[] {
  const c = ctx.chalk;
  const L = [c.bold(`bundle ${t.bundleName}`) + `  sha256:${t.bundleDigest}${t.caseId ? `  case ${t.caseId}` : ''}`];
  for (const r of t.verdict.records) {
    const p = r.predicate;
    const problem = t.problems.get(r.seq);
    const ok = r.ok && problem === undefined;
    const mark = ok ? c.green('ok') : c.red(`FAIL: ${problem ?? r.message ?? 'broken'}`);
    const parties = p ? (p.to ? `${who(p.by)} → ${who(p.to)}` : who(p.by)) : '?';
    L.push(`  ${recordNumber(r.seq)} ${r.action.padEnd(8)} ${p?.at ?? '?'.padEnd(24)}  ${parties}  [${mark}]`);
    if (p) {
      const details: string[] = [];
      for (const k of ['reason', 'authority', 'location', 'condition', 'note'] as const) if (p[k] !== undefined) details.push(`${k}: ${p[k]}`);
      if (p.verification) details.push(`verified: ${p.verification.verified ? 'yes' : 'no'}, sealer ${p.verification.trusted ? 'trusted' : 'NOT trusted'}`);
      // Signed free text may span lines: each further line carries a mark, so it can never pass for a line of ours.
      for (const d of details) L.push(...escapeText(`       ${d}`, '       | ').split('\n'));
      L.push(`       signed by key id ${p.by.keyid}${r.trusted ? ' (trusted)' : ''}`);
    }
  }
  const v = t.verdict;
  if (v.pendingTransfer) L.push(`  state: in transit to ${v.pendingTransfer.to.name} (key id ${v.pendingTransfer.to.keyid})`);
  else if (v.custodian) L.push(`  state: held by ${v.custodian.name} (key id ${v.custodian.keyid})`);
  return L;
}

