#!/usr/bin/env node
/**
 * Chain operations on large bundles and long chains (part of `npm run bench`;
 * alone: `node test/bench/chain-ops.mjs` after `npm run build`). Targets:
 * `custody transfer` and `custody log` on a bundle of 200,000 small files
 * under 2 s each (timed against `tar -tvf` of the same bundle in the same
 * run), and 400 records adding under 1 ms each to a transfer.
 *
 * The 200,000-file bundle is made in seconds, not sealed (sealing that many
 * files takes minutes): a small bundle is sealed, then its members are
 * re-written with 200,000 members `data/bulk/dNNN/fNNNNNN.bin` of 1–64 KiB
 * inserted after bag-info.txt, headers by the project's tar header encoder,
 * data left as holes of a sparse file (zeros; the kernel serves them from the
 * page cache as it would cached data). Every header is what seal writes, the
 * tag files and signatures are the sealed ones: transfer and log, which never
 * read the payload, accept it; verify would refuse it (its payload manifests
 * do not list those files).
 *
 * The records are made in-process with the project's record builder (seal,
 * then transfer/receive pairs between two keys) and appended in one go; each
 * measured command runs on a fresh copy with a fresh home, as a second copy
 * of one bundle in one ledger is rightly a stale copy or a fork.
 *
 * Env: CUSTODY_BENCH_FILES (default 200000), CUSTODY_BENCH_RUNS (best of N,
 * default 1), CUSTODY_BENCH_CHAIN_DIR (default /tmp/chainops-bench; removed
 * at the end).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = path.join(ROOT, 'dist');
const CUSTODY = [process.execPath, path.join(ROOT, 'bin', 'custody.js')];
const lib = (p) => import(pathToFileURL(path.join(DIST, p)).href);

function run(argv, what) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${what ?? argv.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 400)}`);
  return r.stdout;
}

/**
 * Wall and CPU seconds (user + system, from bash's `times`) of one run, stdout
 * discarded. On a shared machine wall time swings with the load; CPU time
 * much less, so both are reported.
 */
function timed(argv) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('bash', ['-c', '"$@" >/dev/null || exit $?; times >&2', 'timed', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) return reject(new Error(`${argv.join(' ')} exited ${code}: ${err.slice(0, 400)}`));
      // `times` prints the shell's user and system time, then its children's.
      const lines = err.trim().split('\n');
      const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
      const cpu = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN;
      resolve({ secs, cpu });
    });
  });
}

async function best(runs, prepare, argvOf) {
  let b;
  for (let i = 0; i < runs; i++) {
    const r = await timed(argvOf(prepare(i)));
    if (!b || r.secs < b.secs) b = r;
  }
  return b;
}

const fmt = (r) => `${r.secs.toFixed(2).padStart(6)} s wall ${r.cpu.toFixed(2).padStart(6)} s CPU`;

/** A key made by `custody key new`, and its signer for the in-process record builder. */
async function makeKey(dir, name) {
  const out = JSON.parse(run([...CUSTODY, '--home', path.join(dir, `home-${name}`), '--json', 'key', 'new', '--name', name, '--no-passphrase', '--out', path.join(dir, name)]));
  const { decryptKeyFile } = await lib('custody/keyfile.js');
  const { signerFromSeed } = await lib('custody/identity.js');
  const { seed, identity } = await decryptKeyFile(new Uint8Array(fs.readFileSync(out.keyFile)), null, out.keyFile);
  return { name, keyFile: out.keyFile, pubFile: out.pubFile, signer: signerFromSeed(seed, identity), identity };
}

/** `sealed` re-written with `count` hole-backed members inserted after bag-info.txt. */
export async function inflate(sealed, out, count) {
  const { locateEndOfData } = await lib('bundle/tar-locate.js');
  const { encodeHeader, paddingFor, END_OF_ARCHIVE } = await lib('bundle/tar-header.js');
  const src = fs.openSync(sealed, 'r');
  const fh = await fs.promises.open(sealed, 'r');
  const { members } = await locateEndOfData(fh, (await fh.stat()).size);
  await fh.close();
  const bag = members[0].name.split('/')[0];
  const dst = fs.openSync(out, 'w');
  let at = 0;
  let seed = 0x9e3779b9;
  const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  // Copy a member of the sealed bundle as it is: its header block(s) (pax included) and data.
  let prevEnd = 0;
  const copyMember = (m) => {
    const start = prevEnd;
    const end = m.dataOffset + m.size + paddingFor(m.size);
    const buf = Buffer.alloc(end - start);
    fs.readSync(src, buf, 0, buf.length, start);
    fs.writeSync(dst, buf, 0, buf.length, at);
    at += buf.length;
    prevEnd = end;
  };
  for (const m of members) {
    copyMember(m);
    if (m.name !== `${bag}/bag-info.txt`) continue;
    // Headers are batched; data stays a hole.
    let batch = [];
    let batchAt = at;
    for (let i = 0; i < count; i++) {
      const size = 1024 + Math.floor(random() * 63 * 1024);
      const name = `${bag}/data/bulk/d${String(i % 997).padStart(3, '0')}/f${String(i).padStart(6, '0')}.bin`;
      const h = encodeHeader({ name, type: 'file', size, mtime: 0 });
      if (at !== batchAt + batch.length * 512) {
        if (batch.length) fs.writeSync(dst, Buffer.concat(batch), 0, batch.length * 512, batchAt);
        batch = [];
        batchAt = at;
      }
      batch.push(h);
      at += 512 + size + paddingFor(size);
    }
    if (batch.length) fs.writeSync(dst, Buffer.concat(batch), 0, batch.length * 512, batchAt);
  }
  fs.writeSync(dst, END_OF_ARCHIVE, 0, END_OF_ARCHIVE.length, at);
  fs.ftruncateSync(dst, Math.ceil((at + END_OF_ARCHIVE.length) / 10240) * 10240); // GNU tar's record padding
  fs.closeSync(dst);
  fs.closeSync(src);
}

