/** `custody receive`: the named recipient verifies the whole bundle, then countersigns receipt (DESIGN §2, §4). */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CustodyError } from '../../core/errors.js';
import { writeFileAtomically } from '../../bundle/atomic-output.js';
import { readBundleChain } from '../../bundle/chain-read.js';
import {
  assertMayReceive,
  buildNextRecord,
  checkBundleChain,
  checkRecordText,
  importInput,
  nextRecordTime,
  type NewRecord,
} from '../../bundle/custody-ops.js';
import { appendMembers, journalPathFor, recoverInterruptedAppend } from '../../bundle/tar-append.js';
import type { BundleVerdict } from '../../bundle/verify.js';
import type { VerificationSummary } from '../../custody/record.js';
import { openLedger } from '../../ledger/index.js';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import { loadSigner } from '../keys.js';
import { VERSION } from '../main.js';
import { outcome, type Outcome } from '../outcome.js';
import { openBundleSource, runVerify, verdictJson, verdictText } from './verify.js';
import { collect } from '../options.js';
import { openEncryptedReceive } from './receive-encrypted.js';

interface ReceiveOptions {
  condition?: string;
  location?: string;
  note?: string;
  key?: string;
  passphraseFile?: string;
  trust?: string[];
  allowUntrusted?: boolean;
  receiptOut?: string;
  out?: string;
}


const HELP = `
receive first verifies the WHOLE bundle exactly as custody verify --full does
(every flat hash and every piece hash recomputed from the data, the seal, the
chain, and that you trust the sealer: custody trust add, or --trust), so the
record attests the flat hashes too. If anything fails, nothing is signed (exit 1). Then the last
record must be a transfer naming your key (else exit 2). The receive record
carries the verification result and the condition you found the evidence in;
it is appended to the bundle, and everything the bundle says (case, items,
files, hashes, records) is imported into your ledger.

A bundle you cannot write (read-only medium, no write permission), or
--receipt-out <file>, gets the record written to a receipt file instead
(default: <bundle>.<NNNN>-receive.dsse.json beside it); pass that file to
custody verify --receipt so the chain includes it.

Example:
  $ custody receive case-2026-041.tar --trust examiner.pub \\
      --condition "seal intact, received by courier" --location "Ministry of Justice, Vienna"
  $ custody receive /media/dvd/case-2026-041.tar --receipt-out case-2026-041.receipt.json`;

export function register(program: Command): void {
  program
    .command('receive')
    .description('accept custody of a bundle transferred to you: verify it, then append a signed receive record')
    .argument('<bundle>', 'the bundle .tar, or an encrypted .tar.age (decrypted with your --key as it is verified; needs --out)')
    .option('--out <bundle.tar>', 'for an encrypted bundle: write the received bundle (with your receive record) here')
    .option('--condition <text>', 'the condition the evidence arrived in')
    .option('--location <text>', 'where it was received')
    .option('--note <text>', 'a note in the record')
    .option('--key <file>', 'signing key (default: env CUSTODY_KEY, or the only key in <home>/keys)')
    .option('--passphrase-file <file>', 'read the key passphrase from this file')
    .option('--trust <pubfile>', "trust this key (the sealer's .pub) for this verification (repeat)", collect, [])
    .option('--allow-untrusted', 'accept a sealer you do not trust; the receive record then says trusted: false')
    .option('--receipt-out <file>', 'write the receive record to this file instead of appending it to the bundle')
    .addHelpText('after', HELP)
    .action(action(receiveCommand));
}

/** Whether we should not (or cannot) write into the bundle: no write bits at all (even for root), or no access. */
function isReadOnly(file: string): boolean {
  try {
    if ((fs.statSync(file).mode & 0o222) === 0) return true;
    fs.accessSync(file, fs.constants.W_OK);
    fs.accessSync(path.dirname(file), fs.constants.W_OK); // the append journal lives beside the bundle
    return false;
  } catch {
    return true;
  }
}

const READ_ONLY_ERRNOS = ['EROFS', 'EACCES', 'EPERM'];

