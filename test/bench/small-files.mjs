#!/usr/bin/env node
/**
 * Small-file bench (`npm run bench` runs it when CUSTODY_BENCH_TREES is set, or
 * `node test/bench/small-files.mjs`): trees of many 1–64 KiB files, 3–6
 * folder levels (test/bench/make-tree.mjs, made once under /tmp and reused),
 * page cache warm, peers interleaved with custody in the same run:
 *   custody hash -r            vs  hashdeep -r -c md5,sha1,sha256
 *   custody seal               vs  bagit-python make-bag --md5 --sha256 + tar -cf
 * Then a tree of tiny files (CUSTODY_BENCH_TINY files, default 1,000,000; 0 = skip) for
 * custody seal's memory. Prints wall and CPU seconds, files/s, peak RSS (GNU time's
 * maximum resident set, children included), and a least-squares fit over the tree
 * sizes: seconds per 1,000 files and KB of peak RSS per file. Each line ends with
 * the 1-minute load average when the command finished (the figures are only
 * comparable within one run on a quiet machine).
 *
 * Env: CUSTODY_BENCH_TREES (file counts, default 10000,50000,200000; e.g. 200000 alone
 * takes about 10 minutes on a quiet 2-core machine, the tree ~6.5 GB once made),
 * CUSTODY_BENCH_RUNS (best of N, default 1), CUSTODY_BENCH_TREE_DIR (default /tmp),
 * CUSTODY_BENCH_TREE_ONLY (a regular expression: only the rows whose name matches, e.g. 'seal|bagit').
 * Not a test: numbers depend on the machine and on what else runs on it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTree } from './make-tree.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'custody.js');
const BAGIT = process.env.CUSTODY_BAGIT ?? path.resolve(ROOT, '..', 'shared', 'peers', 'bagit');
const TREES = (process.env.CUSTODY_BENCH_TREES ?? '10000,50000,200000').split(',').map(Number).filter((n) => n > 0);
const TINY = Number(process.env.CUSTODY_BENCH_TINY ?? 1_000_000);
const RUNS = Number(process.env.CUSTODY_BENCH_RUNS ?? 1);
const BASE = process.env.CUSTODY_BENCH_TREE_DIR ?? os.tmpdir();
const ONLY = process.env.CUSTODY_BENCH_TREE_ONLY ? new RegExp(process.env.CUSTODY_BENCH_TREE_ONLY) : undefined;

const work = fs.mkdtempSync(path.join(BASE, 'custody-bench-small-'));
const home = path.join(work, 'home');

/** Runs `sh -c cmd` under GNU time: wall, CPU (user + sys, children included) and peak RSS in MB. */
function timed(cmd) {
  const tf = path.join(work, 'time.txt');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', tf, 'sh', '-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr.slice(0, 400)}`);
  const [wall, user, sys, kb] = fs.readFileSync(tf, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { secs: wall, cpu: user + sys, rssMB: kb / 1024, load: os.loadavg()[0] };
}

const q = (s) => `'${s.replace(/'/g, "'\\''")}'`;

function commands(tree, n) {
  const bundle = path.join(work, `seal-${n}.tar`);
  const bagCopy = path.join(work, `bag-${n}`);
  return [
    { name: 'custody hash -r', cmd: `node ${q(BIN)} hash -r ${q(tree)} > /dev/null` },
    { name: 'hashdeep -r -c md5,sha1,sha256', cmd: `hashdeep -r -c md5,sha1,sha256 ${q(tree)} > /dev/null` },
    { name: 'custody seal', cmd: `node ${q(BIN)} --home ${q(home)} --quiet seal ${q(tree)} --case BENCH --out ${q(bundle)} --force`, after: () => fs.rmSync(bundle, { force: true }) },
    {
      name: 'bagit-python make-bag + tar -cf',
      // bagit-python makes the bag in place (moves the files into data/): it gets a hard-linked copy, made untimed.
      before: () => spawnSync('cp', ['-al', tree, bagCopy]),
      cmd: `${q(BAGIT)} --md5 --sha256 --quiet ${q(bagCopy)} && tar -cf ${q(`${bagCopy}.tar`)} -C ${q(work)} ${q(path.basename(bagCopy))}`,
      after: () => {
        fs.rmSync(bagCopy, { recursive: true, force: true });
        fs.rmSync(`${bagCopy}.tar`, { force: true });
      },
    },
  ];
}

