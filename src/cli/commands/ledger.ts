/** `custody ledger import`: teach the ledger a bundle's chain, or a receipt sent back by the recipient (DESIGN §5). */
import type { Command } from 'commander';
import { importIntoLedger } from '../../ops/ledger-import.js';
import { copyLedger, initSharedLedger } from '../../ops/ledger-shared.js';
import { action } from '../action.js';
import { ledgerAt } from '../ledger-input.js';
import type { CliContext } from '../context.js';
import { outcome, type Outcome } from '../outcome.js';

const HELP = `
A bundle: every record of its chain (checked first) goes into the ledger, with
its case, items and files; records the ledger holds already are not repeated.
A receipt (a receive record written with custody receive --receipt-copy, sent
back by the recipient): it goes in only if it is the next record of the chain
the ledger holds for that bundle — then custody verify names an older copy of
the bundle a stale copy.

Example:
  $ custody ledger import case-2026-041.0002-receive.dsse.json
  $ custody ledger import case-2026-041.tar`;

export function register(program: Command): void {
  const cmd = program
    .command('ledger')
    .description("the ledger's own tasks: import what it learned elsewhere, set up and fill a lab's shared ledger")
    .addHelpText('after', '\nExample:\n  $ custody ledger import case-2026-041.0002-receive.dsse.json');
  cmd
    .command('import')
    .description('import a bundle\'s chain, or a receipt sent back by its recipient, into the ledger')
    .argument('<file>', 'a bundle .tar, or a receipt (.dsse.json)')
    .addHelpText('after', HELP)
    .action(
      action(async (ctx: CliContext, file: string): Promise<Outcome> => {
        const r = await importIntoLedger(ledgerAt(ctx, true)!, file);
        return outcome(
          { kind: r.kind, bundleDigest: r.bundleDigest, bundleName: r.bundleName, recordsAdded: r.recordsAdded },
          `imported ${r.kind === 'receipt' ? 'the receipt' : 'the chain'} of ${r.bundleName} (sha256:${r.bundleDigest}): ${r.recordsAdded} new record(s)`,
        );
      }),
    );
  cmd
    .command('init')
    .description("set up a lab's shared ledger on PostgreSQL: tables, append-only triggers, a writer role")
    .requiredOption('--url <url>', 'postgres://owner@host/db (the owner of the tables; examiners connect as the writer role)')
    .requiredOption('--writer-role <role>', 'the role created (without login) and granted INSERT and SELECT only; grant it to the examiners\' logins')
    .addHelpText('after', INIT_HELP)
    .action(
      action(async (ctx: CliContext, o: { url: string; writerRole: string }): Promise<Outcome> => {
        const r = await initSharedLedger(o.url, o.writerRole);
        return outcome(
          { ledger: r.ledger, schemaFrom: r.from, schemaVersion: r.to, writerRole: r.writerRole },
          [
            r.from === r.to ? `the ledger ${r.ledger} is at schema version ${r.to} already` : `set up the ledger ${r.ledger}: schema version ${r.from} → ${r.to}`,
            `role ${r.writerRole} may INSERT and SELECT only (records and the trust history are append-only for every role)`,
          ],
        );
      }),
    );
  cmd
    .command('copy')
    .description("copy a ledger.db into a lab's shared ledger, row for row (run it again: nothing is added twice)")
    .requiredOption('--from <ledger.db>', 'the SQLite ledger (or the home folder holding one)')
    .requiredOption('--to <url>', 'the shared ledger: postgres://…')
    .addHelpText('after', '\nExample:\n  $ custody ledger copy --from ~/.custody/ledger.db --to postgres://examiner@ledger.lab/custody')
    .action(
      action(async (ctx: CliContext, o: { from: string; to: string }): Promise<Outcome> => {
        const r = await copyLedger(o.from, o.to);
        const total = (x: Record<string, number>): number => Object.values(x).reduce((a, b) => a + b, 0);
        return outcome({ from: r.from, to: r.to, source: r.source, added: r.added }, [
          `copied ${r.from} into ${r.to}: ${total(r.added)} new row(s) of ${total(r.source)}`,
          ...Object.keys(r.source).map((t) => `  ${t.padEnd(13)} ${String(r.source[t as keyof typeof r.source]).padStart(8)} in the source, ${r.added[t as keyof typeof r.added]} new`),
        ]);
      }),
    );
}

const INIT_HELP = `
Run once by the database's owner (and again after upgrading custody: missing
migrations are applied in one transaction under an advisory lock). Examiners
then use the writer role, e.g. GRANT custody_writer TO alice, and point
custody at the ledger with --ledger postgres://alice@host/db or
CUSTODY_LEDGER_URL.

Example:
  $ custody ledger init --url postgres://postgres@ledger.lab/custody --writer-role custody_writer
  $ export CUSTODY_LEDGER_URL=postgres://alice@ledger.lab/custody`;
