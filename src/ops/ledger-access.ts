/**
 * How a use case reaches the ledger: a factory the caller passes (the home's
 * SQLite ledger when the home exists), or none. The ledger is a convenience
 * and an audit trail: a failure to write it after the bundle changed is
 * reported in the result, never a failed hand-over (the bundle is the truth).
 */
import fs from 'node:fs';
import path from 'node:path';
import { openLedger, type Ledger } from '../ledger/index.js';

export type LedgerAccess = () => Ledger;

/** The home's ledger, only where the home exists (a verify or transfer must not create one). */
export function homeLedger(home: string, create = false): LedgerAccess | undefined {
  if (!create && !fs.existsSync(home)) return undefined;
  return () => openLedger(home);
}

/** Whether the home holds a ledger file already. */
export function hasLedger(home: string): boolean {
  return fs.existsSync(path.join(home, 'ledger.db'));
}

/** Runs `write` on the ledger; returns the error message instead of throwing. */
export function writeLedger(access: LedgerAccess | undefined, write: (l: Ledger) => void): { ok: boolean; error?: string } {
  if (!access) return { ok: false };
  try {
    const ledger = access();
    try {
      write(ledger);
    } finally {
      ledger.close();
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}
