/**
 * Which ledger a command uses: --ledger <url|file> (a postgres:// or
 * postgresql:// URL names a lab's shared ledger; a file is a ledger.db, or the
 * home folder holding one), else env CUSTODY_LEDGER_URL, else the home's.
 * Reading a bundle never creates a ledger.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { hasLedger, homeLedger, isLedgerUrl, urlLedger, type LedgerAccess } from '../ops/ledger-access.js';
import type { CliContext } from './context.js';
import { takePrewarmedLedger } from './ledger-prewarm.js';

/** The --ledger value in force (the command's own flag first, then the global one, then the environment). */
function chosen(ctx: CliContext, flag?: string): string | undefined {
  const v = flag ?? ctx.opts.ledger;
  if (v !== undefined) return v;
  const env = process.env.CUSTODY_LEDGER_URL;
  if (env === undefined || env === '') return undefined;
  if (!isLedgerUrl(env)) throw new CustodyError('USAGE', 'CUSTODY_LEDGER_URL must be a postgres:// or postgresql:// URL', { hint: 'unset it to use the ledger in your home' });
  return env;
}

function fileLedger(flag: string): LedgerAccess {
  let st: fs.Stats;
  try {
    st = fs.statSync(flag);
  } catch {
    throw new CustodyError('NOT_FOUND', `no such ledger: ${flag}`);
  }
  const home = st.isDirectory() ? flag : path.basename(flag) === 'ledger.db' ? path.dirname(flag) : undefined;
  if (home === undefined || !hasLedger(home)) throw new CustodyError('USAGE', `--ledger ${flag}: give a ledger.db file, the folder holding one, or a postgres:// URL`);
  return homeLedger(home)!;
}

/** A shared ledger; its connection may have been started already (ledger-prewarm.ts). */
function sharedLedger(url: string): LedgerAccess {
  const early = takePrewarmedLedger(url);
  return early ? () => early : urlLedger(url);
}

/** A ledger to compare with (verify, log, extract, report): none when the home has none and none was named. */
export function ledgerFor(ctx: CliContext, flag?: string): LedgerAccess | undefined {
  const v = chosen(ctx, flag);
  if (v === undefined) return hasLedger(ctx.opts.home) ? homeLedger(ctx.opts.home) : undefined;
  return isLedgerUrl(v) ? sharedLedger(v) : fileLedger(v);
}

/** The ledger a command writes (seal, transfer, receive, case, trust, ledger import): the home's is created when `create`. */
export function ledgerAt(ctx: CliContext, create = false): LedgerAccess | undefined {
  const v = chosen(ctx);
  if (v === undefined) return homeLedger(ctx.opts.home, create);
  return isLedgerUrl(v) ? urlLedger(v) : fileLedger(v);
}

/** Whether the command runs on a shared (PostgreSQL) ledger. */
export function sharedLedgerUrl(ctx: CliContext): string | undefined {
  const v = chosen(ctx);
  return v !== undefined && isLedgerUrl(v) ? v : undefined;
}

/**
 * A hand-over that is in the bundle but not in the shared ledger: the command did its job (the bundle is
 * the truth), and says — as an exit-3 runtime failure, so a lab pipeline notices — how the ledger catches up.
 */
export function ledgerBehind(what: string, bundle: string, ledger: { ok: boolean; error?: string; shared?: boolean }): CustodyError | undefined {
  if (ledger.error === undefined || ledger.shared !== true) return undefined;
  return new CustodyError('IO_ERROR', `${what} is in the bundle ${bundle}, but the shared ledger was not updated: ${ledger.error}`, {
    hint: `custody ledger import ${bundle} catches the ledger up once it is reachable`,
  });
}
