/**
 * The receive use case: the named recipient verifies the WHOLE bundle in
 * full mode, and only then countersigns: a receive record carrying the
 * verification result and the condition found, appended in place — or
 * written to a receipt file beside a bundle we must not or cannot write.
 * Then everything the bundle says goes into the receiver's ledger.
 *
 * Threats: signing for evidence that did not verify (nothing is signed
 * unless the verdict is ok); hashing terabytes before telling someone they
 * are not the recipient (a header-only read decides that first); a bundle
 * changed between the read and the append (expectEndOfData; the append
 * reuses the header-only read's walk only if nothing can have changed).
 * That read's records are checked once: verify judges only trust and the
 * clock again when it reads the same records.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { assertCanCreate, writeFileAtomically } from '../bundle/atomic-output.js';
import { readBundleChain, type BundleChain } from '../bundle/chain-read.js';
import { assertMayReceive, buildNextRecord, checkBundleRecords, checkRecordText, nextRecordTime, type NewRecord } from '../bundle/custody-ops.js';
import { appendMembers, journalPathFor, recoverInterruptedAppend } from '../bundle/tar-append.js';
import type { BundleVerdict } from '../bundle/verify.js';
import type { CheckedRecords } from '../custody/chain.js';
import type { Signer } from '../custody/identity.js';
import { receiptMemberName, type VerificationSummary } from '../custody/record.js';
import type { BundleInput } from './bundle-input.js';
import { writeLedger, type LedgerAccess } from './ledger-access.js';
import { importInput } from './ledger-rows.js';
import { assertExtendable, type LedgerComparison } from './ledger-compare.js';
import type { ProgressFactory } from './progress.js';
import { verifyInput, type TrustRequest } from './verify.js';

export interface ReceiveRequest extends Omit<TrustRequest, 'receipts'> {
  bundle: string;
  input: BundleInput;
  signer: Signer;
  condition?: string | undefined;
  location?: string | undefined;
  note?: string | undefined;
  /** Write the record here instead of appending it to the bundle. */
  receiptOut?: string | undefined;
  /** Also write the record here (appended or not), for the sender's ledger (custody ledger import). */
  receiptCopy?: string | undefined;
  ledger?: LedgerAccess | undefined;
  progress?: ProgressFactory;
  now?: Date;
  /**
   * An encrypted bundle: `keep` runs the verification on a stream that also
   * writes the plaintext beside `bundle` (the received file), and keeps it
   * there only if the verdict is ok; the record is then appended to it.
   */
  /** Accept a copy the ledger knows to be stale or forked. */
  allowFork?: boolean;
  encrypted?: { keep: (verify: (input: BundleInput) => Promise<BundleVerdict>) => Promise<BundleVerdict> };
}

export type ReceiveResult =
  | { received: false; verdict: BundleVerdict }
  | {
      received: true;
      verdict: BundleVerdict;
      bundle: string;
      record: NewRecord;
      /** Set when the record went to a receipt file, with why. */
      receipt?: { file: string; why: string };
      ledger: { ok: boolean; error?: string };
    };

export function receiveFields(o: { condition?: string | undefined; location?: string | undefined; note?: string | undefined }) {
  return {
    condition: checkRecordText(o.condition, '--condition'),
    location: checkRecordText(o.location, '--location'),
    note: checkRecordText(o.note, '--note'),
  };
}

/** Whether we should not (or cannot) write into the bundle: no write bits at all (even for root), or no access. */
function isReadOnly(file: string): boolean {
  try {
    if ((fs.statSync(file).mode & 0o222) === 0) return true;
    fs.accessSync(file, fs.constants.W_OK);
    fs.accessSync(path.dirname(file), fs.constants.W_OK); // the append journal and lock live beside the bundle
    return false;
  } catch {
    return true;
  }
}

function isReadOnlyFailure(e: unknown): boolean {
  const causeCode = ((e as { cause?: NodeJS.ErrnoException }).cause ?? (e as NodeJS.ErrnoException))?.code;
  return ['EROFS', 'EACCES', 'EPERM'].includes(causeCode ?? '');
}

function summary(v: BundleVerdict): VerificationSummary {
  const oxum = `${v.bytes ?? 0}.${v.files ?? 0}`;
  return {
    verified: true,
    trusted: v.sealer?.trusted === true,
    message: `bundle sha256:${v.bundleDigest}; Payload-Oxum ${oxum}; ${v.algorithms?.join(',')}; ${v.checks.length} checks passed`,
    tool: `custody ${VERSION}`,
  };
}

