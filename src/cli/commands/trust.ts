/**
 * `custody trust add|list|remove`: the keys whose seals this examiner or
 * authority accepts (DESIGN §2, §4). Stored in the ledger's trusted-keys
 * table. Trust comes from the fingerprint confirmed out of band, never from
 * the file itself, so `add` prints the fingerprint and says so.
 */
import { quotedAscii } from '../../core/text.js';
import type { Command } from 'commander';
import { CustodyError } from '../../core/errors.js';
import { groupedFingerprint } from '../../custody/ed25519.js';
import type { TrustedKey } from '../../ledger/index.js';
import { useLedger } from '../../ops/ledger-access.js';
import { ledgerAt } from '../ledger-input.js';
import { addTrustedFromBundle, addTrustedKey, type TrustAdded } from '../../ops/trust.js';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import { damagedTrustNote, readKeyishFile } from '../keys.js';
import { outcome } from '../outcome.js';
import { table } from '../table.js';

function trustedJson(k: TrustedKey): Record<string, unknown> {
  return {
    fingerprint: k.fingerprint,
    keyid: k.keyid,
    name: k.name,
    org: k.org ?? null,
    role: k.role ?? null,
    label: k.label ?? null,
    publicKey: Buffer.from(k.publicKey).toString('base64'),
    addedAt: k.addedAt,
  };
}

export async function addTrust(ctx: CliContext, file: string, opts: { name?: string }) {
  return trustOutcome(ctx, await addTrustedKey(ledgerAt(ctx, true)!, readKeyishFile(file), file, opts.name), false);
}

function trustOutcome(ctx: CliContext, t: TrustAdded, checked: boolean) {
  const { added, identity: id, label, named } = t;
  const who = [id.name, id.org, id.role].filter(Boolean).join(', ');
  const text = [
    `${added ? 'trusted' : 'already trusted'}: ${ctx.chalk.bold(who)}${label !== undefined && named ? ` (label ${label})` : ''}`,
    `key id       ${id.keyid}`,
    `fingerprint  ${groupedFingerprint(id.fingerprint)}`,
    checked
      ? 'The fingerprint matched the one you gave: trust comes from that fingerprint, confirmed out of band.'
      : ctx.chalk.yellow('Confirm this fingerprint with the key owner out of band (in person or by phone), not from the file or the bundle.'),
  ];
  return outcome(
    { added, fingerprint: id.fingerprint, keyid: id.keyid, name: id.name, org: id.org ?? null, role: id.role ?? null, label: label ?? null },
    text,
  );
}

/** A string from a row that is not to be believed, quoted and in printable ASCII (nothing in it reaches the terminal raw). */
const asciiQuoted = quotedAscii;

async function listTrust(ctx: CliContext) {
  const { keys, damaged } = await useLedger(ledgerAt(ctx, true)!, (ledger) => ledger.trustStore());
  const rows = keys.map((k) => [k.fingerprint, k.addedAt.slice(0, 10), [k.name, k.org, k.role].filter(Boolean).join(', ') + (k.label ? ` [${k.label}]` : '')]);
  // A damaged row's fields are not to be believed: its name is shown quoted, and it is never trusted.
  for (const d of damaged) rows.push([d.fingerprint, /^\d{4}-\d{2}-\d{2}/.test(d.addedAt) ? d.addedAt.slice(0, 10) : '?', `${ctx.chalk.red('DAMAGED, not trusted')}: ${asciiQuoted(d.name)}: ${d.problem}`]);
  const text =
    rows.length === 0 ? ['no trusted keys (custody trust add <pubfile> after confirming its fingerprint)'] : table(['FINGERPRINT', 'ADDED', 'NAME'], rows);
  for (const d of damaged) ctx.note(damagedTrustNote(d));
  return outcome({ keys: keys.map(trustedJson), damaged }, text);
}

async function removeTrust(ctx: CliContext, fp: string) {
  const removed = await useLedger(ledgerAt(ctx, true)!, (ledger) => ledger.removeTrustedKey(fp));
  if (!removed) throw new CustodyError('NOT_FOUND', `no trusted key matches ${fp}`, { hint: 'custody trust list shows the fingerprints' });
  return outcome({ removed: trustedJson(removed) }, `no longer trusted: ${removed.name} (fingerprint ${removed.fingerprint})`);
}

export function register(program: Command): void {
  const cmd = program
    .command('trust')
    .description('the keys whose seals you accept (after confirming their fingerprints out of band)')
    .addHelpText('after', '\nExamples:\n  $ custody trust add examiner.pub\n  $ custody trust list\n  $ custody trust remove 3f2a9c0d');

  cmd
    .command('add')
    .description('trust a public key (.pub, PEM, ssh-ed25519 or minisign); prints the fingerprint to confirm out of band')
    .argument('[pubfile]', 'the public key file (or --from a bundle with --fingerprint)')
    .option('--name <label>', 'a label for the key (required when the file carries no name, e.g. a PEM)')
    .option('--from <bundle>', "take the sealer's key from this bundle, once its fingerprint is the one given with --fingerprint")
    .option('--fingerprint <fp>', 'with --from: the sealer fingerprint as read out to you (64 hex digits; spaces, colons, dashes allowed)')
    .addHelpText(
      'after',
      '\nExample:\n  $ custody trust add examiner.pub\n  $ custody trust add bundle/custody/sealer.pem --name "Ana Lima, Police Lab"\n  $ custody trust add --from case-2026-041.tar --fingerprint "3f2a 9c0d … (all 16 groups)"',
    )
    .action(
      action(async (ctx: CliContext, file: string | undefined, opts: { name?: string; from?: string; fingerprint?: string }) => {
        if (opts.from !== undefined || opts.fingerprint !== undefined) {
          if (file !== undefined || opts.from === undefined || opts.fingerprint === undefined) {
            throw new CustodyError('USAGE', 'trust add takes a key file, or --from <bundle> with --fingerprint <fp>');
          }
          return trustOutcome(ctx, await addTrustedFromBundle(ledgerAt(ctx, true)!, opts.from, opts.fingerprint, opts.name), true);
        }
        if (file === undefined) throw new CustodyError('USAGE', 'trust add needs a key file, or --from <bundle> --fingerprint <fp>');
        return addTrust(ctx, file, opts);
      }),
    );

  cmd
    .command('list')
    .description('list the trusted keys')
    .addHelpText('after', '\nExample:\n  $ custody trust list')
    .action(action(async (ctx: CliContext) => listTrust(ctx)));

  cmd
    .command('remove')
    .description('stop trusting a key (the ledger keeps a history of adds and removes)')
    .argument('<fp>', 'the fingerprint, or at least 8 of its first hex digits')
    .addHelpText('after', '\nExample:\n  $ custody trust remove 3f2a9c0d')
    .action(action(async (ctx: CliContext, fp: string) => removeTrust(ctx, fp)));
}
