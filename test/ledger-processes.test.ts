/**
 * The ledger under real processes: several writers at once (busy timeout,
 * a migration race on a fresh file), a writer killed with SIGKILL in the
 * middle of a transaction, and broken ledger files. Children run the built
 * ledger (dist/, as the CLI does).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { CustodyError } from '../src/core/errors.js';
import { openLedger, SCHEMA_VERSION } from '../src/ledger/index.js';
import { ROOT, tempDir } from './helpers/cli.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);
const LEDGER_JS = pathToFileURL(path.join(ROOT, 'dist', 'ledger', 'index.js')).href;

/** A child that opens the ledger per iteration, like one custody command after another. */
const WRITER = `
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { openLedger } from ${JSON.stringify(LEDGER_JS)};
const [home, worker, n, barrier, workers] = process.argv.slice(2);
const h = (s) => createHash('sha256').update(s).digest('hex');
const rec = (seq, action) => ({ seq, action, payload: Buffer.from(worker + action + seq), envelope: Buffer.from('e'),
  signerKeyid: h(worker).slice(0, 16), at: new Date().toISOString() });
// All children start writing together, once every one of them has loaded (a fixed start time
// let a child that loaded late on a busy machine write alone, after the others).
fs.writeFileSync(barrier + '/' + worker, '');
const tick = new Int32Array(new SharedArrayBuffer(4));
while (fs.readdirSync(barrier).length < Number(workers)) Atomics.wait(tick, 0, 0, 1);
for (let i = 0; i < Number(n); i++) {
  const ledger = openLedger(home);
  const digest = h(worker + ':' + i);
  ledger.recordSeal({ bundleDigest: digest, bundleName: 'b', path: '/b.tar', caseId: 'C-' + (i % 3), items: [{ id: 'i' }],
    files: [{ itemId: 'i', path: 'data/i/f', size: i, hashes: { sha256: h(digest) } }], record: { ...rec(0, 'seal'), payload: Buffer.from(digest) } });
  ledger.recordCustodyRecord({ bundleDigest: digest, record: rec(1, 'transfer') });
  ledger.createCase({ id: 'W' + worker + '-' + i, title: 'case ' + i });
  ledger.close();
  Atomics.wait(tick, 0, 0, 5); // as between two commands: a child scheduled late still overlaps the others
}
`;

/** A child that commits one seal, then is killed (SIGKILL, by itself) in the middle of the next transaction. */
const CRASHER = `
import { openLedger } from ${JSON.stringify(LEDGER_JS)};
const [home] = process.argv.slice(2);
const d = (c) => c.repeat(64);
const rec = { seq: 0, action: 'seal', payload: Buffer.from('p'), envelope: Buffer.from('e'), signerKeyid: 'a'.repeat(16), at: new Date().toISOString() };
const ledger = openLedger(home);
const file = (i) => ({ itemId: 'i', path: 'data/i/' + i, size: i, hashes: { sha256: d('c') } });
ledger.recordSeal({ bundleDigest: d('a'), bundleName: 'kept', path: '/k', caseId: 'KEPT', items: [{ id: 'i' }], files: [file(0)], record: rec });
// By the time the ledger reads files[3], the case, bundle, item and files 0-2 are inserted (uncommitted).
const files = new Proxy([file(0), file(1), file(2), file(3)], {
  get(t, p) { if (p === '3') process.kill(process.pid, 'SIGKILL'); return Reflect.get(t, p); },
});
ledger.recordSeal({ bundleDigest: d('b'), bundleName: 'lost', path: '/l', caseId: 'LOST', items: [{ id: 'i' }], files, record: rec });
console.log('not reached');
`;

const scriptDir = tempDir('custody-ledger-scripts-');

