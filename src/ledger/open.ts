/**
 * Opens <home>/ledger.db: creates <home> (0700) and the file (0600), turns on
 * WAL, a busy timeout and foreign keys, and applies the schema migrations.
 * Every SQLite failure is turned into a CustodyError naming the file, so a
 * corrupt or unreadable ledger gives one `custody:` line, never a stack trace.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { CustodyError, fromSystemError } from '../core/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export type Db = Database.Database;

// The native module is loaded on the first open: commands that never touch a ledger (hash, --help) skip its load time.
const load = createRequire(import.meta.url);

/**
 * The compiled addon where npm builds it (build/Release), or undefined to let
 * better-sqlite3 search for it: the search (the `bindings` package) costs every
 * run some thirty file look-ups and two more modules.
 */
function nativeBinding(): string | undefined {
  try {
    const file = path.join(path.dirname(load.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
    return fs.existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Two custody processes (a seal in one terminal, a trust add in another, or a
 * lab pipeline running several) must both succeed: a writer waits this long
 * for the other's transaction instead of failing with SQLITE_BUSY.
 */
export const BUSY_TIMEOUT_MS = 10_000;

/** Maps an error thrown by better-sqlite3 (or the file system) to a CustodyError about the ledger at `file`. */
export function ledgerError(e: unknown, file: string): CustodyError {
  if (e instanceof CustodyError) return e;
  const code = String((e as { code?: unknown } | undefined)?.code ?? '');
  const reason = e instanceof Error ? e.message : String(e);
  if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) {
    return new CustodyError('IO_ERROR', `the ledger ${file} is corrupt or not a ledger: ${reason}`, {
      cause: e,
      hint: 'move it aside to start a new ledger; bundles verify on their own',
    });
  }
  if (code.startsWith('SQLITE_FULL')) return new CustodyError('IO_ERROR', `disk full writing the ledger ${file}`, { cause: e });
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new CustodyError('IO_ERROR', `the ledger ${file} stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000} s`, {
      cause: e,
    });
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    // Inputs are validated before they reach SQL, so a constraint firing is a bug in custody.
    return new CustodyError('INTERNAL', `internal error: the ledger ${file} refused a write: ${reason}`, { cause: e });
  }
  if (code.startsWith('SQLITE_')) return new CustodyError('IO_ERROR', `cannot use the ledger ${file}: ${reason}`, { cause: e });
  const sys = fromSystemError(e, file);
  return sys.code === 'IO_ERROR' || sys.code === 'NOT_FOUND'
    ? new CustodyError('IO_ERROR', `cannot use the ledger ${file}: ${reason}`, { cause: e })
    : sys;
}

function prepareHome(home: string, file: string): void {
  try {
    // mode applies only to directories mkdir creates; an existing home is the user's choice.
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    // Create the file ourselves so it is 0600 (case titles and names are sensitive); SQLite
    // gives the -wal and -shm files the same mode. An empty file is a valid empty database.
    fs.closeSync(fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600));
  } catch (e) {
    throw new CustodyError('IO_ERROR', `cannot create the ledger ${file}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}

function migrate(db: Db, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new CustodyError(
      'IO_ERROR',
      `the ledger ${file} has schema version ${current}, newer than this custody understands (${SCHEMA_VERSION})`,
      { hint: 'upgrade custody' },
    );
  }
  if (current === SCHEMA_VERSION) return;
  // IMMEDIATE: take the write lock before re-reading the version, so two processes opening a
  // fresh ledger at once apply each migration exactly once (the second waits, then sees it done).
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** Opens (creating if needed) and migrates the ledger; the caller closes it. */
export function openDatabase(home: string): { db: Db; file: string } {
  const file = path.join(home, 'ledger.db');
  prepareHome(home, file);
  let db: Db | undefined;
  try {
    const BetterSqlite = load('better-sqlite3') as typeof Database;
    const addon = nativeBinding();
    db = new BetterSqlite(file, { timeout: BUSY_TIMEOUT_MS, ...(addon ? { nativeBinding: addon } : {}) });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // WAL: readers never block the writer and a crash mid-transaction leaves the last commit.
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new CustodyError('IO_ERROR', `the ledger ${file} cannot use WAL mode (got ${String(mode)})`);
    db.pragma('synchronous = FULL'); // the audit trail survives a power loss, not just a crash
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    return { db, file };
  } catch (e) {
    db?.close();
    throw ledgerError(e, file);
  }
}