function fit(points) {
  // Least squares y = a + b x.
  const n = points.length;
  if (n < 2) return undefined;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const b = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) / points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return { a: my - b * mx, b };
}

function main() {
  const k = spawnSync(process.execPath, [BIN, '--home', home, 'key', 'new', '--name', 'bench', '--no-passphrase'], { encoding: 'utf8' });
  if (k.status !== 0) throw new Error(k.stderr);
  const results = {};
  const sizes = [...TREES.map((n) => ({ n, min: 1024, max: 64 << 10 })), ...(TINY > 0 ? [{ n: TINY, min: 1, max: 64, tiny: true }] : [])];
  for (const { n, min, max, tiny } of sizes) {
    const tree = path.join(BASE, tiny ? `custody-bench-tiny-${n}` : `custody-bench-tree-${n}`);
    process.stderr.write(`tree of ${n} files at ${tree} …\n`);
    makeTree(tree, n, min, max);
    spawnSync('sh', ['-c', `find ${q(tree)} -type f -print0 | xargs -0 cat > /dev/null`]); // page cache warm
    const cmds = commands(tree, n).filter((c) => (!tiny || c.name === 'custody seal') && (!ONLY || ONLY.test(c.name)));
    for (let run = 0; run < RUNS; run++) {
      for (const c of cmds) {
        c.before?.();
        const r = timed(c.cmd);
        c.after?.();
        const key = `${c.name}|${tiny ? 'tiny' : 'tree'}|${n}`;
        if (!results[key] || r.secs < results[key].secs) results[key] = r;
      }
    }
    for (const c of cmds) {
      const r = results[`${c.name}|${tiny ? 'tiny' : 'tree'}|${n}`];
      console.log(
        `${`${tiny ? 'tiny' : 'tree'} ${n}`.padEnd(13)} ${c.name.padEnd(34)} ${r.secs.toFixed(1).padStart(7)} s (CPU ${r.cpu.toFixed(1).padStart(6)} s) ${(n / r.secs).toFixed(0).padStart(6)} files/s  peak RSS ${r.rssMB.toFixed(0).padStart(4)} MB  (load ${r.load.toFixed(1)})`,
      );
    }
    const ratio = (ours, peer) => {
      const a = results[`${ours}|tree|${n}`];
      const b = results[`${peer}|tree|${n}`];
      if (a && b) console.log(`  ${ours} vs ${peer}: ${(b.secs / a.secs).toFixed(2)}× the peer's files/s (wall), ${(b.cpu / a.cpu).toFixed(2)}× (CPU)${b.secs >= a.secs ? ' ok' : ' BELOW TARGET'}`);
    };
    if (!tiny) {
      ratio('custody hash -r', 'hashdeep -r -c md5,sha1,sha256');
      ratio('custody seal', 'bagit-python make-bag + tar -cf');
    }
  }
  for (const name of ['custody hash -r', 'hashdeep -r -c md5,sha1,sha256', 'custody seal', 'bagit-python make-bag + tar -cf']) {
    const pts = TREES.map((n) => [n, results[`${name}|tree|${n}`]]).filter((p) => p[1]);
    const t = fit(pts.map(([n, r]) => [n / 1000, r.secs]));
    const m = fit(pts.map(([n, r]) => [n, r.rssMB * 1024]));
    if (t && m) console.log(`slope ${name.padEnd(34)} ${t.b.toFixed(3)} s per 1,000 files (+${t.a.toFixed(2)} s), ${m.b.toFixed(2)} KB peak RSS per file (+${(m.a / 1024).toFixed(0)} MB)`);
  }
  const tiny = results[`custody seal|tiny|${TINY}`];
  if (tiny) console.log(`custody seal of ${TINY} tiny files: peak RSS ${tiny.rssMB.toFixed(0)} MB (target < 300 MB) ${tiny.rssMB < 300 ? 'ok' : 'ABOVE TARGET'}`);
}

try {
  main();
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
