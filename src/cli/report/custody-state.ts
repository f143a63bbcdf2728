/**
 * What the form derives from the chain rather than reads off one record: who
 * holds the evidence now, and each hand-over as a pair of a release (the
 * transfer) and its acceptance (the receive by the named recipient). A record
 * whose signature did not verify is never taken as a hand-over: a forged
 * record must not put a name in the "current custodian" box.
 */
import type { ReportModel, ReportParty, ReportRecord } from '../../ops/report/model.js';

export interface Handover {
  /** 1-based, in chain order. */
  n: number;
  transfer: ReportRecord;
  releasedBy: ReportParty;
  receivedBy?: ReportParty;
  /** The receive record of the named recipient, if there is one. */
  receive?: ReportRecord;
}

export interface Custodian {
  party: ReportParty;
  /** Handed over but the recipient's receive record is not (yet) in the chain. */
  inTransit: boolean;
}

export function handovers(m: ReportModel): Handover[] {
  const out: Handover[] = [];
  const recs = m.records;
  recs.forEach((r, i) => {
    if (r.action !== 'transfer' || !r.signatureOk) return;
    const h: Handover = { n: out.length + 1, transfer: r, releasedBy: r.by };
    if (r.to) {
      h.receivedBy = r.to;
      for (const later of recs.slice(i + 1)) {
        if (later.action === 'transfer') break;
        if (later.action === 'receive' && later.signatureOk && later.by.fingerprint === r.to.fingerprint) {
          h.receive = later;
          break;
        }
      }
    }
    out.push(h);
  });
  return out;
}

export function currentCustodian(m: ReportModel): Custodian | undefined {
  let cur: Custodian | undefined;
  for (const r of m.records) {
    if (!r.signatureOk) break;
    if (r.action === 'seal' || r.action === 'receive') cur = { party: r.by, inTransit: false };
    else if (r.action === 'transfer' && r.to) cur = { party: r.to, inTransit: true };
  }
  return cur;
}

/** Every party the form names, once, in order of appearance (sealer first). */
export function uniqueParties(m: ReportModel): ReportParty[] {
  const seen = new Map<string, ReportParty>();
  for (const p of [m.sealer, ...m.records.flatMap((r) => (r.to ? [r.by, r.to] : [r.by]))]) {
    if (!seen.has(p.fingerprint)) seen.set(p.fingerprint, p);
  }
  return [...seen.values()];
}

/** The seizure and acquisition facts an examiner gives with --meta, under the names the form knows. */
export const SEIZURE_KEYS = ['seized_at', 'seized_by', 'seized_from', 'location', 'tool', 'write_blocker'] as const;
export type SeizureKey = (typeof SEIZURE_KEYS)[number];

export function normaliseMetaKey(k: string): string {
  return k
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[-\s.]+/g, '_');
}

/** Splits an item's meta into the known seizure facts and the rest (kept as written). */
export function splitMeta(meta: Record<string, string>): { seizure: Partial<Record<SeizureKey, string>>; other: [string, string][] } {
  const seizure: Partial<Record<SeizureKey, string>> = {};
  const other: [string, string][] = [];
  for (const [k, v] of Object.entries(meta)) {
    const n = normaliseMetaKey(k) as SeizureKey;
    if ((SEIZURE_KEYS as readonly string[]).includes(n) && seizure[n] === undefined) seizure[n] = v;
    else other.push([k, v]);
  }
  return { seizure, other };
}
