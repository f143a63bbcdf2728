/**
 * The shared ledger on a real PostgreSQL (a throwaway server on a unix
 * socket, test/helpers/postgres.ts): many processes importing at once, clients
 * killed mid-transaction, the writer role and the triggers, a fork from a
 * second process, the server stopped mid-command, and a local ledger copied
 * in row for row. Children run the built code (dist/), as the CLI does.
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type ImportInput, type RecordAction } from '../src/ledger/index.js';
import { openPgLedger } from '../src/ledger/pg.js';
import { BIN, ROOT, runCli, tempDir } from './helpers/cli.js';
import { HAVE_POSTGRES, NO_POSTGRES_REASON, startPostgres, type PgServer } from './helpers/postgres.js';

const PG_JS = pathToFileURL(path.join(ROOT, 'dist', 'ledger', 'pg.js')).href;
const h = (s: string): string => createHash('sha256').update(s).digest('hex');
const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A child importing bundles of synthetic records (the ledger stores records as opaque signed bytes). */
const IMPORTER = `
import { createHash } from 'node:crypto';
import { openPgLedger } from ${JSON.stringify(PG_JS)};
const [url, worker, shared, own, perBundle, startAt] = process.argv.slice(2);
const h = (s) => createHash('sha256').update(s).digest('hex');
const bundle = (tag) => {
  const digest = h(tag);
  const records = Array.from({ length: Number(perBundle) }, (_, seq) => ({
    seq, action: seq === 0 ? 'seal' : seq % 2 ? 'transfer' : 'receive',
    payload: Buffer.from(tag + ':' + seq), envelope: Buffer.from('env:' + tag + ':' + seq),
    signerKeyid: h(tag).slice(0, 16), at: '2026-11-30T10:00:00.000Z',
  }));
  return { bundleDigest: digest, bundleName: 'b', caseId: 'LAB-' + (Number(tag.split('-')[1]) % 5), items: [{ id: 'i' }],
    files: [{ itemId: 'i', path: 'data/i/image.dd', size: 1, hashes: { sha256: digest } }], records };
};
const tags = [...Array.from({ length: Number(shared) }, (_, i) => 'shared-' + i), ...Array.from({ length: Number(own) }, (_, i) => 'w' + worker + '-' + i)];
// Each worker its own order, so the shared bundles are contended from every side.
tags.sort((a, b) => (h(worker + a) < h(worker + b) ? -1 : 1));
const ledger = await openPgLedger(url);
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 5));
let added = 0;
for (const t of tags) added += (await ledger.importBundle(bundle(t))).recordsAdded;
await ledger.close();
console.log(JSON.stringify({ added }));
`;

/** A child that commits one bundle, then starts a long transaction (many files) and reports when it is inside it. */
const SLOW_IMPORTER = `
import { createHash } from 'node:crypto';
import { openPgLedger } from ${JSON.stringify(PG_JS)};
const [url, tag, files] = process.argv.slice(2);
const h = (s) => createHash('sha256').update(s).digest('hex');
const rec = (t) => ({ seq: 0, action: 'seal', payload: Buffer.from(t), envelope: Buffer.from('e' + t), signerKeyid: 'a'.repeat(16), at: '2026-11-30T10:00:00.000Z' });
const ledger = await openPgLedger(url);
await ledger.importBundle({ bundleDigest: h(tag + '-kept'), bundleName: 'kept', caseId: 'KILL', items: [{ id: 'i' }], files: [], records: [rec(tag + '-kept')] });
console.log('committed');
await ledger.importBundle({ bundleDigest: h(tag + '-lost'), bundleName: 'lost', caseId: 'KILL-LOST', items: [{ id: 'i' }],
  files: Array.from({ length: Number(files) }, (_, i) => ({ itemId: 'i', path: 'data/i/' + i, size: i, hashes: { sha256: h(String(i)) } })),
  records: [rec(tag + '-lost')] });
console.log('not reached');
`;

