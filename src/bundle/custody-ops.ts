/**
 * The library side of `custody transfer` and `custody receive`: decide
 * whether the signing key may add the next record, build it, and (transfer)
 * append it in place with the crash-safe appendMembers.
 *
 * Threats guarded against:
 *  - someone who does not hold custody signing a hand-over (the chain would
 *    refuse it later; we refuse it before touching the bundle: NOT_CUSTODIAN);
 *  - a second transfer while one is in transit (two people would "hold" it);
 *  - a local clock behind the last record: a record dated earlier than the
 *    one before it breaks the chain for every later verifier, so it is
 *    refused at write time with a clear message instead;
 *  - a bundle changed between our read and our append (expectEndOfData).
 * The chain rules themselves are custody/chain.ts's checkChain; nothing here re-implements them.
 */
import { recordNumber } from '../custody/record.js';
import { CustodyError } from '../core/errors.js';
import { checkText } from '../core/text.js';
import { checkChain, checkRecords, type ChainVerdict, type CheckedRecords } from '../custody/chain.js';
import { sameKey, type Identity, type Signer } from '../custody/identity.js';
import {
  makeRecord,
  partyFromIdentity,
  recordMemberName,
  recordTime,
  type RecordAction,
  type RecordPredicate,
  type VerificationSummary,
} from '../custody/record.js';
import { openEnvelope } from '../custody/dsse.js';
import { readBundleChain, type BundleChain } from './chain-read.js';
import { appendKillSwitch, appendMembers, recoverLocked, withBundleLock, type BundleLock } from './tar-append.js';

export interface RecordFields {
  reason?: string | undefined;
  authority?: string | undefined;
  location?: string | undefined;
  condition?: string | undefined;
  note?: string | undefined;
}

export interface NewRecord {
  seq: number;
  action: RecordAction;
  /** relative to the bag root, e.g. custody/chain/0001-transfer.dsse.json */
  member: string;
  payload: Uint8Array;
  envelope: Uint8Array;
  predicate: RecordPredicate;
}

const who = (id: Identity): string => `${id.name} (key id ${id.keyid})`;

/** Free text that ends up in a signed record, on terminals and in printed reports. */
export function checkRecordText(v: string | undefined, flag: string): string | undefined {
  if (v === undefined) return undefined;
  return checkText(v, flag, 'USAGE', { multiline: true });
}

/** `now` as a record time, refused when it is earlier than the last record's (the chain would break). */
export function nextRecordTime(verdict: ChainVerdict, now: Date = new Date()): string {
  const at = recordTime(now);
  const last = verdict.records[verdict.records.length - 1]?.predicate?.at;
  if (last !== undefined && at < last) {
    throw new CustodyError('USAGE', `the local clock (${at}) is earlier than the last custody record (${last}); a record may not go back in time`, {
      hint: 'check the system clock and time zone (records are in UTC); if it is right, the last record is dated in the future (custody verify refuses records dated more than 10 minutes ahead)',
    });
  }
  return at;
}

/** The chain must be intact before anyone adds to it (checked with allowUntrusted: trust is not the question here). */
export function assertIntact(verdict: ChainVerdict): void {
  if (verdict.error) throw verdict.error;
}

/** transfer: only the current custodian, with no transfer in transit, to someone else. */
export function assertMayTransfer(verdict: ChainVerdict, signer: Signer, to: Identity): void {
  const me = signer.identity;
  if (verdict.pendingTransfer) {
    const p = verdict.pendingTransfer;
    throw new CustodyError('NOT_CUSTODIAN', `transfer ${recordNumber(p.seq)} to ${who(p.to)} is still pending; it must be received before custody can be transferred again`, {
      hint: sameKey(p.to, me)
        ? 'that is you: run custody receive first, or, if you received it while it was read-only, give the receipt file with --receipt'
        : `${p.to.name} runs custody receive on the bundle`,
    });
  }
  const custodian = verdict.custodian;
  if (!custodian || !sameKey(custodian, me)) {
    throw new CustodyError('NOT_CUSTODIAN', `${who(me)} does not hold custody of this bundle; the custodian is ${custodian ? who(custodian) : 'unknown'}`, {
      hint: 'sign with the custodian\'s key (--key)',
    });
  }
  if (sameKey(to, me)) throw new CustodyError('USAGE', 'cannot transfer custody to yourself (--to names your own key)');
}

/** receive: the last record must be a transfer naming this key. */
export function assertMayReceive(verdict: ChainVerdict, signer: Signer): void {
  const me = signer.identity;
  const p = verdict.pendingTransfer;
  if (!p) {
    const held = verdict.custodian ? `; custody is held by ${who(verdict.custodian)}` : '';
    throw new CustodyError('NOT_CUSTODIAN', `no transfer is pending on this bundle${held}`, { hint: 'the custodian must run custody transfer --to <your .pub> first' });
  }
  if (!sameKey(p.to, me)) {
    throw new CustodyError('NOT_CUSTODIAN', `transfer ${recordNumber(p.seq)} names ${who(p.to)} as recipient, not ${who(me)}`, {
      hint: 'receive with the key the transfer names (--key)',
    });
  }
}

