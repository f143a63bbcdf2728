#!/usr/bin/env node
/**
 * The reading side on exports of many small files: custody verify (pieces),
 * verify --full and extract of bundles of 10k / 50k / 200k files, against
 * bagit-python --validate (../shared/peers/bagit, on the unpacked bag) and
 * `tar -x` + `sha256sum -c` — wall and CPU seconds, files/s, peak RSS — and a
 * least-squares slope of time and memory over the file count. Run by
 * `npm run bench` (run.mjs) after its own entries, or alone.
 *
 * Env: CUSTODY_BENCH_SMALL_FILES (default 2000,10000, so that `npm run bench`
 * stays short; the figures that count: CUSTODY_BENCH_SMALL_FILES=10000,50000,200000),
 * CUSTODY_BENCH_SMALL_MAX / _MIN (file sizes in bytes, default 1024–4096: at
 * 1–64 KiB a 200k-file bundle is 6.5 GB, twice over when unpacked),
 * CUSTODY_BENCH_SMALL_DIR (where bundles are kept between runs, default the temp folder),
 * CUSTODY_BENCH_SMALL_ONLY (a regular expression: only the rows whose name matches, e.g. 'extract|tar'),
 * CUSTODY_BENCH_SMALL_ROUNDS (default 1: extract and its two peers run that many rounds, in turn, custody
 * first in odd rounds and last in even ones, each into a tree of its own kept to the end of the count;
 * the best round of each is shown and compared. On a disk mounted with `discard`, whatever runs
 * first after many files were deleted is slowed for minutes, so one round favours the peer).
 * Extract ends with one `sync -f` (an examiner may unplug the disk once it says ok), so it is
 * compared both with `tar -x` + `sha256sum -c` and with the same followed by `sync -f`.
 * The bundles are written directly (test/helpers/many-files-bundle.mjs), not sealed.
 * Timed with GNU time (user + sys of the command and its children; max RSS).
 * Each line carries the 1-minute load average at its start (the machine may be
 * shared: compare ratios measured in the same run, and CPU seconds).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeManyFilesBundle } from '../helpers/many-files-bundle.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'custody.js');
const BAGIT = path.resolve(ROOT, '..', 'shared', 'peers', 'bagit');
const COUNTS = (process.env.CUSTODY_BENCH_SMALL_FILES ?? '2000,10000').split(',').map(Number);
const MAX = Number(process.env.CUSTODY_BENCH_SMALL_MAX ?? 4096);
const MIN = Number(process.env.CUSTODY_BENCH_SMALL_MIN ?? 1024);
const DIR = process.env.CUSTODY_BENCH_SMALL_DIR ?? os.tmpdir();
const ONLY = process.env.CUSTODY_BENCH_SMALL_ONLY ? new RegExp(process.env.CUSTODY_BENCH_SMALL_ONLY) : undefined;
const ROUNDS = Math.max(1, Number(process.env.CUSTODY_BENCH_SMALL_ROUNDS ?? 1));

/** GNU time around a shell command: wall, CPU (user + sys, children included), peak RSS in MB. */
function timed(cmd) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', 'sh', '-c', cmd], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const last = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr.slice(-400)}`);
  return { wall: last[0], cpu: last[1] + last[2], rssMB: last[3] / 1024 };
}

