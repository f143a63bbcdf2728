/**
 * How a use case reaches the ledger: a factory the caller passes (the home's
 * SQLite ledger when the home exists, or a lab's shared PostgreSQL ledger
 * named by its URL), or none. The ledger is a convenience and an audit
 * trail: a failure to write it after the bundle changed is reported in the
 * result, never a failed hand-over (the bundle is the truth).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LedgerStore } from '../ledger/index.js';
import { openSqliteStore } from '../ledger/sqlite-store.js';
import { isLedgerUrl, openPgLedger } from '../ledger/pg.js';

export type LedgerAccess = () => Promise<LedgerStore>;

/** The home's ledger, only where the home exists (a verify or transfer must not create one). */
export function homeLedger(home: string, create = false): LedgerAccess | undefined {
  if (!create && !fs.existsSync(home)) return undefined;
  return () => openSqliteStore(home);
}

/** A shared ledger on PostgreSQL (postgres:// or postgresql:// URL). */
export function urlLedger(url: string): LedgerAccess {
  return () => openPgLedger(url);
}

export { isLedgerUrl };

/** Whether the home holds a ledger file already. */
export function hasLedger(home: string): boolean {
  return fs.existsSync(path.join(home, 'ledger.db'));
}

/** Opens the ledger, runs fn, and closes the ledger whatever happens. */
export async function useLedger<T>(access: LedgerAccess, fn: (l: LedgerStore) => T | Promise<T>): Promise<T> {
  const l = await access();
  try {
    return await fn(l);
  } finally {
    await l.close().catch(() => {});
  }
}

/** Runs `write` on the ledger; returns the error message instead of throwing. */
export async function writeLedger(access: LedgerAccess | undefined, write: (l: LedgerStore) => unknown): Promise<{ ok: boolean; error?: string; shared?: boolean }> {
  if (!access) return { ok: false };
  let shared: boolean | undefined;
  try {
    await useLedger(access, async (l) => {
      shared = l.shared;
      await write(l);
    });
    return { ok: true };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e), ...(shared === undefined ? {} : { shared }) };
  }
}