/** Builds and signs the next record of a chain whose verdict is given. */
export function buildNextRecord(
  signer: Signer,
  chain: { bagName: string; bundleDigest: string; verdict: ChainVerdict },
  action: RecordAction,
  at: string,
  fields: RecordFields & { to?: Identity; verification?: VerificationSummary },
): NewRecord {
  const seq = chain.verdict.records.length;
  const last = chain.verdict.records[seq - 1];
  if (!last || last.payloadSha256 === '') throw new CustodyError('INTERNAL', 'no previous record to link to');
  const predicate: RecordPredicate = { seq, prev: `sha256:${last.payloadSha256}`, action, at, by: partyFromIdentity(signer.identity) };
  if (fields.to) predicate.to = partyFromIdentity(fields.to);
  for (const k of ['reason', 'authority', 'location', 'condition', 'note'] as const) {
    const v = fields[k];
    if (v !== undefined) predicate[k] = v;
  }
  if (fields.verification) predicate.verification = fields.verification;
  const { payload, envelope } = makeRecord(signer, { bundleName: chain.bagName, bundleDigest: chain.bundleDigest, predicate });
  return { seq, action, member: recordMemberName(seq, action), payload, envelope, predicate };
}

/**
 * The chain of a bundle on disk, checked without trust (trust is the
 * receiver's business) and without the clock: a record dated ahead of this
 * machine's clock is refused by nextRecordTime with both dates, as a usage
 * problem (the clock may be the one that is wrong).
 */
export function checkBundleChain(c: BundleChain, trusted: Uint8Array[] = []): ChainVerdict {
  return checkChain({
    bundleName: c.bagName,
    bundleDigest: c.bundleDigest,
    envelopes: c.envelopes,
    sealerPublicKey: c.sealerPublicKey,
    trusted,
    strictTrust: false,
    allowUntrusted: true,
    baggingDate: c.info.baggingDate,
  });
}

/**
 * The same chain checked by every rule but trust (checkRecords): what receive
 * decides on before hashing the evidence, and hands to verify so that the
 * records are not checked a second time.
 */
export function checkBundleRecords(c: BundleChain): CheckedRecords {
  return checkRecords({
    bundleName: c.bagName,
    bundleDigest: c.bundleDigest,
    envelopes: c.envelopes,
    sealerPublicKey: c.sealerPublicKey,
    trusted: [],
    strictTrust: false,
    allowUntrusted: true,
    baggingDate: c.info.baggingDate,
  });
}

export interface TransferRequest extends RecordFields {
  signer: Signer;
  to: Identity;
  reason: string;
  now?: Date;
  /**
   * Receive records kept beside the bundle while it was read-only (receive
   * --receipt-out). They are checked as the next records and appended
   * before the transfer, in the same crash-safe append.
   */
  receipts?: { member: string; bytes: Uint8Array }[] | ((chainLength: number) => { member: string; bytes: Uint8Array }[]);
  /** A last check of the chain read under the lock, before anything is written (the caller's: a ledger's view). */
  check?: (chain: BundleChain, verdict: ChainVerdict) => void | Promise<void>;
}

export interface TransferResult {
  chain: BundleChain;
  verdict: ChainVerdict;
  record: NewRecord;
}

/**
 * Appends a transfer record to the bundle in place. Reads only headers and
 * small members; refuses (bundle unchanged) unless the signer holds custody.
 */
export async function transferBundle(bundlePath: string, req: TransferRequest): Promise<TransferResult> {
  // Read, check and append under one lock: a second transfer through any name of the file waits its turn
  // or is refused, and never reads a half-written record.
  return withBundleLock(bundlePath, (lock) => transferLocked(bundlePath, req, lock), appendKillSwitch());
}

async function transferLocked(bundlePath: string, req: TransferRequest, lock: BundleLock): Promise<TransferResult> {
  await recoverLocked(bundlePath);
  const read = await readBundleChain(bundlePath);
  // Given as a function, the receipts are named after the records read here, under the lock: no second read of the bundle.
  const receipts = typeof req.receipts === 'function' ? req.receipts(read.envelopes.length) : (req.receipts ?? []);
  const chain: BundleChain = { ...read, envelopes: [...read.envelopes, ...receipts] };
  const verdict = checkBundleChain(chain);
  assertIntact(verdict);
  assertMayTransfer(verdict, req.signer, req.to);
  await req.check?.(chain, verdict);
  const at = nextRecordTime(verdict, req.now);
  const record = buildNextRecord(req.signer, { bagName: chain.bagName, bundleDigest: chain.bundleDigest, verdict }, 'transfer', at, {
    to: req.to,
    reason: req.reason,
    authority: req.authority,
    location: req.location,
    condition: req.condition,
    note: req.note,
  });
  const members = [...receipts, { member: record.member, bytes: record.envelope }].map((m) => ({ name: `${chain.bagName}/${m.member}`, bytes: m.bytes }));
  // The walk readBundleChain made under this lock is the append's: the bundle's headers are walked once.
  await appendMembers(bundlePath, members, { expectEndOfData: chain.endOfData, lock, located: read.walk });
  return { chain, verdict, record };
}
