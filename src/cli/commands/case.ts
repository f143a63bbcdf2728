/** `custody case new|list|show`: open a case before sealing, see what the ledger knows (DESIGN §2, §5). */
import { table } from '../table.js';
import type { Command } from 'commander';
import { CustodyError } from '../../core/errors.js';
import type { BundleRow, CaseRow } from '../../ledger/index.js';
import { createCase, listCases, showCase } from '../../ops/case.js';
import { action } from '../action.js';
import { ledgerAt } from '../ledger-input.js';
import type { CliContext } from '../context.js';
import { outcome } from '../outcome.js';

interface NewOptions {
  title: string;
  authority?: string;
}

function caseJson(c: CaseRow): Record<string, unknown> {
  return { id: c.id, title: c.title ?? null, authority: c.authority ?? null, createdAt: c.createdAt, bundles: c.bundles };
}


async function newCaseCommand(ctx: CliContext, id: string, opts: NewOptions) {
  const c = await createCase(ledgerAt(ctx, true)!, { id, title: opts.title, authority: opts.authority });
  return outcome({ case: caseJson(c) }, `created case ${ctx.chalk.bold(c.id)}: ${c.title ?? ''}`);
}

async function listCasesCommand(ctx: CliContext) {
  {
    const cases = await listCases(ledgerAt(ctx, true)!);
    const text =
      cases.length === 0
        ? ['no cases yet (custody case new <id> --title <text>, or seal with --case <id>)']
        : table(
            ['CASE', 'BUNDLES', 'CREATED', 'AUTHORITY', 'TITLE'],
            cases.map((c) => [c.id, String(c.bundles), c.createdAt.slice(0, 10), c.authority ?? '-', c.title ?? '-']),
          );
    return outcome({ cases: cases.map(caseJson) }, text);
  }
}

function bundleJson(b: BundleRow): Record<string, unknown> {
  return { digest: b.digest, name: b.name, path: b.path ?? null, state: b.state, records: b.records, updatedAt: b.updatedAt };
}

async function showCaseCommand(ctx: CliContext, id: string) {
  {
    const { case: c, bundles } = await showCase(ledgerAt(ctx, true)!, id);
    const text = [
      `case       ${c.id}`,
      `title      ${c.title ?? '-'}`,
      `authority  ${c.authority ?? '-'}`,
      `created    ${c.createdAt}`,
      '',
      ...(bundles.length === 0
        ? ['no bundles yet']
        : table(
            ['BUNDLE DIGEST', 'STATE', 'RECORDS', 'NAME', 'PATH'],
            bundles.map((b) => [b.digest, b.state, String(b.records), b.name, b.path ?? '-']),
          )),
    ];
    return outcome({ case: caseJson(c), bundles: bundles.map(bundleJson) }, text);
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('case')
    .description('open a case before sealing, list the cases in the ledger')
    .addHelpText(
      'after',
      '\nExamples:\n  $ custody case new 2026-041 --title "Fraud at ACME GmbH" --authority "Public Prosecutor, Vienna"\n  $ custody case list\n  $ custody case show 2026-041',
    )
    // Without a subcommand: one usage line rather than commander's help dump on stderr.
    .usage('new|list|show [options]')
    .argument('[command]')
    .action(
      action(async (_ctx: CliContext, sub: string | undefined) => {
        const what = sub === undefined ? 'case needs a subcommand' : `unknown command 'case ${sub}'`;
        throw new CustodyError('USAGE', `${what}: new, list or show`, { hint: 'see custody case --help' });
      }),
    );

  cmd
    .command('new')
    .description('open a case (seal --case creates one too, without a title)')
    .argument('<id>', 'case id: 1-128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit')
    .requiredOption('--title <text>', 'what the case is about')
    .option('--authority <text>', 'the authority the case is handled under')
    .addHelpText('after', '\nExample:\n  $ custody case new 2026-041 --title "Fraud at ACME GmbH" --authority "Public Prosecutor, Vienna"')
    .action(action(async (ctx: CliContext, id: string, opts: NewOptions) => newCaseCommand(ctx, id, opts)));

  cmd
    .command('list')
    .description('list the cases in the ledger with how many bundles each has')
    .addHelpText('after', '\nExample:\n  $ custody case list\n  $ custody --json case list')
    .action(action(async (ctx: CliContext) => listCasesCommand(ctx)));

  cmd
    .command('show')
    .description("show a case and its bundles: digest, state (sealed / in transit / received), records, last known path")
    .argument('<id>', 'case id')
    .addHelpText('after', '\nExample:\n  $ custody case show 2026-041')
    .action(action(async (ctx: CliContext, id: string) => showCaseCommand(ctx, id)));
}