function isReadOnlyFailure(e: unknown): boolean {
  const causeCode = ((e as { cause?: NodeJS.ErrnoException }).cause ?? (e as NodeJS.ErrnoException))?.code;
  return READ_ONLY_ERRNOS.includes(causeCode ?? '');
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

export async function receiveCommand(ctx: CliContext, bundleArg: string, o: ReceiveOptions): Promise<Outcome> {
  if (bundleArg === '-') throw new CustodyError('USAGE', 'receive needs the bundle file (not stdin): the record is appended to it');
  const fields = {
    condition: checkRecordText(o.condition, '--condition'),
    location: checkRecordText(o.location, '--location'),
    note: checkRecordText(o.note, '--note'),
  };
  const enc = await openEncryptedReceive(ctx, bundleArg, o);
  const bundle = enc ? enc.out : path.resolve(bundleArg);
  const src = enc ? enc.source : await openBundleSource(bundleArg); // NOT_FOUND, and undoes an interrupted append where it can
  const signer = enc ? enc.signer : await loadSigner(ctx, { key: o.key, passphraseFile: o.passphraseFile });

  // Fail fast, before hashing what may be terabytes: the quick header-only read says whether a
  // transfer names us. (Skipped while an interrupted append cannot be undone: verify reads the old view.)
  let endOfData: number | undefined;
  if (!enc && !fs.existsSync(journalPathFor(bundle))) {
    const quick = await readBundleChain(bundle).catch(() => undefined);
    if (quick) {
      const qv = checkBundleChain(quick);
      if (!qv.error) {
        assertMayReceive(qv, signer);
        endOfData = quick.endOfData;
      }
    }
  }

  const verifyRun = async (s: typeof src) => {
    const r = await runVerify(ctx, s, { trust: o.trust ?? [], allowUntrusted: o.allowUntrusted === true, receipt: [] }, undefined, 'receive');
    if (enc && r.ok && r.chain) assertMayReceive(r.chain, signer); // before the decrypted bundle is kept at --out
    return r;
  };
  const v = enc ? await enc.verifyInto(verifyRun) : await verifyRun(src);
  if (!v.ok || !v.chain || !v.read || !v.manifest || !v.bagName || !v.bundleDigest || !v.caseId) {
    const out = outcome({ received: false, verdict: verdictJson(v) }, verdictText(ctx, v, src.label));
    out.error = v.error ?? new CustodyError('MALFORMED_BUNDLE', 'the bundle did not verify');
    if (!ctx.opts.json) out.text.push('nothing was signed or appended: custody NOT accepted');
    return out;
  }
  const chain = v.chain;
  assertMayReceive(chain, signer);
  const at = nextRecordTime(chain);
  const record: NewRecord = buildNextRecord(signer, { bagName: v.bagName, bundleDigest: v.bundleDigest, verdict: chain }, 'receive', at, {
    ...fields,
    verification: summary(v),
  });

  // Append in place, or write a receipt beside a bundle we must not or cannot write.
  let receipt: string | undefined = o.receiptOut === undefined ? undefined : path.resolve(o.receiptOut);
  let why = receipt ? '--receipt-out given' : '';
  if (!receipt && isReadOnly(bundle)) {
    receipt = `${bundle}.${String(record.seq).padStart(4, '0')}-receive.dsse.json`;
    why = 'the bundle is read-only';
  }
  if (!receipt) {
    try {
      await appendMembers(bundle, [{ name: `${v.bagName}/${record.member}`, bytes: record.envelope }], endOfData === undefined ? {} : { expectEndOfData: endOfData });
    } catch (e) {
      if (!isReadOnlyFailure(e)) throw e;
      await recoverInterruptedAppend(bundle).catch(() => false);
      receipt = `${bundle}.${String(record.seq).padStart(4, '0')}-receive.dsse.json`;
      why = 'the bundle cannot be written';
    }
  }
  if (receipt) {
    const file = receipt;
    await writeFileAtomically(file, false, async (fd) => {
      fs.writeSync(fd, record.envelope);
    });
  }

  // The receiver's ledger: everything the bundle carries, plus this record.
  let ledgerError: string | undefined;
  try {
    const ledger = openLedger(ctx.opts.home);
    try {
      ledger.importBundle({
        ...importInput({ bagName: v.bagName, bundleDigest: v.bundleDigest, caseId: v.caseId, manifest: v.manifest, envelopes: v.read.chain, verdict: chain }, [record], bundle),
        state: 'received',
      });
    } finally {
      ledger.close();
    }
  } catch (e) {
    ledgerError = e instanceof Error ? e.message : String(e);
    ctx.note(`custody: warning: custody was accepted, but the ledger was not updated: ${ledgerError}`);
  }

  const from = chain.pendingTransfer ? chain.records[chain.pendingTransfer.seq]?.predicate?.by : undefined;
  const text = [
    `received ${bundle}`,
    `  record        ${String(record.seq).padStart(4, '0')} receive ${receipt ? `(receipt ${receipt})` : `(${record.member})`}`,
    `  from          ${from ? `${from.name} (key id ${from.keyid})` : '?'}`,
    `  by            ${signer.identity.name} (key id ${signer.identity.keyid})`,
    `  at            ${at}`,
    `  verified      ${v.files} file(s), ${v.checks.length} checks; sealer ${v.sealer?.trusted ? 'trusted' : 'NOT trusted'}`,
    `  bundle digest ${v.bundleDigest}`,
  ];
  if (receipt) text.push(`${why}: the record was written to ${receipt}; verify with: custody verify ${bundleArg} --receipt ${receipt}`);
  return outcome(
    {
      received: true,
      bundle,
      bundleName: v.bagName,
      bundleDigest: v.bundleDigest,
      case: v.caseId,
      seq: record.seq,
      at,
      by: { name: signer.identity.name, keyid: signer.identity.keyid, fingerprint: signer.identity.fingerprint },
      appended: receipt === undefined,
      ...(receipt === undefined ? { member: record.member } : { receipt }),
      verification: record.predicate.verification,
      ledger: ledgerError === undefined,
      ...(ledgerError === undefined ? {} : { ledgerError }),
    },
    text,
  );
}
