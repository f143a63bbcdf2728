/**
 * A bundle's chain against what a ledger knows of the same bundle (same
 * digest): the ledger may know more than the copy in hand.
 *
 * - stale copy: the bundle's chain is a strict prefix of the ledger's — the
 *   evidence moved on since this copy was made (it verifies on its own, but
 *   it is not the current state: said in the verdict; exit 1 with --strict);
 * - fork: a different record at the same place — two copies of one sealed
 *   bundle were handed over separately (NOT VERIFIED, both records named).
 *
 * Threat: a ledger file is not believed blindly. Its records are checked as a
 * chain (signatures, links, signers) with the bundle's own sealer key before
 * they count; rows that do not hold together are reported, never used.
 */
import { CustodyError } from '../core/errors.js';
import { checkChain, type ChainVerdict, type RecordVerdict } from '../custody/chain.js';
import { recordMemberName, recordNumber } from '../custody/record.js';
import type { StoredRecord } from '../ledger/index.js';
import { isLedgerUnreachable } from '../ledger/pg.js';
import { useLedger, type LedgerAccess } from './ledger-access.js';

export interface LedgerRecordFacts {
  seq: number;
  action: string;
  by?: string;
  at?: string;
  payloadSha256: string;
}

export interface LedgerComparison {
  state: 'unknown' | 'same' | 'behind' | 'stale' | 'fork';
  /** The ledger's records this copy does not hold (stale). */
  later?: LedgerRecordFacts[];
  /** The first place the two chains differ (fork). */
  fork?: { bundle: LedgerRecordFacts; ledger: LedgerRecordFacts };
  /** Ledger rows that do not hold together as a chain (ignored). */
  problem?: string;
  detail: string;
}

function facts(r: RecordVerdict): LedgerRecordFacts {
  return {
    seq: r.seq,
    action: r.action,
    ...(r.predicate ? { by: r.predicate.by.name, at: r.predicate.at } : {}),
    payloadSha256: r.payloadSha256,
  };
}

const say = (f: LedgerRecordFacts): string => `${recordNumber(f.seq)} ${f.action}${f.by ? ` by ${f.by}` : ''}${f.at ? ` at ${f.at}` : ''} (payload sha256:${f.payloadSha256.slice(0, 16)}…)`;

/** The records of `bundleDigest` the ledger holds, as a checked chain (only the records that verified count). */
export function ledgerChain(stored: StoredRecord[], b: { bundleName: string; bundleDigest: string; sealerPublicKey: Uint8Array }): { records: RecordVerdict[]; problem?: string } {
  const sorted = [...stored].sort((x, y) => x.seq - y.seq);
  const v = checkChain({
    bundleName: b.bundleName,
    bundleDigest: b.bundleDigest,
    envelopes: sorted.map((r) => ({ member: recordMemberName(r.seq, r.action), bytes: r.envelope })),
    sealerPublicKey: b.sealerPublicKey,
    trusted: [],
    strictTrust: false,
    allowUntrusted: true,
  });
  const good: RecordVerdict[] = [];
  for (const r of v.records) {
    if (!r.ok || !r.predicate) break;
    good.push(r);
  }
  return { records: good, ...(v.error ? { problem: `the ledger's records of this bundle do not hold together from ${v.records.find((r) => !r.ok)?.member ?? 'the start'}: ${v.error.message}` } : {}) };
}

/** Compares the bundle's (checked) chain with the ledger's records of the same digest. */
export async function compareWithLedger(
  access: LedgerAccess | undefined,
  b: { bundleName: string; bundleDigest: string; sealerPublicKey: Uint8Array; chain: ChainVerdict },
): Promise<LedgerComparison> {
  if (!access) return { state: 'unknown', detail: 'no ledger at hand' };
  let stored: StoredRecord[];
  try {
    stored = await useLedger(access, (l) => l.records({ bundleDigest: b.bundleDigest }));
  } catch (e) {
    // A shared ledger named on purpose that cannot be reached is a runtime failure (exit 3), not "unknown":
    // the stale and fork checks the lab relies on would silently not run.
    if (isLedgerUnreachable(e)) throw e;
    // The ledger is a convenience: one that cannot be read says nothing about the bundle.
    return { state: 'unknown', detail: `the ledger could not be read: ${(e as Error).message}` };
  }
  if (stored.length === 0) return { state: 'unknown', detail: 'the ledger holds no record of this bundle' };
  const known = ledgerChain(stored, b);
  const ours = b.chain.records.filter((r) => r.predicate !== undefined);
  const n = Math.min(ours.length, known.records.length);
  for (let i = 0; i < n; i++) {
    if (ours[i]!.payloadSha256 !== known.records[i]!.payloadSha256) {
      const fork = { bundle: facts(ours[i]!), ledger: facts(known.records[i]!) };
      return {
        state: 'fork',
        fork,
        detail: `fork: record ${say(fork.bundle)} in this copy differs from record ${say(fork.ledger)} the ledger holds for the same bundle — two copies were handed over separately`,
        ...(known.problem ? { problem: known.problem } : {}),
      };
    }
  }
  if (known.records.length > ours.length) {
    const later = known.records.slice(ours.length).map(facts);
    const last = later[later.length - 1]!;
    return {
      state: 'stale',
      later,
      detail: `stale copy: the ledger knows ${later.length} later record(s) (last: ${last.action}${last.by ? ` by ${last.by}` : ''}${last.at ? ` at ${last.at}` : ''})`,
      ...(known.problem ? { problem: known.problem } : {}),
    };
  }
  const state = known.records.length === ours.length ? 'same' : 'behind';
  return {
    state,
    detail: state === 'same' ? `the ledger knows the same ${ours.length} record(s)` : `the ledger knows ${known.records.length} of this copy's ${ours.length} record(s)`,
    ...(known.problem ? { problem: known.problem } : {}),
  };
}

/** Refuses to extend a stale or forked copy (transfer, receive) unless the caller allows it, saying why. */
export function assertExtendable(c: LedgerComparison, allowFork: boolean): void {
  if (allowFork || (c.state !== 'stale' && c.state !== 'fork')) return;
  throw new CustodyError('STALE_COPY', `refusing to extend this copy: ${c.detail}`, {
    hint: 'use the current copy; to re-send a copy lost in transit, add --allow-fork (the record says why in --reason)',
  });
}
