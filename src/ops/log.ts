/**
 * The log use case: the chain of custody as timelines, from a bundle (a
 * header-only read of the records; the evidence is not read) or from the
 * ledger (every record of every bundle of a case, each re-checked before it
 * is shown as ok: a ledger file is not believed blindly).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { assertCaseId } from '../core/case-id.js';
import { checkChain, type ChainVerdict } from '../custody/chain.js';
import { checkStoredChain, type DamagedTrustedKey, type StoredChainKeys, type StoredRecord } from '../ledger/index.js';
import type { BundleInput } from './bundle-input.js';
import type { LedgerAccess } from './ledger-access.js';
import type { LedgerComparison } from './ledger-compare.js';

export interface Timeline {
  bundleName: string;
  bundleDigest: string;
  caseId?: string;
  verdict: ChainVerdict;
  /** extra problems found outside checkChain (ledger rows whose bytes disagree) */
  problems: Map<number, string>;
}

export interface BundleLogRequest {
  bundle: string;
  receipts?: string[];
  trusted: Uint8Array[];
  now?: Date;
  /** A ledger to compare the chain with (stale copy, fork). */
  ledger?: LedgerAccess | undefined;
}

export interface BundleLog {
  timeline: Timeline;
  ledgerView?: LedgerComparison;
  /** Said about a journal beside the bundle, if there is one. */
  notes: string[];
}

export async function bundleLog(req: BundleLogRequest): Promise<BundleLog> {
  const bundle = path.resolve(req.bundle);
  if (!fs.existsSync(bundle)) throw new CustodyError('NOT_FOUND', `no such bundle: ${req.bundle}`);
  // The bundle readers and the verifier load here, not with the module: log --case reads only the ledger.
  const [{ inspectJournal }, { readBundleChain }, { readReceipts }, { compareWithLedger }] = await Promise.all([
    import('../bundle/tar-append.js'),
    import('../bundle/chain-read.js'),
    import('./bundle-input.js'),
    import('./ledger-compare.js'),
  ]);
  // Reading never writes: an interrupted append of ours is read as the bundle was before it.
  const journal = await inspectJournal(bundle);
  const notes: string[] = [];
  if (journal.state === 'pending') notes.push(`${journal.journal} records an interrupted append; showing the bundle as it was before it`);
  if (journal.state === 'foreign') notes.push(`${journal.journal} ignored, not applied: ${journal.why}`);
  const chain = await readBundleChain(bundle, journal.state === 'pending' ? { endOfData: journal.endOfData } : {});
  const envelopes = [...chain.envelopes, ...readReceipts(req.receipts ?? [], chain.envelopes.length)];
  const verdict = checkChain({
    bundleName: chain.bagName,
    bundleDigest: chain.bundleDigest,
    envelopes,
    sealerPublicKey: chain.sealerPublicKey,
    trusted: req.trusted,
    strictTrust: false,
    allowUntrusted: true,
    now: req.now ?? new Date(),
    baggingDate: chain.info.baggingDate,
  });
  const ledgerView = req.ledger
    ? await compareWithLedger(req.ledger, { bundleName: chain.bagName, bundleDigest: chain.bundleDigest, sealerPublicKey: chain.sealerPublicKey, chain: verdict })
    : undefined;
  if (ledgerView && (ledgerView.state === 'stale' || ledgerView.state === 'fork')) notes.push(ledgerView.detail);
  return {
    timeline: { bundleName: chain.bagName, bundleDigest: chain.bundleDigest, caseId: chain.info.caseId, verdict, problems: new Map() },
    notes,
    ...(ledgerView ? { ledgerView } : {}),
  };
}

/**
 * An encrypted bundle has no random access: it is decrypted and verified as
 * one stream (pieces mode, trust not asked), and its chain taken from that.
 */
export async function encryptedBundleLog(input: BundleInput, receipts: string[] = []): Promise<Timeline> {
  const { verifyInput } = await import('./verify.js');
  const v = await verifyInput({ input, trusted: [], allowUntrusted: true, receipts, mode: 'pieces', label: 'log' });
  if (!v.chain || !v.bagName || !v.bundleDigest) throw v.error ?? new CustodyError('MALFORMED_BUNDLE', `${input.label}: no custody chain`);
  return { bundleName: v.bagName, bundleDigest: v.bundleDigest, ...(v.caseId ? { caseId: v.caseId } : {}), verdict: v.chain, problems: new Map() };
}

export interface CaseLogRequest {
  caseId: string;
  ledger: LedgerAccess | undefined;
  /** The examiner's own public keys (own keys vouch for stored chains as trusted keys do). */
  ownKeys: Uint8Array[];
}

export interface CaseLog {
  timelines: Timeline[];
  damaged: DamagedTrustedKey[];
}

/** Re-checks one bundle's stored records (checkStoredChain) before anything is shown as ok. */
function ledgerTimeline(records: StoredRecord[], keys: StoredChainKeys): Timeline {
  const first = records[0]!;
  const { verdict, problems } = checkStoredChain(records, keys);
  return { bundleName: first.bundleName, bundleDigest: first.bundleDigest, caseId: first.caseId, verdict, problems };
}

export async function caseLog(req: CaseLogRequest, home: string): Promise<CaseLog> {
  assertCaseId(req.caseId);
  if (!req.ledger) throw new CustodyError('NOT_FOUND', `no ledger in ${home}`, { hint: 'give --home, or run custody log <bundle.tar>' });
  const ledger = await req.ledger();
  try {
    if (!(await ledger.getCase(req.caseId))) throw new CustodyError('NOT_FOUND', `no case ${req.caseId} in the ledger`, { hint: 'see custody case list' });
    const { keys: sound, damaged } = await ledger.trustStore();
    const keys: StoredChainKeys = { trusted: sound.map((k) => k.publicKey), own: req.ownKeys };
    const byBundle = new Map<string, StoredRecord[]>();
    for (const r of await ledger.records({ caseId: req.caseId })) {
      const list = byBundle.get(r.bundleDigest) ?? [];
      list.push(r);
      byBundle.set(r.bundleDigest, list);
    }
    return { timelines: [...byBundle.values()].map((rs) => ledgerTimeline([...rs].sort((a, b) => a.seq - b.seq), keys)), damaged };
  } finally {
    await ledger.close();
  }
}
