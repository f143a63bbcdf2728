/** `custody transfer`: the custodian signs a hand-over record into the bundle (DESIGN §2, §4). */
import { recordNumber } from '../../custody/record.js';
import type { Command } from 'commander';
import { groupedFingerprint } from '../../custody/ed25519.js';
import { assertBundleFile, transfer, transferFields } from '../../ops/transfer.js';
import { action } from '../action.js';
import { ledgerAt, ledgerBehind } from '../ledger-input.js';
import type { CliContext } from '../context.js';
import { loadIdentityRef, loadSigner } from '../keys.js';
import { outcome, type Outcome } from '../outcome.js';
import { collect } from '../options.js';
import path from 'node:path';
import { prepareEncryptedCopy, type EncryptOptions } from '../transfer-encrypt.js';

interface TransferOptions extends EncryptOptions {
  allowFork?: boolean;
  to: string;
  reason: string;
  authority?: string;
  location?: string;
  condition?: string;
  note?: string;
  key?: string;
  passphraseFile?: string;
  receipt?: string[];
}


const HELP = `
Only the current custodian (the sealer, or whoever last received the bundle)
may transfer it, and only when no earlier transfer is still in transit. The
record names the recipient (--to: their .pub file, or at least 8 hex digits of
a fingerprint in your keys or trust store) and is appended to the bundle in
place: the evidence is not read or rewritten, so this takes milliseconds on
any size. An append interrupted by a crash is undone the next time custody
touches the bundle. Refusals (exit 2) leave the bundle byte-for-byte unchanged.
If you received the bundle while it was read-only (receive wrote a receipt
file), give that file with --receipt: it goes into the bundle with the transfer.

Example:
  $ custody transfer case-2026-041.tar --to central-authority.pub \\
      --reason "MLA request 2026/117" --authority "Public Prosecutor, Lyon" \\
      --location "Lyon evidence room" --condition "sealed, intact"

With --encrypt, the bundle (with the new record) is also written encrypted to
the recipient's key in the age format, to --out (default <bundle>.age); stock
'age -d -i <their key exported with custody key export --format ssh-private>'
opens it, and custody verify/receive/extract/report/log read it with --key.
--encrypt-to adds recipients (an age1… key, an ssh-ed25519 line, a .pub file),
e.g. your own key for the copy you keep:
  $ custody transfer case.tar --to central-authority.pub --reason "MLA 2026/117" \\
      --encrypt --encrypt-to me.pub`;

export function register(program: Command): void {
  program
    .command('transfer')
    .description('hand custody of a bundle to someone else: appends a signed transfer record')
    .argument('<bundle>', 'the bundle .tar')
    .requiredOption('--to <pubfile|fingerprint>', 'the recipient: a .pub file or a fingerprint / key id prefix')
    .requiredOption('--reason <text>', 'why custody is handed over')
    .option('--authority <text>', 'the legal authority for the hand-over')
    .option('--location <text>', 'where the hand-over takes place')
    .option('--condition <text>', 'the condition of the evidence at hand-over')
    .option('--note <text>', 'a note in the record')
    .option('--key <file>', 'signing key (default: env CUSTODY_KEY, or the only key in <home>/keys)')
    .option('--passphrase-file <file>', 'read the key passphrase from this file')
    .option('--receipt <file>', 'your receive record kept beside the bundle while it was read-only: appended first (repeat, in order)', collect, [])
    .option('--allow-fork', 'extend a copy the ledger knows to be stale or forked: the re-send of a copy lost in transit (--reason says why)')
    .option('--encrypt', "also write the bundle encrypted (age) to the recipient's key")
    .option('--out <file.tar.age>', 'with --encrypt: where to write it (default <bundle>.age; never replaced)')
    .option('--encrypt-to <recipient>', 'with --encrypt: also encrypt to this age1… key, ssh-ed25519 line or .pub file (repeat)', collect, [])
    .addHelpText('after', HELP)
    .action(action(transferCommand));
}

export async function transferCommand(ctx: CliContext, bundleArg: string, o: TransferOptions): Promise<Outcome> {
  transferFields(o);
  assertBundleFile(bundleArg);
  const to = loadIdentityRef(ctx, o.to);
  const signer = await loadSigner(ctx, { key: o.key, passphraseFile: o.passphraseFile });
  const writeEncrypted = prepareEncryptedCopy(ctx, path.resolve(bundleArg), to, o); // refused before the record is appended
  const r = await transfer({ ...o, bundle: bundleArg, signer, to, receipts: o.receipt ?? [], ledger: ledgerAt(ctx), allowFork: o.allowFork === true });
  const encrypted = writeEncrypted ? await writeEncrypted() : undefined;
  const behind = ledgerBehind('the transfer', r.bundle, r.ledger);
  if (r.ledger.error !== undefined && !behind) ctx.note(`custody: warning: the transfer is in the bundle, but the ledger was not updated: ${r.ledger.error} (custody ledger import ${r.bundle} catches it up)`);
  const p = r.record.predicate;
  const out = outcome(
    {
      bundle: r.bundle,
      bundleName: r.chain.bagName,
      bundleDigest: r.chain.bundleDigest,
      case: r.chain.info.caseId,
      seq: p.seq,
      member: r.record.member,
      at: p.at,
      from: { name: signer.identity.name, keyid: signer.identity.keyid, fingerprint: signer.identity.fingerprint },
      to: { name: to.name, keyid: to.keyid, fingerprint: to.fingerprint },
      ledger: r.ledger.ok,
      ...(r.ledger.error === undefined ? {} : { ledgerError: r.ledger.error, ledgerCatchUp: `custody ledger import ${r.bundle}` }),
      ...(encrypted ? { encrypted } : {}),
    },
    [
      `transferred ${r.bundle}`,
      `  record        ${recordNumber(p.seq)} transfer (${r.record.member})`,
      `  from          ${signer.identity.name} (key id ${signer.identity.keyid})`,
      `  to            ${to.name}${to.org ? `, ${to.org}` : ''} (key id ${to.keyid})`,
      `  fingerprint   ${groupedFingerprint(to.fingerprint)}`,
      `  at            ${p.at}`,
      `  bundle digest ${r.chain.bundleDigest}`,
      ...(encrypted ? [`  encrypted     ${encrypted.out} (age, to ${encrypted.recipients.join(', ')})`] : []),
      `in transit until ${to.name} runs custody receive`,
      ...(behind ? [`ledger        NOT updated: custody ledger import ${r.bundle} catches it up`] : []),
    ],
  );
  if (behind) out.error = behind;
  return out;
}
