#!/usr/bin/env node
/**
 * The ledger bench (part of `npm run bench`, or alone: `node test/bench/ledger.mjs`):
 * the same work on the home's SQLite ledger and on a shared PostgreSQL ledger
 * (a throwaway server on a unix socket, fsync on, as a lab would run it), side by side:
 * - a ledger of CUSTODY_BENCH_LEDGER_RECORDS records (default 100,000) in bundles of 10,
 *   built fast: SQLite in-process through the ledger's own write functions, 1,000
 *   bundles per transaction; PostgreSQL by the copy `custody ledger copy` does
 *   (LedgerStore.copyRows) from that SQLite ledger;
 * - import throughput on that full ledger: the last CUSTODY_BENCH_LEDGER_SAMPLE records
 *   (default 2,000) imported as a command does, one importBundle (one transaction,
 *   fsync on) per bundle;
 * - `log --case` latency on a ledger of that size, for a case of real signed records
 *   (10 bundles sealed and handed over with the CLI): the whole command (node start
 *   included), and the ledger read alone (records of the case), best of 5.
 * Target: log --case under 200 ms on either. Not a test: numbers depend on the machine.
 * CUSTODY_BENCH_BASE (another built checkout of custody, e.g. the commit before a change): its
 * log --case runs on the same ledgers, interleaved run by run with this checkout's. When
 * NODE_EXTRA_CA_CERTS is set (node reads the certificates at every start), both also run without
 * it, interleaved too. CUSTODY_BENCH_LOG_RUNS: runs of each (default 5; the best is reported).
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pgBin, startServer } from './pg-server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'custody.js');
const RECORDS = Number(process.env.CUSTODY_BENCH_LEDGER_RECORDS ?? 100_000);
const PER_BUNDLE = 10;
const SAMPLE = Math.min(RECORDS, Number(process.env.CUSTODY_BENCH_LEDGER_SAMPLE ?? 2_000));
const FILL_TX = 1000; // bundles per transaction while building the ledger
const h = (s) => crypto.createHash('sha256').update(s).digest('hex');
const BASE = process.env.CUSTODY_BENCH_BASE;
const LOG_RUNS = Number(process.env.CUSTODY_BENCH_LOG_RUNS ?? 5);


function bundle(i) {
  const digest = h(`bench-${i}`);
  return {
    bundleDigest: digest,
    bundleName: `bundle-${i}`,
    caseId: `LAB-${i % 1000}`,
    items: [{ id: 'disk' }],
    files: [{ itemId: 'disk', path: 'data/disk/image.dd', size: i, hashes: { md5: h(`m${i}`).slice(0, 32), sha256: h(`s${i}`) } }],
    records: Array.from({ length: PER_BUNDLE }, (_, seq) => ({
      seq,
      action: seq === 0 ? 'seal' : seq % 2 ? 'transfer' : 'receive',
      payload: Buffer.from(`{"bench":${i},"seq":${seq},"pad":"${'x'.repeat(600)}"}`),
      envelope: Buffer.from(`{"payload":"${'y'.repeat(900)}","i":${i},"seq":${seq}}`),
      signerKeyid: h(`k${i % 20}`).slice(0, 16),
      at: new Date(Date.UTC(2026, 0, 1) + seq * 60_000).toISOString(),
    })),
  };
}

const cli = (args, env = {}, bin = BIN) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });
  if (r.status !== 0) throw new Error(`custody ${args.join(' ')}: exit ${r.status}: ${r.stderr}${r.stdout.slice(0, 500)}`);
  return r.stdout;
};

/** CPU time (user + sys, ms) of this process's children that have exited (Linux /proc; undefined elsewhere). */
function childCpuMs() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[13]) + Number(f[14])) * 1000) / 100; // cutime + cstime, in clock ticks of 1/100 s
  } catch {
    return undefined;
  }
}

/** Best wall time of n runs, with the mean CPU time (user + sys) of the child processes per run. */
function best(n, fn) {
  let b = Infinity;
  const c0 = childCpuMs();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn();
    b = Math.min(b, Number(process.hrtime.bigint() - t) / 1e6);
  }
  const c1 = childCpuMs();
  best.cpu = c0 === undefined ? undefined : (c1 - c0) / n;
  return b;
}
const cpuNote = (cpu) => (cpu === undefined ? '' : `, cpu ${cpu.toFixed(0)} ms/run`);

/**
 * Runs each of `fns` (label → fn) n times, one after the other in every round, so that a busy
 * machine weighs on all alike; the best wall time and the mean CPU time (user + sys) of each.
 */
function interleaved(n, fns) {
  const out = new Map(Object.keys(fns).map((k) => [k, { best: Infinity, cpu: 0 }]));
  for (let i = 0; i < n; i++) {
    for (const [k, fn] of Object.entries(fns)) {
      const c0 = childCpuMs();
      const t = process.hrtime.bigint();
      fn();
      const e = out.get(k);
      e.best = Math.min(e.best, Number(process.hrtime.bigint() - t) / 1e6);
      e.cpu = c0 === undefined ? undefined : e.cpu + (childCpuMs() - c0) / n;
    }
  }
  return out;
}