export async function receive(req: ReceiveRequest): Promise<ReceiveResult> {
  const fields = receiveFields(req);
  const bundle = path.resolve(req.bundle);
  if (req.receiptCopy !== undefined) assertCanCreate(path.resolve(req.receiptCopy), false);

  // Fail fast, before hashing what may be terabytes: the quick header-only read says whether a
  // transfer names us. (Skipped while a journal is beside it: verify reads the old view.) Its records,
  // checked here, are the ones verify then reads: verify judges only trust and the clock again.
  let quick: BundleChain | undefined;
  let checked: CheckedRecords | undefined;
  if (!req.encrypted && !fs.existsSync(journalPathFor(bundle))) {
    quick = await readBundleChain(bundle).catch(() => undefined);
    if (quick) {
      checked = checkBundleRecords(quick);
      if (checked.verdict.error) quick = undefined;
      else assertMayReceive(checked.verdict, req.signer);
    }
  }

  const verifyOnce = async (input: BundleInput): Promise<BundleVerdict> => {
    const v = await verifyInput({ ...req, input, receipts: [], label: 'receive', ...(checked ? { checkedRecords: checked } : {}) });
    // An encrypted bundle is kept (decrypted) only when the transfer names us.
    if (req.encrypted && v.ok && v.chain) assertMayReceive(v.chain, req.signer);
    return v;
  };
  const verdict = req.encrypted ? await req.encrypted.keep(verifyOnce) : await verifyOnce(req.input);
  if (!verdict.ok || !verdict.chain || !verdict.read || !verdict.manifest || !verdict.bagName || !verdict.bundleDigest || !verdict.caseId) {
    verdict.error ??= new CustodyError('MALFORMED_BUNDLE', 'the bundle did not verify');
    return { received: false, verdict };
  }
  const chain = verdict.chain;
  assertMayReceive(chain, req.signer);
  if (verdict.ledger) assertExtendable(verdict.ledger as LedgerComparison, req.allowFork === true);
  const at = nextRecordTime(chain, req.now);
  const record = buildNextRecord(req.signer, { bagName: verdict.bagName, bundleDigest: verdict.bundleDigest, verdict: chain }, 'receive', at, {
    ...fields,
    verification: summary(verdict),
  });

  // Append in place, or write a receipt beside a bundle we must not or cannot write.
  let receipt: { file: string; why: string } | undefined = req.receiptOut === undefined ? undefined : { file: path.resolve(req.receiptOut), why: '--receipt-out given' };
  const besideBundle = `${bundle}.${receiptMemberName(record.seq)}`;
  if (!receipt && isReadOnly(bundle)) receipt = { file: besideBundle, why: 'the bundle is read-only' };
  if (!receipt) {
    try {
      // The quick read's walk is the append's if, under the lock, nothing can have changed since (tar-append checks).
      // That read is not made under the lock: it would refuse a concurrent transfer or receive of this bundle
      // ("another custody command is changing this bundle") instead of letting each say why it may not go ahead.
      const where = quick ? { expectEndOfData: quick.endOfData, walkedBefore: { located: quick.walk, ...quick.file } } : {};
      await appendMembers(bundle, [{ name: `${verdict.bagName}/${record.member}`, bytes: record.envelope }], where);
    } catch (e) {
      if (!isReadOnlyFailure(e)) throw e;
      await recoverInterruptedAppend(bundle).catch(() => false);
      receipt = { file: besideBundle, why: 'the bundle cannot be written' };
    }
  }
  if (receipt) {
    await writeFileAtomically(receipt.file, false, async (fd) => {
      fs.writeSync(fd, record.envelope);
    });
  }

  if (req.receiptCopy !== undefined) {
    await writeFileAtomically(path.resolve(req.receiptCopy), false, async (fd) => {
      fs.writeSync(fd, record.envelope);
    });
  }

  // The receiver's ledger: everything the bundle carries, plus this record.
  const ledger = await writeLedger(req.ledger, (l) =>
    l.importBundle({
      ...importInput({ bagName: verdict.bagName!, bundleDigest: verdict.bundleDigest!, caseId: verdict.caseId!, manifest: verdict.manifest!, envelopes: verdict.read!.chain, verdict: chain }, [record], bundle),
      state: 'received',
    }),
  );
  return { received: true, verdict, bundle, record, ...(receipt ? { receipt } : {}), ledger };
}
