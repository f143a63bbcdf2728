/** `custody log`: the chain of custody as a timeline, from a bundle or from the ledger (DESIGN §2, §4, §5). */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CustodyError } from '../../core/errors.js';
import { readBundleChain } from '../../bundle/chain-read.js';
import { journalPathFor, recoverInterruptedAppend } from '../../bundle/tar-append.js';
import { checkChain, type ChainVerdict, type RecordVerdict } from '../../custody/chain.js';
import { openEnvelope } from '../../custody/dsse.js';
import { bytesEqual } from '../../custody/encoding.js';
import { identityFromParty, parseRecordPayload, recordMemberName, type PartyJson } from '../../custody/record.js';
import { assertCaseId, openLedger, type StoredRecord } from '../../ledger/index.js';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import { outcome, type Outcome } from '../outcome.js';
import { openBundleSource, readReceipts, runVerify, trustedKeys } from './verify.js';
import { addDecryptKeyOptions, collect } from '../options.js';
import { isAgeFile } from '../../bundle/age-files.js';
import { loadAgeIdentities } from '../age-keys.js';

interface LogOptions {
  case?: string;
  receipt?: string[];
  key?: string;
  passphraseFile?: string;
}


const HELP = `
From a bundle: reads only the tar headers and the small record members (the
evidence is not read; custody verify checks that), and checks every record's
signature and the chain rules. From the ledger (--case): every record of every
bundle of the case as stored, each envelope's signature and the chain re-checked.
A broken chain is printed as far as it goes, and custody log exits 1.

Example:
  $ custody log case-2026-041.tar
  $ custody log --case 2026-041 --json`;

export function register(program: Command): void {
  addDecryptKeyOptions(program
    .command('log'))
    .description('show the chain of custody as a timeline: who handed what to whom, when, why')
    .argument('[bundle]', 'the bundle .tar (or .tar.age: decrypted and read whole, as a stream, since the chain is at its end)')
    .option('--case <id>', 'show every bundle of this case from the ledger instead')
    .option('--receipt <file>', 'a receive record kept beside a read-only bundle (repeat, in order)', collect, [])
    .addHelpText('after', HELP)
    .action(action(logCommand));
}

interface Timeline {
  bundleName: string;
  bundleDigest: string;
  caseId?: string;
  verdict: ChainVerdict;
  /** extra problems found outside checkChain (ledger rows whose bytes disagree) */
  problems: Map<number, string>;
}

function party(p: PartyJson | undefined): Record<string, unknown> | undefined {
  if (!p) return undefined;
  return { name: p.name, ...(p.org ? { org: p.org } : {}), ...(p.role ? { role: p.role } : {}), keyid: p.keyid };
}

