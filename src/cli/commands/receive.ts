/** `custody receive`: the named recipient verifies the whole bundle, then countersigns receipt (DESIGN §2, §4). */
import type { Command } from 'commander';
import { CustodyError } from '../../core/errors.js';
import { recordNumber } from '../../custody/record.js';
import { openBundleInput } from '../../ops/bundle-input.js';
import { receive, receiveFields } from '../../ops/receive.js';
import { action } from '../action.js';
import { ledgerAt, ledgerBehind } from '../ledger-input.js';
import type { CliContext } from '../context.js';
import { loadSigner } from '../keys.js';
import { outcome, type Outcome } from '../outcome.js';
import { collect } from '../options.js';
import { progressFor } from '../progress.js';
import { verdictJson, verdictText } from '../render/verdict.js';
import { trustFor } from '../trust-input.js';
import { openEncryptedReceive } from '../receive-encrypted.js';

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
  allowFork?: boolean;
  receiptCopy?: string;
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
    .option('--receipt-copy <file>', 'also write your receive record to this file, to send back to the sender (custody ledger import <file>)')
    .option('--allow-fork', 'accept a copy your ledger knows to be stale or forked (a re-send of a copy lost in transit; say why with --note)')
    .option('--out <bundle.tar>', 'for an encrypted bundle: write the received bundle (with your receive record) here')
    .option('--condition <text>', 'the condition the evidence arrived in')
    .option('--location <text>', 'where it was received')
    .option('--note <text>', 'a note in the record')
    .option('--key <file>', 'signing key (default: env CUSTODY_KEY, or the only key in <home>/keys)')
    .option('--passphrase-file <file>', 'read the key passphrase from this file')
    .option('--trust <pubfile|fingerprint>', "trust this sealer for this verification: its .pub file, or its 64-hex fingerprint as read out to you (repeat)", collect, [])
    .option('--allow-untrusted', 'accept a sealer you do not trust; the receive record then says trusted: false')
    .option('--receipt-out <file>', 'write the receive record to this file instead of appending it to the bundle')
    .addHelpText('after', HELP)
    .action(action(receiveCommand));
}

export async function receiveCommand(ctx: CliContext, bundleArg: string, o: ReceiveOptions): Promise<Outcome> {
  if (bundleArg === '-') throw new CustodyError('USAGE', 'receive needs the bundle file (not stdin): the record is appended to it');
  receiveFields(o);
  const enc = await openEncryptedReceive(ctx, bundleArg, o);
  const input = enc ? enc.source : await openBundleInput(bundleArg); // NOT_FOUND before a passphrase is asked for
  const signer = enc ? enc.signer : await loadSigner(ctx, { key: o.key, passphraseFile: o.passphraseFile });
  let received = false;
  let r: Awaited<ReturnType<typeof receive>>;
  try {
    r = await receive({
      ...o,
      bundle: enc ? enc.out : bundleArg,
      input,
      signer,
      ...(enc ? { encrypted: { keep: enc.verifyInto } } : {}),
      ...trustFor(ctx, o.trust ?? []),
      allowUntrusted: o.allowUntrusted === true,
      ledger: ledgerAt(ctx, true),
      allowFork: o.allowFork === true,
      progress: progressFor(ctx),
    });
    received = r.received;
  } finally {
    enc?.settle(received);
  }
  const v = r.verdict;
  if (!r.received) {
    const out = outcome({ received: false, verdict: verdictJson(v) }, verdictText(ctx, v, input.label));
    out.error = v.error!;
    if (!ctx.opts.json) out.text.push('nothing was signed or appended: custody NOT accepted');
    return out;
  }
  const behind = ledgerBehind('the receive record', r.bundle, r.ledger);
  if (r.ledger.error !== undefined && !behind) ctx.note(`custody: warning: custody was accepted, but the ledger was not updated: ${r.ledger.error}`);
  const chain = v.chain!;
  const record = r.record;
  const from = chain.pendingTransfer ? chain.records[chain.pendingTransfer.seq]?.predicate?.by : undefined;
  const at = record.predicate.at;
  const text = [
    `received ${r.bundle}`,
    `  record        ${recordNumber(record.seq)} receive ${r.receipt ? `(receipt ${r.receipt.file})` : `(${record.member})`}`,
    `  from          ${from ? `${from.name} (key id ${from.keyid})` : '?'}`,
    `  by            ${signer.identity.name} (key id ${signer.identity.keyid})`,
    `  at            ${at}`,
    `  verified      ${v.files} file(s), ${v.checks.length} checks; sealer ${v.sealer?.trusted ? 'trusted' : 'NOT trusted'}`,
    `  bundle digest ${v.bundleDigest}`,
  ];
  if (behind) text.push(`ledger NOT updated: custody ledger import ${r.bundle} catches it up`);
  if (r.receipt) text.push(`${r.receipt.why}: the record was written to ${r.receipt.file}; verify with: custody verify ${bundleArg} --receipt ${r.receipt.file}`);
  const out = outcome(
    {
      received: true,
      bundle: r.bundle,
      bundleName: v.bagName,
      bundleDigest: v.bundleDigest,
      case: v.caseId,
      seq: record.seq,
      at,
      by: { name: signer.identity.name, keyid: signer.identity.keyid, fingerprint: signer.identity.fingerprint },
      appended: r.receipt === undefined,
      ...(r.receipt === undefined ? { member: record.member } : { receipt: r.receipt.file }),
      verification: record.predicate.verification,
      ledger: r.ledger.ok,
      ...(r.ledger.error === undefined ? {} : { ledgerError: r.ledger.error, ledgerCatchUp: `custody ledger import ${r.bundle}` }),
    },
    text,
  );
  if (behind) out.error = behind;
  return out;
}