/** Appends `pairs` transfer/receive pairs between a and b to a copy of `sealed` (records built and signed in-process). */
async function withRecords(sealed, out, pairs, a, b) {
  const { readBundleChain } = await lib('bundle/chain-read.js');
  const { buildNextRecord } = await lib('bundle/custody-ops.js');
  const { appendMembers } = await lib('bundle/tar-append.js');
  fs.copyFileSync(sealed, out);
  if (pairs === 0) return;
  const chain = await readBundleChain(out);
  const { sha256Hex } = await lib('core/digest.js');
  const { openEnvelope } = await lib('custody/dsse.js');
  const records = chain.envelopes.map((e) => ({ payloadSha256: sha256Hex(openEnvelope(e.bytes, e.member).payload) }));
  const at = new Date().toISOString();
  const appended = [];
  let [from, to] = [a, b];
  for (let i = 0; i < pairs; i++) {
    for (const [signer, action, fields] of [
      [from.signer, 'transfer', { to: to.identity, reason: `hand-over ${i}`, location: 'bench lab' }],
      [to.signer, 'receive', { condition: 'sealed, intact', verification: { verified: true, trusted: true, message: 'bench', tool: 'custody bench' } }],
    ]) {
      const r = buildNextRecord(signer, { bagName: chain.bagName, bundleDigest: chain.bundleDigest, verdict: { records } }, action, at, fields);
      records.push({ payloadSha256: sha256Hex(r.payload) });
      appended.push({ name: `${chain.bagName}/${r.member}`, bytes: r.envelope });
    }
    [from, to] = [to, from];
  }
  await appendMembers(out, appended);
}