function fit(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

export async function benchSmallRead() {
  const rows = [];
  for (const n of COUNTS) {
    const bundle = path.join(DIR, `custody-bench-small-${n}-${MIN}-${MAX}.tar`);
    const meta = `${bundle}.json`;
    if (!fs.existsSync(meta)) {
      process.stderr.write(`writing a bundle of ${n} files (${MIN}–${MAX} bytes) at ${bundle} …\n`);
      const w = await writeManyFilesBundle({ out: bundle, files: n, minSize: MIN, maxSize: MAX });
      fs.writeFileSync(meta, JSON.stringify({ fingerprint: w.fingerprint, bag: path.basename(bundle, '.tar') }));
    }
    const { fingerprint } = JSON.parse(fs.readFileSync(meta, 'utf8'));
    const bag = path.basename(bundle, '.tar').replace(/[^A-Za-z0-9._-]+/g, '_');
    const work = fs.mkdtempSync(path.join(DIR, 'custody-bench-small-work-'));
    const home = path.join(work, 'home');
    spawnSync('sh', ['-c', `cat ${q(bundle)} > /dev/null`]);
    const custody = `${q(process.execPath)} ${q(BIN)}`;
    const run = (name, cmd, after) => {
      if (ONLY && !ONLY.test(name)) return after?.();
      const load = os.loadavg()[0];
      const t = timed(cmd);
      after?.();
      rows.push({ n, name, load, ...t });
      console.log(
        `${String(n).padStart(7)} files  ${name.padEnd(34)} ${t.wall.toFixed(2).padStart(7)} s  CPU ${t.cpu.toFixed(2).padStart(7)} s  ${(n / t.wall).toFixed(0).padStart(6)} files/s  ${(n / t.cpu).toFixed(0).padStart(6)} files/CPU-s  peak RSS ${t.rssMB.toFixed(0).padStart(4)} MB  load ${load.toFixed(1)}`,
      );
    };
    const out = path.join(work, 'out');
    run('custody verify', `${custody} verify ${q(bundle)} --home ${q(home)} --trust ${fingerprint} --quiet > /dev/null`);
    run('custody verify --full', `${custody} verify ${q(bundle)} --home ${q(home)} --trust ${fingerprint} --quiet --full > /dev/null`);
    // Every extracted tree stays until the end of this count: on ext4 without a journal, creating files
    // just after deleting many (within ~30 s) scans past the recently freed inodes, and the row after a
    // deletion paid for it (one row 2-4x slower than the same command a minute later).
    const peerCmd = (into) => `tar -xf ${q(bundle)} -C ${q(into)} && cd ${q(path.join(into, bag))} && sha256sum -c --quiet manifest-sha256.txt`;
    let peer = '';
    for (let r = 1; r <= ROUNDS; r++) {
      const suffix = ROUNDS === 1 ? '' : `-${r}`;
      peer = path.join(work, `peer${suffix}`);
      const peerSync = path.join(work, `peer-sync${suffix}`);
      fs.mkdirSync(peer);
      fs.mkdirSync(peerSync);
      const ours = () => run('custody extract', `${custody} extract ${q(bundle)} --into ${q(`${out}${suffix}`)} --home ${q(home)} --trust ${fingerprint} --quiet > /dev/null`);
      const theirs = () => {
        run('tar -x + sha256sum -c + sync -f', `${peerCmd(peerSync)} && sync -f .`);
        run('tar -x + sha256sum -c', peerCmd(peer));
      };
      if (r % 2 === 1) {
        ours();
        theirs();
      } else {
        theirs();
        ours();
      }
    }
    if (fs.existsSync(BAGIT) && fs.existsSync(path.join(peer, bag))) run('bagit-python --validate', `${q(BAGIT)} --validate --quiet ${q(path.join(peer, bag))}`);
    fs.rmSync(work, { recursive: true, force: true });
  }
  const by = (name) => rows.filter((r) => r.name === name);
  console.log('\nslopes (least squares over the file counts; per 1,000 files):');
  for (const name of [...new Set(rows.map((r) => r.name))]) {
    const rs = by(name);
    if (new Set(rs.map((r) => r.n)).size < 2) continue; // a slope needs two file counts (rounds repeat one)
    const t = fit(rs.map((r) => r.n), rs.map((r) => r.wall));
    const c = fit(rs.map((r) => r.n), rs.map((r) => r.cpu));
    const m = fit(rs.map((r) => r.n), rs.map((r) => r.rssMB));
    console.log(`  ${name.padEnd(34)} ${(t.slope * 1000).toFixed(3)} s wall, ${(c.slope * 1000).toFixed(3)} s CPU, ${(m.slope * 1000).toFixed(2)} MB peak RSS (at 0 files: ${m.intercept.toFixed(0)} MB)`);
  }
  console.log('\nratios at each count (peer time / custody time; ≥ 1 means custody is faster):');
  for (const n of COUNTS) {
    // The best round of each (CUSTODY_BENCH_SMALL_ROUNDS).
    const get = (name) => rows.filter((r) => r.n === n && r.name === name).sort((a, b) => a.wall - b.wall)[0];
    for (const [ours, theirs] of [
      ['custody verify', 'bagit-python --validate'],
      ['custody verify --full', 'bagit-python --validate'],
      ['custody extract', 'tar -x + sha256sum -c'],
      ['custody extract', 'tar -x + sha256sum -c + sync -f'],
    ]) {
      const a = get(ours);
      const b = get(theirs);
      if (a && b) console.log(`  ${String(n).padStart(7)} files  ${ours} vs ${theirs}: ${(b.wall / a.wall).toFixed(2)}× wall (files/s), ${(b.cpu / a.cpu).toFixed(2)}× CPU`);
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchSmallRead().catch((e) => {
    console.error(`bench: ${e.message}`);
    process.exit(1);
  });
}