const scriptDir = tempDir('custody-pg-scripts-');
function script(name: string, text: string): string {
  const f = path.join(scriptDir, name);
  fs.writeFileSync(f, text);
  return f;
}

function runNode(
  args: string[],
  onLine?: (line: string, kill: () => void) => void,
  env: Record<string, string> = {},
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (onLine) for (const l of String(d).split('\n').filter(Boolean)) onLine(l, () => p.kill('SIGKILL'));
    });
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const cli = (args: string[], env: Record<string, string> = {}) => runNode([BIN, ...args], undefined, env);

let server: PgServer;
let admin: pg.Client;
let owner: string; // URL as the tables' owner (the superuser here)
let writer: string; // URL as alice, a login in the writer role

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return (await admin.query(text, params)).rows as T[];
}

describe.skipIf(!HAVE_POSTGRES)(`the shared ledger on PostgreSQL${HAVE_POSTGRES ? '' : ` (skipped: ${NO_POSTGRES_REASON})`}`, () => {
  beforeAll(async () => {
    server = startPostgres();
    owner = server.createDatabase('lab');
    const init = runCli(['ledger', 'init', '--url', owner, '--writer-role', 'custody_writer', '--json']);
    expect(init.code, init.stderr).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({ ok: true, schemaFrom: 0, schemaVersion: 1, writerRole: 'custody_writer' });
    admin = new pg.Client({ connectionString: owner });
    await admin.connect();
    await admin.query('CREATE ROLE alice LOGIN IN ROLE custody_writer');
    writer = server.url('lab', 'alice');
  }, 180_000);

  afterAll(async () => {
    await admin?.end().catch(() => {});
    server?.destroy();
  });

  it('init run again (even twice at once) applies nothing twice: the migrations run under an advisory lock', async () => {
    const [a, b] = await Promise.all([cli(['ledger', 'init', '--url', owner, '--writer-role', 'custody_writer', '--json']), cli(['ledger', 'init', '--url', owner, '--writer-role', 'custody_writer', '--json'])]);
    for (const r of [a, b]) {
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ schemaFrom: 1, schemaVersion: 1 });
    }
    expect(await sql('SELECT version FROM custody_schema')).toEqual([{ version: 1 }]);
  }, 60_000);

  it('8 processes each importing 500 records at once: every record is present exactly once', async () => {
    const importer = script('importer.mjs', IMPORTER);
    const startAt = String(Date.now() + 3000);
    // 25 bundles of 10 records every worker imports, and 25 of its own: 500 records each.
    const runs = await Promise.all(Array.from({ length: 8 }, (_, w) => runNode([importer, writer, String(w), '25', '25', '10', startAt])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const added = runs.reduce((n, r) => n + (JSON.parse(r.stdout) as { added: number }).added, 0);
    const expected = 25 * 10 + 8 * 25 * 10;
    expect(added).toBe(expected); // each record added by exactly one process
    const [{ n, distinct }] = await sql<{ n: string; distinct: string }>(
      `SELECT count(*) AS n, count(DISTINCT (bundle_digest, seq)) AS distinct FROM records WHERE bundle_digest IN (SELECT digest FROM bundles WHERE case_id LIKE 'LAB-%')`,
    );
    expect(Number(n)).toBe(expected);
    expect(Number(distinct)).toBe(expected);
    // Every shared record holds the bytes every worker sent (no worker's copy replaced another's).
    const rows = await sql<{ payload: Buffer; bundle_digest: string; seq: number }>(`SELECT bundle_digest, seq, payload FROM records WHERE bundle_digest = $1 ORDER BY seq`, [h('shared-7')]);
    expect(rows.map((r) => r.payload.toString())).toEqual(Array.from({ length: 10 }, (_, s) => `shared-7:${s}`));
    const [{ files }] = await sql<{ files: string }>(`SELECT count(*) AS files FROM files WHERE bundle_digest = $1`, [h('shared-7')]);
    expect(Number(files)).toBe(1);
  }, 180_000);

  it('a client killed (SIGKILL) in the middle of a transaction leaves none of it, and keeps what it committed before', async () => {
    const slow = script('slow.mjs', SLOW_IMPORTER);
    let inside = false;
    const r = await runNode([slow, writer, 'k1', '20000'], (line, kill) => {
      if (line !== 'committed' || inside) return;
      inside = true;
      // Kill once the server shows the client's transaction open with rows written.
      let busy = false;
      const poll = setInterval(async () => {
        if (busy) return;
        busy = true;
        const [row] = await sql<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'alice' AND xact_start IS NOT NULL`);
        if (Number(row!.n) > 0) {
          clearInterval(poll);
          setTimeout(kill, 300);
        }
        busy = false;
      }, 20);
    });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).not.toContain('not reached');
    // The server rolls the dead client's transaction back; wait for its backend to go.
    for (let i = 0; i < 100; i++) {
      const [row] = await sql<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'alice'`);
      if (Number(row!.n) === 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(await sql(`SELECT name FROM bundles WHERE digest IN ($1, $2)`, [h('k1-kept'), h('k1-lost')])).toEqual([{ name: 'kept' }]);
    expect(await sql(`SELECT 1 FROM cases WHERE id = 'KILL-LOST'`)).toEqual([]);
    expect(await sql(`SELECT 1 FROM files WHERE bundle_digest = $1`, [h('k1-lost')])).toEqual([]);
  }, 180_000);

  it('the writer role gets "permission denied" on UPDATE and DELETE; the owner is stopped by the triggers', async () => {
    const alice = new pg.Client({ connectionString: writer });
    await alice.connect();
    try {
      for (const stmt of [`UPDATE records SET at = 'x'`, 'DELETE FROM records', 'TRUNCATE records', `UPDATE trust_events SET name = 'x'`, 'DELETE FROM trust_events', 'DELETE FROM bundles', `UPDATE cases SET title = 'x'`]) {
        await expect(alice.query(stmt), stmt).rejects.toThrow(/permission denied/);
      }
    } finally {
      await alice.end();
    }
    // The owner may do anything the grants allow — the triggers still refuse to rewrite history.
    const before = await sql<{ n: string }>('SELECT count(*) AS n FROM records');
    for (const stmt of [`UPDATE records SET at = 'x'`, 'DELETE FROM records', 'TRUNCATE records', 'TRUNCATE records CASCADE', 'TRUNCATE bundles CASCADE']) {
      await expect(admin.query(stmt), stmt).rejects.toThrow(/custody records are append-only: (UPDATE|DELETE|TRUNCATE) refused/);
    }
    await admin.query(`INSERT INTO trust_events (event, fingerprint, public_key, name, at) VALUES ('add', $1, $2, 'x', 'now')`, ['f'.repeat(64), Buffer.alloc(32)]);
    for (const stmt of [`UPDATE trust_events SET name = 'y'`, 'DELETE FROM trust_events', 'TRUNCATE trust_events']) {
      await expect(admin.query(stmt), stmt).rejects.toThrow(/the trust history is append-only/);
    }
    expect(await sql<{ n: string }>('SELECT count(*) AS n FROM records')).toEqual(before);
  }, 60_000);

  describe('with real bundles and the CLI', () => {
    let dir: string;
    const people: Record<string, { home: string; pub: string; key: string }> = {};
    let sealed: string;

    beforeAll(async () => {
      dir = tempDir('custody-pg-cli-');
      await Promise.all(
        ['Ann', 'Ben', 'Cat'].map(async (name) => {
          const home = path.join(dir, name);
          const r = await cli(['--home', home, 'key', 'new', '--name', name, '--no-passphrase', '--json']);
          expect(r.code, r.stderr).toBe(0);
          const j = JSON.parse(r.stdout) as { pubFile: string; keyFile: string };
          people[name] = { home, pub: j.pubFile, key: j.keyFile };
        }),
      );
      fs.writeFileSync(path.join(dir, 'disk.img'), Buffer.alloc(4096, 3));
      sealed = path.join(dir, 'sealed.tar');
      const s = await cli(['--home', people.Ann!.home, '--ledger', writer, 'seal', path.join(dir, 'disk.img'), '--case', 'PG-1', '--out', sealed, '--piece', '0', '--json']);
      expect(s.code, s.stderr).toBe(0);
    }, 180_000);

    const copy = (name: string): string => {
      const f = path.join(dir, name);
      fs.copyFileSync(sealed, f);
      return f;
    };

    it('seal, transfer and receive write the shared ledger; log --case reads it back', async () => {
      const b = copy('main.tar');
      const t = await cli(['--home', people.Ann!.home, '--ledger', writer, 'transfer', b, '--to', people.Ben!.pub, '--reason', 'lab hand-over', '--json']);
      expect(t.code, t.stderr).toBe(0);
      expect(JSON.parse(t.stdout)).toMatchObject({ ok: true, ledger: true });
      // Ben's custody points at the shared ledger through the environment.
      const r = await cli(['--home', people.Ben!.home, 'receive', b, '--trust', people.Ann!.pub, '--json'], { CUSTODY_LEDGER_URL: writer });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, ledger: true });
      const again = await cli(['--home', people.Ben!.home, 'ledger', 'import', b, '--json'], { CUSTODY_LEDGER_URL: writer });
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ recordsAdded: 0 }); // the same records again are the same rows
      const log = await cli(['--home', people.Ann!.home, '--ledger', writer, 'log', '--case', 'PG-1', '--json']);
      expect(log.code, log.stderr).toBe(0);
      expect((JSON.parse(log.stdout) as { records: { action: string }[] }).records.map((x) => x.action)).toEqual(['seal', 'transfer', 'receive']);
      // Verify of an older copy: the shared ledger knows later records.
      const v = await cli(['--home', people.Cat!.home, 'verify', copy('old.tar'), '--trust', people.Ann!.pub, '--ledger', writer, '--json']);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout).toMatch(/stale copy: the ledger knows 2 later record/);
    }, 240_000);

    it('a conflicting record from a second process is refused as a fork, in the words verify uses', async () => {
      // A second copy handed over away from the shared ledger (a home of its own), to someone else.
      const other = copy('other.tar');
      const t = await cli(['--home', path.join(dir, 'elsewhere'), 'transfer', other, '--key', people.Ann!.key, '--to', people.Cat!.pub, '--reason', 'second copy', '--json']);
      expect(t.code, t.stderr).toBe(0);
      const before = await sql('SELECT bundle_digest, seq, payload_sha256 FROM records ORDER BY bundle_digest, seq');
      const imp = await cli(['--home', people.Cat!.home, '--ledger', writer, 'ledger', 'import', other]);
      expect(imp.code).toBe(1);
      expect(imp.stderr).toMatch(/^custody: fork: the ledger already holds a different record 1 for bundle [0-9a-f]{64}/);
      expect(imp.stderr.trim().split('\n')).toHaveLength(1);
      expect(await sql('SELECT bundle_digest, seq, payload_sha256 FROM records ORDER BY bundle_digest, seq')).toEqual(before);
      const v = await cli(['--home', people.Cat!.home, 'verify', other, '--trust', people.Ann!.pub, '--ledger', writer]);
      expect(v.code).toBe(1);
      expect(v.stdout + v.stderr).toMatch(/fork: record 0*1 transfer/);
    }, 240_000);

    it('a transfer whose ledger row cannot be written says so (text and JSON) and exits 3; ledger import catches up', async () => {
      await admin.query('CREATE ROLE reader LOGIN');
      await admin.query('GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader');
      const reader = server.url('lab', 'reader');
      const b = copy('ro.tar');
      // Make this copy the current one: the shared ledger knows main.tar's chain, so hand over a fresh bundle instead.
      const s = await cli(['--home', people.Ann!.home, '--ledger', writer, 'seal', path.join(dir, 'disk.img'), '--case', 'PG-2', '--out', path.join(dir, 'pg2.tar'), '--piece', '0', '--note', 'second', '--json']);
      expect(s.code, s.stderr).toBe(0);
      fs.rmSync(b);
      const pg2 = path.join(dir, 'pg2.tar');
      const t = await cli(['--home', people.Ann!.home, '--ledger', reader, 'transfer', pg2, '--to', people.Ben!.pub, '--reason', 'ro ledger', '--json']);
      expect(t.code).toBe(3);
      const j = JSON.parse(t.stdout) as Record<string, any>;
      expect(j).toMatchObject({ ok: false, seq: 1, ledger: false, ledgerCatchUp: `custody ledger import ${pg2}`, error: { code: 'IO_ERROR' } });
      expect(j.ledgerError).toMatch(/permission denied/);
      const text = await cli(['--home', people.Ann!.home, '--ledger', reader, 'log', pg2]);
      expect(text.stdout).toMatch(/transfer/); // the record is in the bundle
      const [{ n }] = await sql<{ n: string }>(`SELECT count(*) AS n FROM records r JOIN bundles b ON b.digest = r.bundle_digest WHERE b.case_id = 'PG-2'`);
      expect(Number(n)).toBe(1);
      const up = await cli(['--home', people.Ann!.home, '--ledger', writer, 'ledger', 'import', pg2, '--json']);
      expect(up.code, up.stderr).toBe(0);
      expect(JSON.parse(up.stdout)).toMatchObject({ recordsAdded: 1 });
    }, 240_000);

    it('a server that is down: exit 3, one line naming the ledger and never its password; the bundle is unchanged', async () => {
      const b = copy('down.tar');
      const before = sha(b);
      const url = `postgresql://alice:s3cret-pw@${encodeURIComponent(path.join(dir, 'no-server'))}/lab`;
      for (const args of [
        ['transfer', b, '--to', people.Ben!.pub, '--reason', 'x'],
        ['verify', b, '--trust', people.Ann!.pub],
        ['log', '--case', 'PG-1'],
        ['case', 'list'],
      ]) {
        const r = await cli(['--home', people.Ann!.home, '--ledger', url, ...args]);
        expect(r.code, args.join(' ')).toBe(3);
        const lines = r.stderr.trim().split('\n');
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(/^custody: cannot reach the ledger PostgreSQL lab on .*no-server/);
        expect(r.stderr + r.stdout).not.toContain('s3cret');
      }
      expect(sha(b)).toBe(before);
    }, 240_000);
  });

  it('ledger copy of a 10,000-record SQLite ledger equals the source row for row; a second copy adds nothing', async () => {
    const home = tempDir('custody-pg-copy-');
    const local = openLedger(home);
    const actions: RecordAction[] = ['seal', 'transfer', 'receive'];
    // 100 bundles of 100 records (one SQLite transaction, one fsync, per bundle).
    for (let b = 0; b < 100; b++) {
      const digest = h(`copy-${b}`);
      const input: ImportInput = {
        bundleDigest: digest,
        bundleName: `bundle-${b}`,
        path: `/evidence/${b}.tar`,
        caseId: `COPY-${b % 40}`,
        items: [{ id: 'disk', description: 'SSD', details: { serial: String(b) } }],
        files: [{ itemId: 'disk', path: 'data/disk/image.dd', size: b * 1000, hashes: { md5: h(`m${b}`).slice(0, 32), sha256: h(`s${b}`) }, pieceCount: 2, merkleRoot: h(`r${b}`) }],
        records: Array.from({ length: 100 }, (_, seq) => ({
          seq,
          action: seq === 0 ? 'seal' : actions[1 + ((seq + 1) % 2)]!,
          payload: Buffer.from(`payload ${b}/${seq}`),
          envelope: Buffer.from(`envelope ${b}/${seq}`),
          signerKeyid: h(`k${b}`).slice(0, 16),
          at: new Date(Date.UTC(2026, 10, 1) + seq * 1000).toISOString(),
        })),
      };
      local.importBundle(input);
    }
    for (let i = 0; i < 3; i++) {
      const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
      const fp = createHash('sha256').update(raw).digest('hex');
      local.addTrustedKey({ publicKey: new Uint8Array(raw), fingerprint: fp, keyid: fp.slice(0, 16), name: `Key ${i}` });
      if (i === 1) local.removeTrustedKey(fp);
    }
    const source = local.allRows();
    local.close();
    expect(source.records).toHaveLength(10_000);

    const r = await cli(['ledger', 'copy', '--from', path.join(home, 'ledger.db'), '--to', writer, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, added: { records: 10_000, bundles: 100, cases: 40, files: 100, trusted_keys: 2, trust_events: 4 } });

    const shared = await openPgLedger(owner);
    try {
      const dest = await shared.allRows();
      const mine = <T extends { bundle_digest?: string; digest?: string; case_id?: string; id?: string; fingerprint?: string }>(rows: T[], keep: (r: T) => boolean) => rows.filter(keep);
      const digests = new Set(source.bundles.map((b) => b.digest));
      const fps = new Set(source.trusted_keys.map((k) => k.fingerprint).concat(source.trust_events.map((e) => e.fingerprint)));
      expect(mine(dest.cases, (c) => c.id!.startsWith('COPY-'))).toEqual(source.cases);
      expect(mine(dest.bundles, (b) => digests.has(b.digest!))).toEqual(source.bundles);
      expect(mine(dest.items, (i) => digests.has(i.bundle_digest!))).toEqual(source.items);
      expect(mine(dest.files, (f) => digests.has(f.bundle_digest!))).toEqual(source.files);
      expect(mine(dest.records, (x) => digests.has(x.bundle_digest!))).toEqual(source.records);
      expect(mine(dest.trusted_keys, (k) => fps.has(k.fingerprint!))).toEqual(source.trusted_keys);
      expect(dest.trust_events.filter((e) => fps.has(e.fingerprint))).toEqual(source.trust_events);
    } finally {
      await shared.close();
    }
    const again = await cli(['ledger', 'copy', '--from', home, '--to', writer, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(Object.values((JSON.parse(again.stdout) as { added: Record<string, number> }).added).every((n) => n === 0)).toBe(true);
  }, 300_000);

  it('the server stopped in the middle of a copy: exit 3 naming the ledger, and none of the copy in the database', async () => {
    const home = tempDir('custody-pg-stop-');
    const local = openLedger(home);
    for (let b = 0; b < 300; b++) {
      local.importBundle({
        bundleDigest: h(`stop-${b}`),
        bundleName: 'b',
        caseId: 'STOP',
        items: [{ id: 'i' }],
        files: Array.from({ length: 10 }, (_, f) => ({ itemId: 'i', path: `data/i/${f}`, size: 1, hashes: { sha256: h(`f${b}/${f}`) } })),
        records: [{ seq: 0, action: 'seal', payload: Buffer.from(`p${b}`), envelope: Buffer.from('e'), signerKeyid: 'b'.repeat(16), at: '2026-11-30T10:00:00.000Z' }],
      });
    }
    local.close();
    let stopped = false;
    const copying = cli(['ledger', 'copy', '--from', home, '--to', writer]);
    // Stop the server once the copy's transaction has written rows.
    for (let i = 0; i < 600 && !stopped; i++) {
      await new Promise((res) => setTimeout(res, 25));
      const [row] = await sql<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'alice' AND xact_start IS NOT NULL AND xact_start < now() - interval '150 milliseconds'`);
      if (Number(row!.n) > 0) {
        await admin.end();
        server.stop('immediate');
        stopped = true;
      }
    }
    expect(stopped).toBe(true);
    const r = await copying;
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^custody: cannot reach the ledger PostgreSQL lab on /);
    server.start();
    admin = new pg.Client({ connectionString: owner });
    await admin.connect();
    expect(await sql(`SELECT 1 FROM cases WHERE id = 'STOP'`)).toEqual([]);
    expect(await sql(`SELECT 1 FROM bundles WHERE case_id = 'STOP'`)).toEqual([]);
  }, 240_000);
});
