/**
 * What a bundle's manifest and chain become in the ledger: the one mapping
 * from custody/manifest.json and verified records to ledger rows, shared by
 * seal, transfer and receive. Records are stored exactly as signed.
 */
import { CustodyError } from '../core/errors.js';
import type { CustodyManifest } from '../bundle/custody-manifest.js';
import type { NewRecord } from '../bundle/custody-ops.js';
import type { ChainVerdict } from '../custody/chain.js';
import { openEnvelope } from '../custody/dsse.js';
import type { RecordPredicate } from '../custody/record.js';
import type { FileInput, ImportInput, ItemInput, RecordInput } from '../ledger/index.js';

/** A record of the chain as the ledger stores it: payload bytes from the (already verified) envelope. */
export function ledgerRecord(envelope: Uint8Array, predicate: RecordPredicate): RecordInput {
  const { payload, keyid } = openEnvelope(envelope);
  return { seq: predicate.seq, action: predicate.action, payload, envelope, signerKeyid: keyid, at: predicate.at };
}

export function itemRows(m: CustodyManifest): ItemInput[] {
  return m.items.map((it) => ({
    id: it.id,
    ...(it.description === undefined ? {} : { description: it.description }),
    details: { kind: it.kind, source: it.source, meta: it.meta },
  }));
}

export function fileRows(m: CustodyManifest): FileInput[];
export function fileRows(m: { files: Iterable<CustodyManifest['files'][number]> }): Iterable<FileInput>;
export function fileRows(m: { files: Iterable<CustodyManifest['files'][number]> }): Iterable<FileInput> {
  const row = (f: CustodyManifest['files'][number]): FileInput => ({
    itemId: f.item,
    path: f.path,
    size: f.size,
    hashes: f.hashes,
    ...(f.pieces ? { pieceCount: f.pieces.count, merkleRoot: f.pieces.merkleRoot } : {}),
  });
  if (Array.isArray(m.files)) return (m.files as CustodyManifest['files']).map(row);
  // Streamed (seal of a large export): one row at a time, as the ledger reads them; a ledger may read
  // them more than once (the shared ledger checks every row before it inserts any).
  const files = m.files;
  return {
    *[Symbol.iterator]() {
      for (const f of files) yield row(f);
    },
  };
}

/** Everything a verified chain carries, for Ledger.importBundle. Records must have verified (verdict.records[i].predicate set). */
export function importInput(
  c: { bagName: string; bundleDigest: string; caseId: string; manifest: CustodyManifest; envelopes: { bytes: Uint8Array }[]; verdict: ChainVerdict },
  extra: NewRecord[],
  path?: string,
): ImportInput {
  const records = c.verdict.records.map((r, i) => {
    if (!r.predicate) throw new CustodyError('INTERNAL', `record ${i} did not verify`);
    return ledgerRecord(c.envelopes[i]!.bytes, r.predicate);
  });
  for (const n of extra) records.push(ledgerRecord(n.envelope, n.predicate));
  const m = c.manifest;
  const out: ImportInput = { bundleDigest: c.bundleDigest, bundleName: c.bagName, caseId: c.caseId, items: itemRows(m), files: fileRows(m), records };
  if (m.case.title !== undefined) out.caseTitle = m.case.title;
  if (m.case.authority !== undefined) out.caseAuthority = m.case.authority;
  if (path !== undefined) out.path = path;
  return out;
}