/** Writes a file's dirty pages out (not timed), so that a timed command's fsync pays only for its own writes. */
function flushFile(f) {
  const fd = fs.openSync(f, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export async function benchChainOps({ runs = Number(process.env.CUSTODY_BENCH_RUNS ?? 1), files = Number(process.env.CUSTODY_BENCH_FILES ?? 200_000) } = {}) {
  const dir = process.env.CUSTODY_BENCH_CHAIN_DIR ?? path.join(os.tmpdir(), 'chainops-bench');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  try {
    const alice = await makeKey(dir, 'alice');
    const bob = await makeKey(dir, 'bob');
    fs.mkdirSync(path.join(dir, 'ev'));
    fs.writeFileSync(path.join(dir, 'ev', 'a.bin'), Buffer.alloc(4096, 7));
    const sealed = path.join(dir, 'small.tar');
    run([...CUSTODY, '--home', path.join(dir, 'home-alice'), '--quiet', 'seal', path.join(dir, 'ev'), '--case', 'bench', '--key', alice.keyFile, '--out', sealed]);

    // ---- size: transfer and log on a bundle of many small files, against tar -tvf
    const big = path.join(dir, 'big.tar');
    const t0 = Date.now();
    await inflate(sealed, big, files);
    // On disk before anything is timed: transfer's fsync would otherwise write out the bench's own 200,000 headers.
    flushFile(big);
    const bigSize = fs.statSync(big).size;
    console.log(`chain ops: ${files} files, bundle ${(bigSize / 2 ** 30).toFixed(2)} GiB (sparse) made in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    run(['tar', '-tvf', big], 'tar -tvf'); // warm the page cache
    const tarSecs = await best(runs, () => big, (f) => ['tar', '-tvf', f]);
    const bsdSecs = spawnSync('sh', ['-c', 'command -v bsdtar']).status === 0 ? await best(runs, () => big, (f) => ['bsdtar', '-tvf', f]) : undefined;
    const logSecs = await best(runs, () => big, (f) => [...CUSTODY, '--home', path.join(dir, 'home-log'), '--quiet', 'log', f]);
    // A transfer appends: before each run the bundle is put back as it was (its size, and zeros after the end of
    // data: what recovery of an interrupted append does), rather than copied (deleting a 6 GiB copy of 200,000
    // fragments took minutes here), and each run gets its own home.
    const fh = await fs.promises.open(big, 'r');
    const { locateEndOfData } = await lib('bundle/tar-locate.js');
    const { endOfData } = await locateEndOfData(fh, bigSize);
    await fh.close();
    const restore = (i) => {
      const fd = fs.openSync(big, 'r+');
      fs.ftruncateSync(fd, endOfData);
      fs.ftruncateSync(fd, bigSize);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      return { f: big, home: path.join(dir, `home-t${i}`) };
    };
    const transferSecs = await best(runs, restore, ({ f, home }) => [...CUSTODY, '--home', home, '--quiet', 'transfer', f, '--to', bob.pubFile, '--reason', 'bench', '--key', alice.keyFile]);
    const line = (name, r) =>
      console.log(`${name.padEnd(44)} ${fmt(r)}  ${(r.secs / tarSecs.secs).toFixed(2)}× tar -tvf (wall), ${(r.cpu / tarSecs.cpu).toFixed(2)}× (CPU)${r.secs < 2 ? '  ok (target < 2 s)' : '  ABOVE TARGET (< 2 s)'}`);
    console.log(`${'tar -tvf'.padEnd(44)} ${fmt(tarSecs)}`);
    if (bsdSecs !== undefined) console.log(`${'bsdtar -tvf'.padEnd(44)} ${fmt(bsdSecs)}`);
    line(`custody log (${files} files)`, logSecs);
    line(`custody transfer (${files} files)`, transferSecs);
    fs.rmSync(big, { force: true });

    // ---- length: transfer and receive at 1, 101 and 401 records (seal + 0, 50, 200 transfer/receive pairs)
    const per = {};
    for (const pairs of [0, 50, 200]) {
      const base = path.join(dir, `chain-${pairs}.tar`);
      await withRecords(sealed, base, pairs, alice, bob);
      const n = 1 + 2 * pairs;
      const prep = (i) => {
        const f = path.join(dir, `chain-${pairs}-${i}.tar`);
        fs.copyFileSync(base, f);
        flushFile(f);
        return { f, home: path.join(dir, `home-c${pairs}-${i}`) };
      };
      const transfer = await best(runs, prep, ({ f, home }) => [...CUSTODY, '--home', home, '--quiet', 'transfer', f, '--to', bob.pubFile, '--reason', 'bench', '--key', alice.keyFile]);
      // receive: Bob takes the bundle Alice just transferred (n + 1 records before his).
      let k = 0;
      const prepReceive = (i) => {
        const p = prep(`r${i}`);
        run([...CUSTODY, '--home', p.home, '--quiet', 'transfer', p.f, '--to', bob.pubFile, '--reason', 'bench', '--key', alice.keyFile]);
        return { ...p, home: path.join(dir, `home-r${pairs}-${k++}`) };
      };
      const receive = await best(runs, prepReceive, ({ f, home }) => [...CUSTODY, '--home', home, '--quiet', 'receive', f, '--key', bob.keyFile, '--trust', alice.pubFile]);
      const log = await best(runs, () => base, (f) => [...CUSTODY, '--home', path.join(dir, 'home-log'), '--quiet', 'log', f]);
      per[n] = { transfer, receive, log };
      console.log(`${`chain of ${n} record(s)`.padEnd(44)} ${['transfer', 'receive', 'log'].map((w) => `${w} ${per[n][w].secs.toFixed(3)} s (${per[n][w].cpu.toFixed(3)} s CPU)`).join('  ')}`);
    }
    const slope = (what, key, a, b) => ((per[b][what][key] - per[a][what][key]) / (b - a)) * 1000;
    for (const what of ['transfer', 'receive', 'log']) {
      const s = slope(what, 'secs', 1, 401);
      const c = slope(what, 'cpu', 1, 401);
      console.log(
        `${`${what}: cost per record`.padEnd(44)} wall ${slope(what, 'secs', 1, 101).toFixed(2)} ms (1→101), ${slope(what, 'secs', 101, 401).toFixed(2)} ms (101→401), ${s.toFixed(2)} ms (1→401); CPU ${c.toFixed(2)} ms (1→401)` +
          (what === 'transfer' ? (s < 1 ? '  ok (target < 1 ms)' : '  ABOVE TARGET (< 1 ms)') : ''),
      );
    }
    return { tarSecs, logSecs, transferSecs, per };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchChainOps().catch((e) => {
    console.error(`bench: ${e.stack ?? e.message}`);
    process.exit(1);
  });
}