function runNode(script: string, args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const file = path.join(scriptDir, `${sha(script)}.mjs`);
  fs.writeFileSync(file, script);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

function count(db: Database.Database, table: string): number {
  return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

describe('ledger under real processes', () => {
  it('four processes writing to one fresh ledger at once all succeed, interleaved', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const barrier = path.join(dir, 'barrier');
    fs.mkdirSync(barrier);
    const workers = 4;
    const n = 25;
    const results = await Promise.all(Array.from({ length: workers }, (_, w) => runNode(WRITER, [home, String(w), String(n), barrier, String(workers)])));
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    const db = new Database(path.join(home, 'ledger.db'), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(count(db, 'bundles')).toBe(workers * n);
    expect(count(db, 'records')).toBe(workers * n * 2);
    expect(count(db, 'cases')).toBe(3 + workers * n);
    // The writers really overlapped: in commit order the writing process changes many times.
    const byCreation = db.prepare("SELECT id FROM cases WHERE id LIKE 'W%' ORDER BY rowid").all() as { id: string }[];
    let switches = 0;
    for (let i = 1; i < byCreation.length; i++) if (byCreation[i]!.id.split('-')[0] !== byCreation[i - 1]!.id.split('-')[0]) switches++;
    expect(switches).toBeGreaterThan(workers);
    db.close();
  });

  it('a process killed mid-transaction leaves none of that command and keeps the one before', async () => {
    const home = path.join(tempDir(), 'home');
    const r = await runNode(CRASHER, [home]);
    expect(r.signal).toBe('SIGKILL');
    const ledger = openLedger(home);
    expect(ledger.listCases().map((c) => c.id)).toEqual(['KEPT']);
    expect(ledger.bundles().map((b) => b.name)).toEqual(['kept']);
    ledger.close();
    const db = new Database(path.join(home, 'ledger.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(count(db, 'files')).toBe(1);
    expect(count(db, 'items')).toBe(1);
    db.close();
  });
});

describe('broken ledger files', () => {
  function openError(home: string): CustodyError {
    try {
      openLedger(home).close();
    } catch (e) {
      if (e instanceof CustodyError) return e;
      throw e;
    }
    throw new Error('expected openLedger to fail');
  }

  it('a file that is not a database: IO_ERROR naming the file, with a hint', () => {
    const home = tempDir();
    fs.writeFileSync(path.join(home, 'ledger.db'), 'this is not sqlite, just some text that is long enough '.repeat(40));
    const e = openError(home);
    expect(e.code).toBe('IO_ERROR');
    expect(e.message).toContain(path.join(home, 'ledger.db'));
    expect(e.message).toMatch(/corrupt or not a ledger/);
    expect(e.hint).toMatch(/move it aside/);
  });

  it('a ledger whose pages were damaged: IO_ERROR, not a crash', () => {
    const home = tempDir();
    const l = openLedger(home);
    for (let i = 0; i < 50; i++) l.createCase({ id: `C${i}`, title: 'x'.repeat(500) });
    l.close();
    const file = path.join(home, 'ledger.db');
    const bytes = fs.readFileSync(file);
    bytes.fill(0xa5, 4096, bytes.length); // every page after the first is garbage
    fs.writeFileSync(file, bytes);
    const e = (() => {
      try {
        const again = openLedger(home);
        try {
          again.listCases();
        } finally {
          again.close();
        }
      } catch (err) {
        return err as CustodyError;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(CustodyError);
    expect(e?.code).toBe('IO_ERROR');
    expect(e?.message).toContain(file);
  });

  it('ledger.db is a directory, or home is a file: IO_ERROR', () => {
    const home = tempDir();
    fs.mkdirSync(path.join(home, 'ledger.db'));
    expect(openError(home).code).toBe('IO_ERROR');
    const file = path.join(tempDir(), 'not-a-dir');
    fs.writeFileSync(file, 'x');
    const e = openError(file);
    expect(e.code).toBe('IO_ERROR');
    expect(e.message).toContain(file);
  });

  it('a ledger from a newer custody is refused, not downgraded', () => {
    const home = tempDir();
    openLedger(home).close();
    const db = new Database(path.join(home, 'ledger.db'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const e = openError(home);
    expect(e.code).toBe('IO_ERROR');
    expect(e.message).toMatch(/newer than this custody understands/);
  });
});