function recordJson(t: Timeline, r: RecordVerdict, withBundle: boolean): Record<string, unknown> {
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

function timelineText(ctx: CliContext, t: Timeline): string[] {
  const c = ctx.chalk;
  const L = [c.bold(`bundle ${t.bundleName}`) + `  sha256:${t.bundleDigest}${t.caseId ? `  case ${t.caseId}` : ''}`];
  for (const r of t.verdict.records) {
    const p = r.predicate;
    const problem = t.problems.get(r.seq);
    const ok = r.ok && problem === undefined;
    const mark = ok ? c.green('ok') : c.red(`FAIL: ${problem ?? r.message ?? 'broken'}`);
    const parties = p ? (p.to ? `${who(p.by)} → ${who(p.to)}` : who(p.by)) : '?';
    L.push(`  ${String(r.seq).padStart(4, '0')} ${r.action.padEnd(8)} ${p?.at ?? '?'.padEnd(24)}  ${parties}  [${mark}]`);
    if (p) {
      const details: string[] = [];
      for (const k of ['reason', 'authority', 'location', 'condition', 'note'] as const) if (p[k] !== undefined) details.push(`${k}: ${p[k]}`);
      if (p.verification) details.push(`verified: ${p.verification.verified ? 'yes' : 'no'}, sealer ${p.verification.trusted ? 'trusted' : 'NOT trusted'}`);
      for (const d of details) L.push(`       ${d}`);
      L.push(`       signed by key id ${p.by.keyid}${r.trusted ? ' (trusted)' : ''}`);
    }
  }
  const v = t.verdict;
  if (v.pendingTransfer) L.push(`  state: in transit to ${v.pendingTransfer.to.name} (key id ${v.pendingTransfer.to.keyid})`);
  else if (v.custodian) L.push(`  state: held by ${v.custodian.name} (key id ${v.custodian.keyid})`);
  return L;
}

/** An encrypted bundle has no random access: it is decrypted and verified as one stream, and its chain taken from that. */
async function encryptedTimeline(ctx: CliContext, bundle: string, o: LogOptions): Promise<Timeline> {
  const src = await openBundleSource(bundle, () => loadAgeIdentities(ctx, o));
  const v = await runVerify(ctx, src, { trust: [], allowUntrusted: true, receipt: o.receipt ?? [] }, undefined, 'log', 'pieces');
  if (!v.chain || !v.bagName || !v.bundleDigest) throw v.error ?? new CustodyError('MALFORMED_BUNDLE', `${bundle}: no custody chain`);
  return { bundleName: v.bagName, bundleDigest: v.bundleDigest, ...(v.caseId ? { caseId: v.caseId } : {}), verdict: v.chain, problems: new Map() };
}

async function bundleTimeline(ctx: CliContext, bundleArg: string, receipts: string[], o: LogOptions = {}): Promise<Timeline> {
  const bundle = path.resolve(bundleArg);
  if (!fs.existsSync(bundle)) throw new CustodyError('NOT_FOUND', `no such bundle: ${bundleArg}`);
  if (fs.statSync(bundle).isFile() && (await isAgeFile(bundle))) return encryptedTimeline(ctx, bundle, o);
  await recoverInterruptedAppend(bundle);
  if (fs.existsSync(journalPathFor(bundle))) {
    throw new CustodyError('IO_ERROR', `${bundleArg} has an interrupted append that cannot be undone here (read-only?)`, {
      hint: 'custody verify reads the bundle as it was before; or copy it somewhere writable and run custody log on the copy',
    });
  }
  const chain = await readBundleChain(bundle);
  const envelopes = [...chain.envelopes, ...readReceipts(receipts, chain.envelopes.length)];
  const verdict = checkChain({
    bundleName: chain.bagName,
    bundleDigest: chain.bundleDigest,
    envelopes,
    sealerPublicKey: chain.sealerPublicKey,
    trusted: trustedKeys(ctx, []),
    strictTrust: false,
    allowUntrusted: true,
  });
  return { bundleName: chain.bagName, bundleDigest: chain.bundleDigest, caseId: chain.info.caseId, verdict, problems: new Map() };
}

/** Re-checks one bundle's stored records: envelope signatures, the chain rules, and that the stored payload is the signed one. */
function ledgerTimeline(records: StoredRecord[], trusted: Uint8Array[]): Timeline {
  const first = records[0]!;
  const problems = new Map<number, string>();
  let sealer: Uint8Array | undefined;
  try {
    // The seal record names the sealer; checkChain then verifies the seal's signature with that key.
    sealer = identityFromParty(parseRecordPayload(openEnvelope(first.envelope).payload).predicate.by).publicKey;
  } catch {
    sealer = undefined;
  }
  for (const r of records) {
    try {
      if (!bytesEqual(openEnvelope(r.envelope).payload, r.payload)) problems.set(r.seq, 'the stored payload is not the one its envelope carries');
    } catch {
      /* checkChain reports an unreadable envelope */
    }
  }
  const verdict: ChainVerdict = sealer
    ? checkChain({
        bundleName: first.bundleName,
        bundleDigest: first.bundleDigest,
        envelopes: records.map((r) => ({ member: recordMemberName(r.seq, r.action), bytes: r.envelope })),
        sealerPublicKey: sealer,
        trusted,
        strictTrust: false,
        allowUntrusted: true,
      })
    : {
        ok: false,
        records: [],
        sealerTrusted: false,
        untrustedSigners: [],
        error: new CustodyError('CHAIN_ERROR', `the ledger's seal record of bundle ${first.bundleDigest} cannot be read`),
      };
  return { bundleName: first.bundleName, bundleDigest: first.bundleDigest, caseId: first.caseId, verdict, problems };
}

async function caseTimelines(ctx: CliContext, caseId: string): Promise<Timeline[]> {
  assertCaseId(caseId);
  if (!fs.existsSync(path.join(ctx.opts.home, 'ledger.db'))) {
    throw new CustodyError('NOT_FOUND', `no ledger in ${ctx.opts.home}`, { hint: 'give --home, or run custody log <bundle.tar>' });
  }
  const ledger = openLedger(ctx.opts.home);
  try {
    if (!ledger.getCase(caseId)) throw new CustodyError('NOT_FOUND', `no case ${caseId} in the ledger`, { hint: 'see custody case list' });
    const trusted = ledger.trustedPublicKeys();
    const byBundle = new Map<string, StoredRecord[]>();
    for (const r of ledger.records({ caseId })) {
      const list = byBundle.get(r.bundleDigest) ?? [];
      list.push(r);
      byBundle.set(r.bundleDigest, list);
    }
    return [...byBundle.values()].map((rs) => ledgerTimeline([...rs].sort((a, b) => a.seq - b.seq), trusted));
  } finally {
    ledger.close();
  }
}

export async function logCommand(ctx: CliContext, bundle: string | undefined, o: LogOptions): Promise<Outcome> {
  if ((bundle === undefined) === (o.case === undefined)) {
    throw new CustodyError('USAGE', 'give either a bundle or --case <id>', { hint: 'custody log case.tar, or custody log --case 2026-041' });
  }
  if (o.case !== undefined && (o.receipt?.length ?? 0) > 0) throw new CustodyError('USAGE', '--receipt goes with a bundle, not with --case');
  const timelines = bundle !== undefined ? [await bundleTimeline(ctx, bundle, o.receipt ?? [], o)] : await caseTimelines(ctx, o.case!);
  const withBundle = bundle === undefined;
  const records = timelines.flatMap((t) => t.verdict.records.map((r) => recordJson(t, r, withBundle)));
  const text: string[] = [];
  for (const t of timelines) text.push(...timelineText(ctx, t));
  if (timelines.length === 0) text.push(`no records for case ${o.case}`);
  const data: Record<string, unknown> = withBundle
    ? { case: o.case, bundles: timelines.map((t) => ({ bundleName: t.bundleName, bundleDigest: t.bundleDigest, records: t.verdict.records.length })) }
    : { bundleName: timelines[0]!.bundleName, bundleDigest: timelines[0]!.bundleDigest, case: timelines[0]!.caseId };
  const out = outcome({ ...data, records }, text);
  const failed = timelines.find((t) => t.verdict.error || t.problems.size > 0);
  if (failed) {
    out.error =
      failed.verdict.error ??
      new CustodyError('CHAIN_ERROR', `bundle ${failed.bundleName}: ${[...failed.problems.values()][0]}`);
  }
  return out;
}
