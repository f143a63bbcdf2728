/**
 * The transfer use case: the current custodian appends a signed transfer
 * record naming the recipient (src/bundle/custody-ops.ts decides whether the
 * signer may, and appends crash-safely under the bundle's lock), then the
 * whole chain goes into the ledger.
 */
import path from 'node:path';
import fs from 'node:fs';
import { CustodyError } from '../core/errors.js';
import { checkRecordText, transferBundle, type TransferResult } from '../bundle/custody-ops.js';
import { recoverInterruptedAppend } from '../bundle/tar-append.js';
import type { Identity, Signer } from '../custody/identity.js';
import { readReceipts } from './bundle-input.js';
import { writeLedger, type LedgerAccess } from './ledger-access.js';
import { importInput } from './ledger-rows.js';
import { assertExtendable, compareWithLedger, type LedgerComparison } from './ledger-compare.js';

export interface TransferRequest {
  bundle: string;
  signer: Signer;
  to: Identity;
  reason: string;
  authority?: string | undefined;
  location?: string | undefined;
  condition?: string | undefined;
  note?: string | undefined;
  /** Receive records kept beside the bundle while it was read-only: appended first. */
  receipts?: string[];
  ledger?: LedgerAccess | undefined;
  /** Extend a copy the ledger knows to be stale or forked (the re-send of a copy lost in transit; --reason says why). */
  allowFork?: boolean;
  now?: Date;
}

export interface TransferDone extends TransferResult {
  bundle: string;
  /** What the ledger knew of this copy before the transfer. */
  ledgerView?: LedgerComparison;
  ledger: { ok: boolean; error?: string };
}

/** The record's free text, checked before anything is read (exit 2 for text that would be refused when read). */
export function transferFields(o: { reason: string; authority?: string | undefined; location?: string | undefined; condition?: string | undefined; note?: string | undefined }) {
  return {
    reason: checkRecordText(o.reason, '--reason')!,
    authority: checkRecordText(o.authority, '--authority'),
    location: checkRecordText(o.location, '--location'),
    condition: checkRecordText(o.condition, '--condition'),
    note: checkRecordText(o.note, '--note'),
  };
}

export function assertBundleFile(bundleArg: string): string {
  const bundle = path.resolve(bundleArg);
  let st: fs.Stats;
  try {
    st = fs.statSync(bundle);
  } catch {
    throw new CustodyError('NOT_FOUND', `no such bundle: ${bundleArg}`);
  }
  if (!st.isFile()) throw new CustodyError('USAGE', `${bundleArg} is not a file`);
  return bundle;
}

export async function transfer(req: TransferRequest): Promise<TransferDone> {
  const fields = transferFields(req);
  const bundle = assertBundleFile(req.bundle);
  await recoverInterruptedAppend(bundle);
  const files = req.receipts ?? [];
  const receipts = files.length ? (chainLength: number) => readReceipts(files, chainLength) : [];
  let seen: LedgerComparison | undefined;
  const r = await transferBundle(bundle, {
    signer: req.signer,
    to: req.to,
    ...fields,
    receipts,
    ...(req.now ? { now: req.now } : {}),
    // Under the bundle's lock, before anything is written: a stale or forked copy is not extended.
    check: async (chain, verdict) => {
      seen = await compareWithLedger(req.ledger, { bundleName: chain.bagName, bundleDigest: chain.bundleDigest, sealerPublicKey: chain.sealerPublicKey, chain: verdict });
      assertExtendable(seen, req.allowFork === true);
    },
  });
  // One transaction with the whole chain: idempotent for the records the ledger holds, and it also covers
  // a bundle sealed or received elsewhere and any receipts appended with this transfer.
  const manifest = req.ledger ? await r.chain.manifest() : undefined;
  const ledger = await writeLedger(req.ledger, (l) =>
    l.importBundle({ ...importInput({ ...r.chain, caseId: r.chain.info.caseId, manifest: manifest!, verdict: r.verdict }, [r.record], bundle), state: 'in transit' }),
  );
  return { ...r, bundle, ledger, ...(seen ? { ledgerView: seen } : {}) };
}
