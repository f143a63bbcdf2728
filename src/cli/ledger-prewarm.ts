/**
 * `custody log --case` on a shared (PostgreSQL) ledger: the connection starts
 * before the command is loaded. A PostgreSQL server sets up each connection in
 * a process of its own (~20 ms here, before the first query can run), and
 * loading the command, commander and Node's crypto takes longer than that on
 * our side: started first, the two overlap. The log command's bundle
 * (scripts/build-cli.mjs) and entry.ts call this before they load the command.
 *
 * With the connection go the queries of the case argv names (PgLedger.prefetchCase),
 * answered while the command loads; the command's reads take those answers only
 * for exactly that case, each once, and ask the server themselves otherwise.
 *
 * A guess from the raw arguments, and only a head start: the URL is taken as
 * the command would take it (the global --ledger, else CUSTODY_LEDGER_URL),
 * and the command uses this connection only for exactly that URL
 * (ledger-input.ts); a connection it does not take ends with the process. A
 * server that cannot be reached fails the same way, once, when the command
 * asks for the ledger.
 */
import { commandOf } from './argv-command.js';
import { isValidCaseId } from '../core/case-id.js';
import { isLedgerUrl, openPgLedger, type PgLedger } from '../ledger/pg.js';

let early: { url: string; ledger: Promise<PgLedger> } | undefined;

/** The value argv gives an option (the last one, as commander keeps it). */
function optionValue(args: readonly string[], option: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a === option) value = args[++i];
    else if (a.startsWith(`${option}=`)) value = a.slice(option.length + 1);
  }
  return value;
}

/** The --ledger value argv gives, else CUSTODY_LEDGER_URL. */
function ledgerValue(args: readonly string[]): string | undefined {
  return optionValue(args, '--ledger') ?? (process.env.CUSTODY_LEDGER_URL || undefined);
}

/**
 * Starts connecting to the shared ledger a `log --case` argv names, and
 * resolves after one turn of the event loop (the socket connects and the
 * server is sent the start of the conversation): true when it started one.
 * Never throws.
 */
export function prewarmSharedLedger(argv: readonly string[]): Promise<boolean> {
  try {
    const args = argv.slice(2);
    if (commandOf(argv, ['log']) !== 'log' || !args.some((a) => a === '--case' || a.startsWith('--case='))) return Promise.resolve(false);
    if (args.includes('--help') || args.includes('-h')) return Promise.resolve(false);
    const url = ledgerValue(args);
    if (url === undefined || !isLedgerUrl(url)) return Promise.resolve(false);
    // The case's rows are asked for with the connection (PgLedger.prefetchCase), for the case argv names.
    const caseId = optionValue(args, '--case');
    const ledger = openPgLedger(url, caseId !== undefined && isValidCaseId(caseId) ? { prefetchCase: caseId } : {});
    ledger.catch(() => {}); // reported when the command takes it
    early = { url, ledger };
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => setImmediate(() => resolve(true)));
}

/** The connection started for `url`, once; undefined when none was (or it was for another URL). */
export function takePrewarmedLedger(url: string): Promise<PgLedger> | undefined {
  if (early === undefined || early.url !== url) return undefined;
  const { ledger } = early;
  early = undefined;
  return ledger;
}
