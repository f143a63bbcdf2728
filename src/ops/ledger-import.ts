/**
 * `custody ledger import`: what a ledger learns after the fact — a whole
 * bundle's chain (a bundle sealed or received elsewhere), or a receipt: the
 * receive record the recipient sends back, so the sender's ledger knows the
 * bundle moved on and its own verify names an older copy stale.
 *
 * Threat: a receipt is a file from someone else. It is imported only when it
 * is the next record of the chain the ledger already holds for that bundle:
 * signed by the recipient the last transfer named, linked to the last record,
 * about that bundle (checkChain over the stored records plus the receipt).
 */
import fs from 'node:fs';
import { CustodyError } from '../core/errors.js';
import { readBundleChain } from '../bundle/chain-read.js';
import { checkBundleChain } from '../bundle/custody-ops.js';
import { isAgeFile } from '../bundle/age-files.js';
import { identityFromParty, parseRecordPayload } from '../custody/record.js';
import { openEnvelope } from '../custody/dsse.js';
import type { LedgerAccess } from './ledger-access.js';
import { ledgerChain } from './ledger-compare.js';
import { importInput, ledgerRecord } from './ledger-rows.js';

export interface LedgerImported {
  kind: 'bundle' | 'receipt';
  bundleDigest: string;
  bundleName: string;
  /** Records the ledger did not hold before. */
  recordsAdded: number;
}

const MAX_RECEIPT = 1 << 20;

export async function importIntoLedger(ledger: LedgerAccess, file: string): Promise<LedgerImported> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new CustodyError('NOT_FOUND', `no such file: ${file}`);
  }
  if (!st.isFile()) throw new CustodyError('USAGE', `${file} is not a file`);
  if (await isAgeFile(file)) throw new CustodyError('USAGE', `${file} is encrypted (age): receive it first, then import the bundle you received`);
  // A receipt is one small JSON line; a bundle is a tar.
  const head = fs.readFileSync(file, { encoding: 'utf8', flag: 'r' }).slice(0, 1);
  return head === '{' && st.size <= MAX_RECEIPT ? importReceipt(ledger, new Uint8Array(fs.readFileSync(file)), file) : importBundleChain(ledger, file);
}

async function importBundleChain(access: LedgerAccess, file: string): Promise<LedgerImported> {
  const chain = await readBundleChain(file);
  const verdict = checkBundleChain(chain);
  if (verdict.error) throw verdict.error;
  const manifest = await chain.manifest();
  const l = await access();
  try {
    const r = await l.importBundle(importInput({ ...chain, caseId: chain.info.caseId, manifest, verdict }, [], file));
    return { kind: 'bundle', bundleDigest: chain.bundleDigest, bundleName: chain.bagName, recordsAdded: r.recordsAdded };
  } finally {
    await l.close();
  }
}

async function importReceipt(access: LedgerAccess, bytes: Uint8Array, file: string): Promise<LedgerImported> {
  // Peek at the unverified payload only to know which bundle's chain to check it against.
  let digest: string;
  let action: 'transfer' | 'receive' = 'receive';
  try {
    const st = JSON.parse(new TextDecoder().decode(openEnvelope(bytes).payload)) as { subject?: { digest?: { sha256?: unknown } }[]; predicate?: { action?: unknown } };
    digest = String(st.subject?.[0]?.digest?.sha256 ?? '');
    if (st.predicate?.action === 'transfer') action = 'transfer';
  } catch (e) {
    throw new CustodyError('MALFORMED_BUNDLE', `${file} is not a custody record: ${(e as Error).message}`);
  }
  const l = await access();
  try {
    const stored = (await l.records({ bundleDigest: digest })).sort((a, b) => a.seq - b.seq);
    if (stored.length === 0) {
      throw new CustodyError('NOT_FOUND', `${file} is about bundle sha256:${digest}, which this ledger does not know`, { hint: 'import the bundle first (custody ledger import <bundle>)' });
    }
    const seal = parseRecordPayload(openEnvelope(stored[0]!.envelope).payload);
    const sealer = identityFromParty(seal.predicate.by).publicKey;
    const envelopes = [...stored.map((r) => ({ seq: r.seq, action: r.action, envelope: r.envelope })), { seq: stored.length, action, envelope: bytes }];
    const { records, problem } = ledgerChain(
      envelopes.map((e) => ({ ...stored[0]!, seq: e.seq, action: e.action, envelope: e.envelope })),
      { bundleName: stored[0]!.bundleName, bundleDigest: digest, sealerPublicKey: sealer },
    );
    const mine = records[stored.length];
    if (!mine || !mine.predicate) {
      throw new CustodyError('CHAIN_ERROR', `${file} is not the next record of the chain this ledger holds for bundle ${stored[0]!.bundleName}: ${problem ?? 'it does not follow the last record'}`);
    }
    const { added } = await l.recordCustodyRecord({ bundleDigest: digest, record: ledgerRecord(bytes, mine.predicate) });
    return { kind: 'receipt', bundleDigest: digest, bundleName: stored[0]!.bundleName, recordsAdded: added ? 1 : 0 };
  } finally {
    await l.close();
  }
}
