/** `custody ledger import`: teach the ledger a bundle's chain, or a receipt sent back by the recipient (DESIGN §5). */
import type { Command } from 'commander';
import { homeLedger } from '../../ops/ledger-access.js';
import { importIntoLedger } from '../../ops/ledger-import.js';
import { action } from '../action.js';
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
    .description("the ledger's own tasks: import what it learned elsewhere")
    .addHelpText('after', '\nExample:\n  $ custody ledger import case-2026-041.0002-receive.dsse.json');
  cmd
    .command('import')
    .description('import a bundle\'s chain, or a receipt sent back by its recipient, into the ledger')
    .argument('<file>', 'a bundle .tar, or a receipt (.dsse.json)')
    .addHelpText('after', HELP)
    .action(
      action(async (ctx: CliContext, file: string): Promise<Outcome> => {
        const r = await importIntoLedger(homeLedger(ctx.opts.home, true)!, file);
        return outcome(
          { kind: r.kind, bundleDigest: r.bundleDigest, bundleName: r.bundleName, recordsAdded: r.recordsAdded },
          `imported ${r.kind === 'receipt' ? 'the receipt' : 'the chain'} of ${r.bundleName} (sha256:${r.bundleDigest}): ${r.recordsAdded} new record(s)`,
        );
      }),
    );
}
