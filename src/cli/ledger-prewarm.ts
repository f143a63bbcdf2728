/**
 * `custody log --case` on a shared (PostgreSQL) ledger: the connection starts
 * before the command is loaded. A PostgreSQL server sets up each connection in
 * a process of its own (~20 ms here, before the first query can run), and
 * loading the command, commander and Node's crypto takes longer than that on
 * our side: started first, the two overlap. The log command's bundle
 * (scripts/build-cli.mjs) and entry.ts call this before they load the command.
 *
 * A guess from the raw arguments, and only a head start: the URL is taken as
 * the command would take it (the global --ledger, else CUSTODY_LEDGER_URL),
 * and the command uses this connection only for exactly that URL
 * (ledger-input.ts); a connection it does not take ends with the process. A
 * server that cannot be reached fails the same way, once, when the command
 * asks for the ledger.
 */
import { commandOf } from './argv-command.js';
import { isLedgerUrl, openPgLedger, type PgLedger } from '../ledger/pg.js';

let early: { url: string; ledger: Promise<PgLedger> } | undefined;

/** The --ledger value argv gives (the last one, as commander keeps it), else CUSTODY_LEDGER_URL. */
function ledgerValue(args: readonly string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a === '--ledger') value = args[++i];
    else if (a.startsWith('--ledger=')) value = a.slice('--ledger='.length);
  }
  return value ?? (process.env.CUSTODY_LEDGER_URL || undefined);
}

/**
 * Starts connecting to the shared ledger a `log --case` argv names, and
 * resolves after one turn of the event loop (the socket connects and the
 * server is sent the start of the conversation). Never throws.
 */
export function prewarmSharedLedger(argv: readonly string[]): Promise<void> {
  try {
    const args = argv.slice(2);
    if (commandOf(argv, ['log']) !== 'log' || !args.some((a) => a === '--case' || a.startsWith('--case='))) return Promise.resolve();
    if (args.includes('--help') || args.includes('-h')) return Promise.resolve();
    const url = ledgerValue(args);
    if (url === undefined || !isLedgerUrl(url)) return Promise.resolve();
    const ledger = openPgLedger(url);
    ledger.catch(() => {}); // reported when the command takes it
    early = { url, ledger };
  } catch {
    return Promise.resolve();
  }
  return new Promise((resolve) => setImmediate(resolve));
}

/** The connection started for `url`, once; undefined when none was (or it was for another URL). */
export function takePrewarmedLedger(url: string): Promise<PgLedger> | undefined {
  if (early === undefined || early.url !== url) return undefined;
  const { ledger } = early;
  early = undefined;
  return ledger;
}
