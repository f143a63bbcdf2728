/**
 * Setting up and filling a lab's shared ledger on PostgreSQL: `custody ledger
 * init` (schema, triggers, a writer role that may only INSERT and SELECT) and
 * `custody ledger copy` (an examiner's own ledger.db moved in, row for row).
 *
 * Threat: losing or altering history while moving it. The copy reads the
 * SQLite ledger in one snapshot and writes every row in one transaction —
 * all or nothing; rows already there are skipped (a copy run twice adds
 * nothing), and a record that differs from the one the shared ledger holds at
 * the same place is a fork that stops the copy, naming both.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { openLedger, type LedgerRows } from '../ledger/index.js';
import { isLedgerUrl, openPgLedger } from '../ledger/pg.js';

export interface SharedLedgerInit {
  ledger: string;
  from: number;
  to: number;
  writerRole: string;
}

function assertUrl(url: string, flag: string): void {
  if (!isLedgerUrl(url)) throw new CustodyError('USAGE', `${flag} must be a postgres:// or postgresql:// URL`);
}

/** Creates or migrates the shared ledger's tables and triggers and grants the writer role INSERT and SELECT only. */
export async function initSharedLedger(url: string, writerRole: string): Promise<SharedLedgerInit> {
  assertUrl(url, '--url');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(writerRole)) throw new CustodyError('USAGE', `--writer-role ${JSON.stringify(writerRole)}: use lowercase letters, digits and _ (at most 63)`);
  const l = await openPgLedger(url, { migrate: true });
  try {
    const { from, to } = await l.migrate();
    await l.grantWriter(writerRole);
    return { ledger: l.name, from, to, writerRole };
  } finally {
    await l.close();
  }
}

export interface LedgerCopied {
  from: string;
  to: string;
  /** Rows in the source, table by table. */
  source: Record<keyof LedgerRows, number>;
  /** Rows the shared ledger did not hold before, table by table. */
  added: Record<keyof LedgerRows, number>;
}

/** The SQLite ledger at `from` (a ledger.db or the folder holding one), copied into the shared ledger at `url`. */
export async function copyLedger(from: string, url: string): Promise<LedgerCopied> {
  assertUrl(url, '--to');
  let st: fs.Stats;
  try {
    st = fs.statSync(from);
  } catch {
    throw new CustodyError('NOT_FOUND', `no such ledger: ${from}`);
  }
  const home = st.isDirectory() ? from : path.basename(from) === 'ledger.db' ? path.dirname(from) : undefined;
  if (home === undefined || !fs.existsSync(path.join(home, 'ledger.db'))) throw new CustodyError('USAGE', `--from ${from}: give a ledger.db file or the folder holding one`);
  const src = openLedger(home);
  let rows: LedgerRows;
  try {
    rows = src.allRows();
  } finally {
    src.close();
  }
  const dest = await openPgLedger(url);
  try {
    const added = await dest.copyRows(rows);
    const source = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, (v as unknown[]).length])) as Record<keyof LedgerRows, number>;
    return { from: path.join(home, 'ledger.db'), to: dest.name, source, added };
  } finally {
    await dest.close();
  }
}
