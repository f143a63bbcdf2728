#!/usr/bin/env node
/**
 * Seal's ledger write at scale (`node test/bench/ledger-seal.mjs`): one
 * recordSeal of a bundle of CUSTODY_BENCH_SEAL_FILES files (default 200,000;
 * md5, sha1, sha256 each) into a fresh SQLite ledger (the home's, fsync on) and,
 * when PostgreSQL is installed, a throwaway server on a unix socket (as
 * test/bench/ledger.mjs runs one). Prints seconds, rows/s and the process's peak
 * RSS so far; then the same seal again (idempotent: no new rows).
 * CUSTODY_BENCH_SEAL_PG=0 skips PostgreSQL. Not a test.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pgBin, startServer } from './pg-server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const N = Number(process.env.CUSTODY_BENCH_SEAL_FILES ?? 200_000);
const h = (s, alg = 'sha256') => crypto.createHash(alg).update(s).digest('hex');
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).href);

function sealInput(tag) {
  const digest = h(`bundle ${tag}`);
  const files = {
    *[Symbol.iterator]() {
      for (let i = 0; i < N; i++) {
        const p = `data/export/d${i % 97}/f${i}.bin`;
        yield { itemId: 'export', path: p, size: i, hashes: { md5: h(p, 'md5'), sha1: h(p, 'sha1'), sha256: h(p) }, pieceCount: 1, merkleRoot: h(`m${p}`) };
      }
    },
  };
  const payload = Buffer.from(`{"seal":"${tag}"}`);
  return {
    bundleDigest: digest,
    bundleName: `bench-${tag}`,
    path: `/tmp/bench-${tag}.tar`,
    caseId: 'BENCH-1',
    items: [{ id: 'export', details: { kind: 'directory' } }],
    files,
    record: { seq: 0, action: 'seal', payload, envelope: Buffer.from(`{"payload":"${payload.toString('base64')}"}`), signerKeyid: '0123456789abcdef', at: new Date().toISOString() },
  };
}


async function run(name, open) {
  const store = await open();
  try {
    for (const [label, input] of [['seal', sealInput(name)], ['again', sealInput(name)]]) {
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      await store.recordSeal(input);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = process.cpuUsage(c0);
      console.log(`${name.padEnd(10)} ${label.padEnd(6)} ${N} files: ${secs.toFixed(2)} s (this process's CPU ${((c.user + c.system) / 1e6).toFixed(2)} s), ${(N / secs).toFixed(0)} files/s, peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
    }
    const files = await store.files(h(`bundle ${name}`));
    if (files.length !== N || Object.keys(files[N - 1].hashes).length !== 3) throw new Error(`${name}: ${files.length} files read back`);
  } finally {
    await store.close();
  }
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'custody-bench-ledger-seal-'));
const { openSqliteStore } = await dist('ledger/sqlite-store.js');
const { openPgLedger } = await dist('ledger/pg.js');
let server;
try {
  await run('SQLite', async () => openSqliteStore(home));
  const bin = process.env.CUSTODY_BENCH_SEAL_PG === '0' ? undefined : pgBin();
  if (bin) {
    server = startServer(bin);
    await run('PostgreSQL', async () => {
      const l = await openPgLedger(server.url, { migrate: true });
      await l.migrate();
      return l;
    });
  } else console.log('PostgreSQL not installed: skipped');
} finally {
  server?.stop();
  fs.rmSync(home, { recursive: true, force: true });
}
