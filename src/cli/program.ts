/**
 * The commander program without its commands: global options, the one-line
 * error forms, and the one place that calls process.exit. Kept apart from the
 * commands so that a run loads only the command it names (start-up time: a
 * module graph of every command and every library costs hundreds of ms).
 */
import { Command, CommanderError } from 'commander';
import { CustodyError } from '../core/errors.js';
import { escapeText, safeJson } from '../core/text.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { commandExitCode } from './action.js';
import { renderError, errorLine, errorJson } from './run.js';
import { removeTrackedTemps, takeInterruptNotes, takeNotes } from '../bundle/temp-files.js';

import { VERSION } from '../core/version.js';

/** The program with its global options and help text, and no command yet. */
export function baseProgram(): Command {
  const program = new Command();
  program
    .name('custody')
    .description('Chain of custody for digital evidence: hash, seal, hand over and verify, offline.')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--home <dir>', 'where ledger.db and keys/ live (env CUSTODY_HOME, default ~/.custody)')
    .option('--ledger <file|url>', 'the ledger to read and write: a ledger.db, or postgres://… for a lab\'s shared ledger (env CUSTODY_LEDGER_URL; default the home\'s)')
    .option('--json', 'print one JSON document on stdout')
    .option('-q, --quiet', 'no progress output')
    .option('--no-color', 'no colours (NO_COLOR is honoured too)')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      // Commander's own error text is replaced by our one-line `custody:` form in main().
      outputError: () => {},
    })
    .addHelpText(
      'after',
      '\nExamples:\n  $ custody demo\n  $ custody hash image.dd\n  $ custody seal image.dd --case 2026-041 --out case.tar\n  $ custody verify case.tar --trust examiner.pub\n\nExit codes: 0 done/verified, 1 evidence does not verify, 2 usage, 3 runtime failure.',
    );
  return program;
}

function usageFromCommander(e: CommanderError): CustodyError {
  // A command group called without a subcommand: commander has printed its help already.
  if (e.code === 'commander.help') return new CustodyError('USAGE', 'this command needs a subcommand (listed above)');
  const message = e.message.replace(/^error: /, '');
  return new CustodyError('USAGE', message, { hint: 'see custody --help' });
}

const SIGNALS: [NodeJS.Signals, number][] = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
];

/**
 * An interrupted run removes what it made (the temporary bundle, report or
 * extract folder) and says so in one line; exit 128 + the signal number.
 */
function onSignals(): void {
  for (const [sig, code] of SIGNALS) {
    process.once(sig, () => {
      const n = removeTrackedTemps();
      process.stderr.write(`custody: interrupted (${sig})${n > 0 ? '; removed the unfinished output' : ''}\n`);
      for (const note of takeInterruptNotes()) process.stderr.write(`custody: note: ${escapeText(note)}\n`);
      process.exit(code);
    });
  }
}

/** Parses argv with `program`, prints a usage or runtime error as one line, and exits. */
export async function runProgram(program: Command, argv: string[]): Promise<void> {
  onSignals();
  let code = EXIT_OK;
  try {
    await program.parseAsync(argv);
    code = commandExitCode();
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) {
        code = EXIT_OK; // --help, --version
      } else {
        const err = usageFromCommander(e);
        if (argv.includes('--json')) process.stdout.write(`${safeJson({ ok: false, error: errorJson(err) })}\n`);
        else process.stderr.write(`${errorLine(err)}\n`);
        code = EXIT_USAGE;
      }
    } else {
      code = renderError(undefined, e);
    }
  }
  for (const note of takeNotes()) process.stderr.write(`custody: note: ${escapeText(note)}\n`);
  // Let stdout drain before exiting (pipes may be asynchronous); worker threads must not keep us alive.
  process.stdout.write('', () => process.exit(code));
}