/** Without NODE_EXTRA_CA_CERTS (node reads and parses those certificates at every start). */
const withoutCaCerts = () => {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
};

async function bestAsync(n, fn) {
  let b = Infinity;
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    b = Math.min(b, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return b;
}

export async function benchLedger() {
  const bin = pgBin();
  const { openSqliteStore } = await import(pathToFileURL(path.join(ROOT, 'dist', 'ledger', 'sqlite-store.js')).href);
  const { openPgLedger } = await import(pathToFileURL(path.join(ROOT, 'dist', 'ledger', 'pg.js')).href);
  const { openDatabase } = await import(pathToFileURL(path.join(ROOT, 'dist', 'ledger', 'open.js')).href);
  const write = await import(pathToFileURL(path.join(ROOT, 'dist', 'ledger', 'bundle-write.js')).href);
  const { allRows } = await import(pathToFileURL(path.join(ROOT, 'dist', 'ledger', 'all-rows.js')).href);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'custody-bench-ledger-'));
  const home = path.join(work, 'home');
  const server = bin ? startServer(bin) : undefined;
  if (!server) console.log('ledger: PostgreSQL not installed (Debian package postgresql): SQLite only');
  try {
    if (server) cli(['ledger', 'init', '--url', server.url, '--writer-role', 'custody_writer']);
    const engines = [
      ['SQLite', () => openSqliteStore(home), { '--home': home }],
      ...(server ? [['PostgreSQL', () => openPgLedger(server.url), { '--home': home, '--ledger': server.url }]] : []),
    ];
    // A case of real, signed records, made by the CLI (10 bundles sealed and handed over).
    fs.mkdirSync(path.join(work, 'ev'));
    fs.writeFileSync(path.join(work, 'ev', 'f.bin'), crypto.randomBytes(4096));
    // The examiner's own key (in the home): log --case vouches for records signed by it.
    const key = JSON.parse(cli(['--home', home, 'key', 'new', '--name', 'Bench', '--no-passphrase', '--json'])).keyFile;
    cli(['--home', path.join(work, 'to'), 'key', 'new', '--name', 'To', '--no-passphrase', '--out', path.join(work, 'to')]);
    const lines = [];
    for (const [name, open, flags] of engines) {
      const extra = Object.entries(flags).flat();
      for (let b = 0; b < 10; b++) {
        const out = path.join(work, `${name}-${b}.tar`);
        cli(['--home', home, ...(name === 'SQLite' ? [] : ['--ledger', flags['--ledger']]), 'seal', path.join(work, 'ev'), '--case', 'BENCH-1', '--out', out, '--piece', '0', '--key', key, '--note', `${name} ${b}`]);
        cli(['--home', home, ...(name === 'SQLite' ? [] : ['--ledger', flags['--ledger']]), 'transfer', out, '--to', path.join(work, 'to.pub'), '--reason', 'bench', '--key', key]);
      }
      const bundles = Math.ceil(RECORDS / PER_BUNDLE);
      const sampleBundles = Math.ceil(SAMPLE / PER_BUNDLE);
      const fillBundles = bundles - sampleBundles;
      // The ledger of RECORDS records, built fast (not the figure that matters: a command imports one bundle).
      const f0 = process.hrtime.bigint();
      let fillHow;
      if (name === 'SQLite') {
        const { db } = openDatabase(home);
        try {
          for (let i = 0; i < fillBundles; i += FILL_TX) {
            db.transaction(() => {
              for (let j = i; j < Math.min(fillBundles, i + FILL_TX); j++) write.importBundle(db, bundle(j));
            }).immediate();
          }
        } finally {
          db.close();
        }
        fillHow = `in-process, ${FILL_TX} bundles per transaction`;
      } else {
        // What `custody ledger copy --from ledger.db --to <url>` does, less the case made above on SQLite.
        const { db } = openDatabase(home);
        let rows;
        try {
          rows = db.transaction(() => allRows(db))();
        } finally {
          db.close();
        }
        const fill = new Set(Array.from({ length: fillBundles }, (_, i) => h(`bench-${i}`)));
        const keep = (r) => fill.has(r.bundle_digest);
        const src = {
          cases: rows.cases.filter((c) => c.id !== 'BENCH-1'),
          bundles: rows.bundles.filter((b) => fill.has(b.digest)),
          items: rows.items.filter(keep),
          files: rows.files.filter(keep),
          records: rows.records.filter(keep),
          trusted_keys: [],
          trust_events: [],
        };
        rows = undefined;
        const dest = await openPgLedger(server.url);
        try {
          await dest.copyRows(src);
        } finally {
          await dest.close();
        }
        // The planner's statistics, as autovacuum would gather them a minute after a big copy:
        // without them the first reads of a freshly filled table scan it whole (~300 ms here).
        server.sql('ANALYZE');
        fillHow = 'copyRows from the SQLite ledger, as ledger copy does, then ANALYZE';
      }
      const fillSecs = Number(process.hrtime.bigint() - f0) / 1e9;
      console.log(`ledger ${name.padEnd(10)} built ${fillBundles * PER_BUNDLE} records (${fillHow}): ${fillSecs.toFixed(1)} s, ${((fillBundles * PER_BUNDLE) / fillSecs).toFixed(0)} records/s`);
      const ledger = await open();
      const t0 = process.hrtime.bigint();
      for (let i = fillBundles; i < bundles; i++) await ledger.importBundle(bundle(i));
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const read = await bestAsync(5, () => ledger.records({ caseId: 'BENCH-1' }));
      const n = (await ledger.records({ caseId: 'BENCH-1' })).length;
      await ledger.close();
      // This checkout's log --case, and the base's (CUSTODY_BENCH_BASE), with the environment as it is
      // and without NODE_EXTRA_CA_CERTS, one after the other in every round.
      const logArgs = [...extra, 'log', '--case', 'BENCH-1', '--json'];
      const runs = { this: () => cli(logArgs) };
      if (BASE) runs.base = () => cli(logArgs, {}, path.join(BASE, 'bin', 'custody.js'));
      if (process.env.NODE_EXTRA_CA_CERTS) {
        runs['this, without NODE_EXTRA_CA_CERTS'] = () => spawnSync(process.execPath, [BIN, ...logArgs], { env: { ...withoutCaCerts(), NO_COLOR: '1' } });
        if (BASE) runs['base, without NODE_EXTRA_CA_CERTS'] = () => spawnSync(process.execPath, [path.join(BASE, 'bin', 'custody.js'), ...logArgs], { env: { ...withoutCaCerts(), NO_COLOR: '1' } });
        runs['node -e 0 without NODE_EXTRA_CA_CERTS'] = () => spawnSync(process.execPath, ['-e', '0'], { env: withoutCaCerts() });
      }
      const logRuns = interleaved(LOG_RUNS, runs);
      const whole = logRuns.get('this').best;
      const wholeCpu = logRuns.get('this').cpu;
      const bare = best(5, () => cli(['--version']));
      const bareCpu = best.cpu;
      // Node's own start-up, the floor under every figure here (NODE_EXTRA_CA_CERTS, if set, is part of it).
      const nodeOnly = best(5, () => spawnSync(process.execPath, ['-e', '0']));
      const nodeCpu = best.cpu;
      const uptime = fs.existsSync('/proc/loadavg') ? fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') : os.loadavg().map((x) => x.toFixed(2)).join(' ');
      const l = { name, records: bundles * PER_BUNDLE, imported: sampleBundles * PER_BUNDLE, secs, rate: (sampleBundles * PER_BUNDLE) / secs, read, whole, bare, n, wholeCpu, bareCpu, nodeOnly, nodeCpu };
      lines.push(l);
      // Each engine's figures as soon as they are known.
      console.log(
        `ledger ${l.name.padEnd(10)} import the last ${l.imported} of ${l.records} records (${PER_BUNDLE}/bundle, one transaction per bundle): ${l.secs.toFixed(1)} s, ${l.rate.toFixed(0)} records/s`,
      );
      console.log(
        `ledger ${l.name.padEnd(10)} log --case (${l.n} signed records among ${l.records + 20}): command ${l.whole.toFixed(0)} ms${cpuNote(l.wholeCpu)} (custody --version alone ${l.bare.toFixed(0)} ms${cpuNote(l.bareCpu)}; node -e 0 ${l.nodeOnly.toFixed(0)} ms${cpuNote(l.nodeCpu)}${process.env.NODE_EXTRA_CA_CERTS ? ', NODE_EXTRA_CA_CERTS set' : ''}), ledger read ${l.read.toFixed(1)} ms (load average ${uptime}); target < 200 ms ${l.whole < 200 ? 'ok' : `ABOVE TARGET (${(l.whole - l.bare).toFixed(0)} ms beyond custody --version)`}`,
      );
      for (const [label, r] of logRuns) {
        if (label === 'this') continue;
        const what = label.startsWith('node') ? label : `log --case, ${label}`;
        console.log(`ledger ${l.name.padEnd(10)} ${what}: ${r.best.toFixed(0)} ms${cpuNote(r.cpu)} (best of ${LOG_RUNS}, interleaved with this checkout's ${l.whole.toFixed(0)} ms)`);
      }
    }
    if (lines.length === 2) {
      console.log(`ledger PostgreSQL vs SQLite: import ${(lines[1].rate / lines[0].rate).toFixed(2)}× the rate, log --case ${(lines[1].whole / lines[0].whole).toFixed(2)}× the time`);
    }
  } finally {
    server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchLedger().catch((e) => {
    console.error(`bench: ${e.message}`);
    process.exit(1);
  });
}
