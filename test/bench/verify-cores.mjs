#!/usr/bin/env node
/**
 * custody verify (pieces mode) of a 1 GiB bundle against what this machine's
 * cores can do: one and two `openssl sha256` processes (the two on the
 * bundle's halves), and the Node floor — the same work as the piece lanes
 * (positioned 1 MiB reads into one buffer per lane, SHA-256 of 64 MiB pieces
 * with node:crypto), with nothing else around it: read alone, hash alone, both.
 * Target: verify ≤ 1.2× the two openssl processes.
 *
 * The entries run interleaved, round after round (A B C … A B C …), so that a
 * shared machine's load falls on all of them alike; the best of the rounds is
 * shown with its CPU time (user + sys, children included, GNU time) and the
 * load average when it ran. Not a test: figures depend on the machine.
 *
 * Env: CUSTODY_BENCH_RUNS (rounds, default 5), CUSTODY_BENCH_FILE (the input,
 * default a 1 GiB random file in the temp folder; the bundle, its halves and a
 * throwaway home sit beside it and are removed at the end unless
 * CUSTODY_BENCH_KEEP=1), CUSTODY_BENCH_ONLY (a regular expression over the
 * entry names), CUSTODY_BENCH_BASE (another built checkout of custody, e.g. the
 * commit before a change: its verify is timed in the same rounds).
 *
 *   node test/bench/verify-cores.mjs
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'custody.js');
const FLOOR = path.join(ROOT, 'test', 'bench', 'verify-floor.mjs');
const RUNS = Number(process.env.CUSTODY_BENCH_RUNS ?? 5);
const SIZE = 1 << 30;
const FILE = process.env.CUSTODY_BENCH_FILE ?? path.join(os.tmpdir(), `custody-bench-${SIZE}.bin`);
const DIR = path.dirname(FILE);
const BUNDLE = path.join(DIR, 'custody-verify-cores.tar');
const HALVES = [`${BUNDLE}.half1`, `${BUNDLE}.half2`];
const HOME = path.join(DIR, 'custody-verify-cores-home');
const KEY = path.join(HOME, 'bench');
const ONLY = process.env.CUSTODY_BENCH_ONLY ? new RegExp(process.env.CUSTODY_BENCH_ONLY) : undefined;
const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const custody = `${q(process.execPath)} ${q(BIN)} --home ${q(HOME)} --quiet`;
const node = q(process.execPath);
const BASE = process.env.CUSTODY_BENCH_BASE;

function run(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function prepare() {
  if (!fs.existsSync(FILE) || fs.statSync(FILE).size !== SIZE) {
    process.stderr.write(`generating ${SIZE} bytes at ${FILE} …\n`);
    const fd = fs.openSync(FILE, 'w');
    const cipher = crypto.createCipheriv('aes-128-ctr', crypto.randomBytes(16), crypto.randomBytes(16));
    const zero = Buffer.alloc(4 << 20);
    for (let done = 0; done < SIZE; done += zero.length) fs.writeSync(fd, cipher.update(zero));
    fs.closeSync(fd);
  }
  fs.mkdirSync(HOME, { recursive: true });
  if (!fs.existsSync(`${KEY}.key`)) run([process.execPath, BIN, '--home', HOME, 'key', 'new', '--name', 'bench', '--no-passphrase', '--out', KEY]);
  if (!fs.existsSync(BUNDLE)) run([process.execPath, BIN, '--home', HOME, '--quiet', 'seal', FILE, '--case', 'bench', '--key', `${KEY}.key`, '--out', BUNDLE]);
  if (!HALVES.every((h) => fs.existsSync(h))) {
    const size = fs.statSync(BUNDLE).size;
    const half = Math.ceil(size / 2);
    run(['sh', '-c', `head -c ${half} ${q(BUNDLE)} > ${q(HALVES[0])} && tail -c +${half + 1} ${q(BUNDLE)} > ${q(HALVES[1])}`]);
  }
  run(['sh', '-c', `cat ${[BUNDLE, ...HALVES].map(q).join(' ')} > /dev/null`]);
}

/** GNU time around a shell command: wall, CPU (user + sys, children included), peak RSS in MB. */
function timed(cmd) {
  const load = os.loadavg()[0];
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', 'sh', '-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr.slice(-400)}`);
  const [wall, user, sys, rss] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: user + sys, user, sys, rssMB: rss / 1024, load };
}

const ENTRIES = [
  ['openssl sha256 (1 process)', `openssl sha256 ${q(BUNDLE)} >/dev/null`],
  ['openssl sha256 (halves, 2 processes)', `openssl sha256 ${q(HALVES[0])} >/dev/null & openssl sha256 ${q(HALVES[1])} >/dev/null; wait`],
  ['custody verify (pieces, every core)', `${custody} verify ${q(BUNDLE)} --trust ${q(`${KEY}.pub`)} >/dev/null`],
  ['custody verify --jobs 1', `${custody} verify ${q(BUNDLE)} --trust ${q(`${KEY}.pub`)} --jobs 1 >/dev/null`],
  ...(BASE ? [['base: custody verify (pieces)', `${node} ${q(path.join(BASE, 'bin', 'custody.js'))} --home ${q(HOME)} --quiet verify ${q(BUNDLE)} --trust ${q(`${KEY}.pub`)} >/dev/null`]] : []),
  ['node floor: read only, 2 lanes', `${node} ${q(FLOOR)} ${q(BUNDLE)} read 2`],
  ['node floor: hash only, 2 lanes', `${node} ${q(FLOOR)} ${q(BUNDLE)} hash 2`],
  ['node floor: read + hash, 2 lanes', `${node} ${q(FLOOR)} ${q(BUNDLE)} both 2`],
  ['node -e 0 (start-up alone)', `${node} -e 0`],
  ['custody --version', `${q(process.execPath)} ${q(BIN)} --version >/dev/null`],
].filter(([name]) => !ONLY || ONLY.test(name));

function main() {
  if (spawnSync('sh', ['-c', 'command -v openssl && test -x /usr/bin/time']).status !== 0) throw new Error('needs openssl and GNU time (/usr/bin/time)');
  prepare();
  console.log(`bundle ${BUNDLE} (${(fs.statSync(BUNDLE).size / 2 ** 20).toFixed(0)} MiB), ${os.availableParallelism()} cores, node ${process.version}, ${RUNS} interleaved rounds, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const best = new Map();
  const all = new Map(ENTRIES.map(([name]) => [name, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const [name, cmd] of ENTRIES) {
      const t = timed(cmd);
      all.get(name).push(t);
      if (!best.has(name) || t.wall < best.get(name).wall) best.set(name, t);
    }
  }
  // Every round, in order (a shared machine's load shows in them), and the median beside the best.
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [name, ts] of all) {
    console.log(`${name.padEnd(38)} rounds ${ts.map((t) => t.wall.toFixed(2)).join(' ')}  median ${median(ts.map((t) => t.wall)).toFixed(2)} s (CPU ${median(ts.map((t) => t.cpu)).toFixed(2)} s)`);
  }
  const med = (name) => (all.has(name) ? median(all.get(name).map((t) => t.wall)) : undefined);
  for (const [name] of ENTRIES) {
    const b = best.get(name);
    console.log(`${name.padEnd(38)} ${b.wall.toFixed(2).padStart(5)} s wall  CPU ${b.cpu.toFixed(2)} s (user ${b.user.toFixed(2)}, sys ${b.sys.toFixed(2)})  peak RSS ${b.rssMB.toFixed(0).padStart(3)} MB  (load ${b.load.toFixed(2)})`);
  }
  const two = best.get('openssl sha256 (halves, 2 processes)');
  const v = best.get('custody verify (pieces, every core)');
  const floor = best.get('node floor: read + hash, 2 lanes');
  if (two && v) {
    const x = v.wall / two.wall;
    console.log(`custody verify (pieces) vs 2 openssl processes: ${x.toFixed(2)}× the time (target ≤ 1.2×) ${x <= 1.2 ? 'ok' : 'ABOVE TARGET'}; CPU ${v.cpu.toFixed(2)} s vs ${two.cpu.toFixed(2)} s; peak RSS ${v.rssMB.toFixed(0)} MB`);
  }
  if (two && floor) console.log(`node floor (read + hash, 2 lanes) vs 2 openssl processes: ${(floor.wall / two.wall).toFixed(2)}× the time; CPU ${floor.cpu.toFixed(2)} s`);
  if (v && floor) console.log(`custody verify vs the node floor: ${(v.wall / floor.wall).toFixed(2)}× the time, ${(v.cpu - floor.cpu).toFixed(2)} s more CPU`);
  const base = best.get('base: custody verify (pieces)');
  if (two && base) console.log(`base custody verify vs 2 openssl processes: ${(base.wall / two.wall).toFixed(2)}× the time; CPU ${base.cpu.toFixed(2)} s`);
  const [m2, mv, mb, m1] = [med('openssl sha256 (halves, 2 processes)'), med('custody verify (pieces, every core)'), med('base: custody verify (pieces)'), med('openssl sha256 (1 process)')];
  if (m2 && mv) console.log(`medians: custody verify ${(mv / m2).toFixed(2)}× 2 openssl${m1 ? `, ${(mv / m1).toFixed(2)}× 1 openssl` : ''}${mb ? `; base ${(mb / m2).toFixed(2)}× 2 openssl${m1 ? `, ${(mb / m1).toFixed(2)}× 1 openssl` : ''}` : ''}`);
  if (process.env.CUSTODY_BENCH_KEEP !== '1') for (const f of [BUNDLE, ...HALVES]) fs.rmSync(f, { force: true });
  if (process.env.CUSTODY_BENCH_KEEP !== '1') fs.rmSync(HOME, { recursive: true, force: true });
}

main();
