/** `custody transfer`: the custodian signs a hand-over record into the bundle (DESIGN §2, §4). */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CustodyError } from '../../core/errors.js';
import { checkRecordText, importInput, transferBundle, type TransferResult } from '../../bundle/custody-ops.js';
import { groupedFingerprint } from '../../custody/ed25519.js';
import { readBundleChain } from '../../bundle/chain-read.js';
import { recoverInterruptedAppend } from '../../bundle/tar-append.js';
import { openLedger } from '../../ledger/index.js';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import { loadIdentityRef, loadSigner } from '../keys.js';
import { outcome, type Outcome } from '../outcome.js';
import { readReceipts } from './verify.js';
import { collect } from '../options.js';
import { prepareEncryptedCopy, type EncryptOptions } from './transfer-encrypt.js';

interface TransferOptions extends EncryptOptions {
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
    .option('--encrypt', "also write the bundle encrypted (age) to the recipient's key")
    .option('--out <file.tar.age>', 'with --encrypt: where to write it (default <bundle>.age; never replaced)')
    .option('--encrypt-to <recipient>', 'with --encrypt: also encrypt to this age1… key, ssh-ed25519 line or .pub file (repeat)', collect, [])
    .addHelpText('after', HELP)
    .action(action(transferCommand));
}

/** Writes the transfer to the ledger when there is a home; a ledger failure is reported, not fatal (the bundle is the record). */
async function recordInLedger(ctx: CliContext, bundle: string, r: TransferResult): Promise<{ ok: boolean; error?: string }> {
  if (!fs.existsSync(ctx.opts.home)) return { ok: false };
  try {
    const ledger = openLedger(ctx.opts.home);
    try {
      // One transaction with the whole chain: idempotent for the records the ledger holds, and it also
      // covers a bundle sealed or received elsewhere and any --receipt records appended with this transfer.
      const manifest = await r.chain.manifest();
      ledger.importBundle({
        ...importInput({ ...r.chain, caseId: r.chain.info.caseId, manifest, verdict: r.verdict }, [r.record], bundle),
        state: 'in transit',
      });
    } finally {
      ledger.close();
    }
    return { ok: true };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    ctx.note(`custody: warning: the transfer is in the bundle, but the ledger was not updated: ${msg}`);
    return { ok: false, error: msg };
  }
}

export async function transferCommand(ctx: CliContext, bundleArg: string, o: TransferOptions): Promise<Outcome> {
  const fields = {
    reason: checkRecordText(o.reason, '--reason')!,
    authority: checkRecordText(o.authority, '--authority'),
    location: checkRecordText(o.location, '--location'),
    condition: checkRecordText(o.condition, '--condition'),
    note: checkRecordText(o.note, '--note'),
  };
  const bundle = path.resolve(bundleArg);
  let st: fs.Stats;
  try {
    st = fs.statSync(bundle);
  } catch {
    throw new CustodyError('NOT_FOUND', `no such bundle: ${bundleArg}`);
  }
  if (!st.isFile()) throw new CustodyError('USAGE', `${bundleArg} is not a file`);
  const to = loadIdentityRef(ctx, o.to);
  const signer = await loadSigner(ctx, { key: o.key, passphraseFile: o.passphraseFile });
  const writeEncrypted = prepareEncryptedCopy(ctx, bundle, to, o);
  await recoverInterruptedAppend(bundle);
  const receipts = o.receipt?.length ? readReceipts(o.receipt, (await readBundleChain(bundle)).envelopes.length) : [];
  const r = await transferBundle(bundle, { signer, to, ...fields, receipts });
  const ledger = await recordInLedger(ctx, bundle, r);
  const encrypted = writeEncrypted ? await writeEncrypted() : undefined;
  const p = r.record.predicate;
  return outcome(
    {
      bundle,
      bundleName: r.chain.bagName,
      bundleDigest: r.chain.bundleDigest,
      case: r.chain.info.caseId,
      seq: p.seq,
      member: r.record.member,
      at: p.at,
      from: { name: signer.identity.name, keyid: signer.identity.keyid, fingerprint: signer.identity.fingerprint },
      to: { name: to.name, keyid: to.keyid, fingerprint: to.fingerprint },
      ledger: ledger.ok,
      ...(ledger.error === undefined ? {} : { ledgerError: ledger.error }),
      ...(encrypted ? { encrypted } : {}),
    },
    [
      `transferred ${bundle}`,
      `  record        ${String(p.seq).padStart(4, '0')} transfer (${r.record.member})`,
      `  from          ${signer.identity.name} (key id ${signer.identity.keyid})`,
      `  to            ${to.name}${to.org ? `, ${to.org}` : ''} (key id ${to.keyid})`,
      `  fingerprint   ${groupedFingerprint(to.fingerprint)}`,
      `  at            ${p.at}`,
      `  bundle digest ${r.chain.bundleDigest}`,
      ...(encrypted ? [`  encrypted     ${encrypted.out} (age, to ${encrypted.recipients.join(', ')})`] : []),
      `in transit until ${to.name} runs custody receive`,
    ],
  );
}
