/** `custody log`: the chain of custody as a timeline, from a bundle or from the ledger (DESIGN §2, §4, §5). */
import type { Command } from 'commander';
import { assertCaseId } from '../../core/case-id.js';
import { CustodyError } from '../../core/errors.js';
import { bundleLog, caseLog, encryptedBundleLog, type Timeline } from '../../ops/log.js';
import fs from 'node:fs';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import { damagedTrustNote, listHomeKeys } from '../keys.js';
import { outcome, type Outcome } from '../outcome.js';
import { addDecryptKeyOptions, collect, type DecryptKeyFlags } from '../options.js';
import { trustedKeys } from '../trust-input.js';
import { ledgerFor } from '../ledger-input.js';
import { recordJson, timelineText } from '../render/timeline.js';

interface LogOptions extends DecryptKeyFlags {
  case?: string;
  receipt?: string[];
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
  addDecryptKeyOptions(program.command('log'))
    .description('show the chain of custody as a timeline: who handed what to whom, when, why')
    .argument('[bundle]', 'the bundle .tar (or .tar.age: decrypted and read whole, as a stream, since the chain is at its end)')
    .option('--case <id>', 'show every bundle of this case from the ledger instead')
    .option('--receipt <file>', 'a receive record kept beside a read-only bundle (repeat, in order)', collect, [])
    .addHelpText('after', HELP)
    .action(action(logCommand));
}

async function bundleTimeline(ctx: CliContext, bundleArg: string, receipts: string[], o: LogOptions = {}): Promise<Timeline> {
  // Loaded here, not with the module: log --case needs neither the bundle readers nor age.
  const [{ isAgeFile }, { openBundleInput }, { loadAgeIdentities }] = await Promise.all([
    import('../../bundle/age-files.js'),
    import('../../ops/bundle-input.js'),
    import('../age-keys.js'),
  ]);
  if (fs.existsSync(bundleArg) && fs.statSync(bundleArg).isFile() && (await isAgeFile(bundleArg))) {
    return encryptedBundleLog(await openBundleInput(bundleArg, { ageKeys: () => loadAgeIdentities(ctx, o) }), receipts);
  }
  const { timeline, notes, ledgerView } = await bundleLog({ bundle: bundleArg, receipts, trusted: trustedKeys(ctx, []), ledger: ledgerFor(ctx) });
  for (const n of notes) ctx.note(`custody: note: ${n}`);
  // A fork breaks the chain of custody as surely as a bad signature: exit 1.
  if (ledgerView?.state === 'fork') timeline.problems.set(ledgerView.fork!.bundle.seq, ledgerView.detail);
  return timeline;
}

async function caseTimelines(ctx: CliContext, caseId: string): Promise<Timeline[]> {
  assertCaseId(caseId);
  const access = ledgerFor(ctx);
  // A shared ledger connects while the home's keys are read and checked (a server's round trips, not our CPU).
  const opening = access?.();
  opening?.catch(() => {}); // its failure is caseLog's to report
  let ownKeys: Uint8Array[];
  try {
    ownKeys = opening ? listHomeKeys(ctx).filter((k) => k.keyPath !== undefined).map((k) => k.identity.publicKey) : [];
  } catch (e) {
    void opening?.then((l) => l.close(), () => {});
    throw e;
  }
  const ledger = opening ? () => opening : undefined;
  const { timelines, damaged } = await caseLog({ caseId, ledger, ownKeys }, ctx.opts.home);
  for (const d of damaged) ctx.note(damagedTrustNote(d));
  return timelines;
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
