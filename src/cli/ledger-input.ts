/**
 * Which ledger a command compares a bundle with: --ledger <file> (a ledger.db,
 * or the home folder holding one), else the home's when it has one. Reading
 * a bundle never creates a ledger.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { hasLedger, homeLedger, type LedgerAccess } from '../ops/ledger-access.js';
import type { CliContext } from './context.js';

export function ledgerFor(ctx: CliContext, flag?: string): LedgerAccess | undefined {
  if (flag === undefined) return hasLedger(ctx.opts.home) ? homeLedger(ctx.opts.home) : undefined;
  let st: fs.Stats;
  try {
    st = fs.statSync(flag);
  } catch {
    throw new CustodyError('NOT_FOUND', `no such ledger: ${flag}`);
  }
  const home = st.isDirectory() ? flag : path.basename(flag) === 'ledger.db' ? path.dirname(flag) : undefined;
  if (home === undefined || !hasLedger(home)) throw new CustodyError('USAGE', `--ledger ${flag}: give a ledger.db file or the folder holding one`);
  return homeLedger(home);
}
