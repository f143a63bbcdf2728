/**
 * Kill tests, end to end: `custody transfer` and `custody receive` run as
 * real child processes and are SIGKILLed at every step of the append (C's
 * hook CUSTODY_TEST_APPEND_ABORT_AT: after the lock temp, the lock, the
 * journal, its rename, the dir fsync, every 400-byte slice of the new
 * members, the data fsync, the journal removal, the final dir fsync), at
 * random times, and inside recovery itself (CUSTODY_TEST_RECOVER_ABORT_AT).
 * After each kill the bundle must, once custody touches it again, be
 * byte-for-byte what it was before (or, if the kill came after the append
 * was durable and the journal gone, the complete new chain), verify, and the
 * next transfer must succeed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import { readBundleChain } from '../src/bundle/chain-read.js';
import { transferBundle } from '../src/bundle/custody-ops.js';
import { ABORT_ENV, RECOVER_ABORT_ENV, bundleReadStream, journalPathFor, recoverInterruptedAppend } from '../src/bundle/tar-append.js';
import { verifyBundle } from '../src/bundle/verify.js';
import { parsePublicKeyFile, signerFromSeed, type Identity, type Signer } from '../src/custody/identity.js';
import { decryptKeyFile } from '../src/custody/keyfile.js';
import { BIN, runCli, tempDir } from './helpers/cli.js';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}, killAfterMs?: number): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs tasks with limited concurrency (CI machines have few cores). */
async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let dir: string;
let sealed: string;
let sealedBytes: Buffer;
let alicePub: string;
let bobPub: string;
let aliceHome: string;
let bobHome: string;
let aliceKeyFile: string;
let bobKeyFile: string;
/** Each copy of the bundle gets its own homes: a ledger shared across copies would rightly call them stale or forked. */
const homeOf = (file: string, who: string): string => path.join(dir, 'homes', `${path.relative(dir, file).replace(/[\/]/g, '_')}-${who}`);
let alice: Signer;
let bob: Signer;
let bobId: Identity;
let aliceId: Identity;
let engine: HashEngine;

async function signerOf(keyFile: string): Promise<Signer> {
  const { seed, identity } = await decryptKeyFile(new Uint8Array(fs.readFileSync(keyFile)), null, keyFile);
  return signerFromSeed(seed, identity);
}

beforeAll(async () => {
  dir = tempDir('custody-kill-e2e-');
  aliceHome = path.join(dir, 'alice');
  bobHome = path.join(dir, 'bob');
  const [a, b] = await Promise.all(
    [
      ['Alice', aliceHome],
      ['Bob', bobHome],
    ].map(([name, home]) => run(['--home', home!, 'key', 'new', '--name', name!, '--no-passphrase', '--json'])),
  );
  const ja = JSON.parse(a!.stdout);
  const jb = JSON.parse(b!.stdout);
  alicePub = ja.pubFile;
  bobPub = jb.pubFile;
  aliceKeyFile = ja.keyFile;
  bobKeyFile = jb.keyFile;
  alice = await signerOf(ja.keyFile);
  bob = await signerOf(jb.keyFile);
  aliceId = parsePublicKeyFile(fs.readFileSync(alicePub));
  bobId = parsePublicKeyFile(fs.readFileSync(bobPub));
  fs.writeFileSync(path.join(dir, 'image.dd'), Buffer.alloc(4096, 0x5a));
  sealed = path.join(dir, 'sealed.tar');
  const s = runCli(['--home', aliceHome, 'seal', path.join(dir, 'image.dd'), '--case', 'K-1', '--out', sealed, '--piece', '0']);
  expect(s.code, s.stderr).toBe(0);
  sealedBytes = fs.readFileSync(sealed);
  engine = new HashEngine({ workers: 1 });
}, 180_000);

afterAll(async () => {
  await engine?.close();
});

async function verifiesInProcess(file: string): Promise<{ ok: boolean; actions: string[] }> {
  const v = await verifyBundle(bundleReadStream(file), { engine, trusted: [aliceId.publicKey] });
  return { ok: v.ok, actions: v.chain?.records.map((r) => r.action) ?? [] };
}

function copy(name: string, from = sealed): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  const f = path.join(d, 'case.tar');
  fs.copyFileSync(from, f);
  return f;
}

/** After recovery: either exactly the old bytes, or the old bytes up to their end marker followed by the whole new record. */
async function assertOldOrComplete(file: string, old: Buffer, expectActions: string[]): Promise<'old' | 'complete'> {
  expect(fs.existsSync(journalPathFor(file))).toBe(false);
  const now = fs.readFileSync(file);
  const v = await verifiesInProcess(file);
  expect(v.ok).toBe(true);
  if (now.equals(old)) return 'old';
  const oldChain = await readBundleChainOf(old);
  expect(now.subarray(0, oldChain).equals(old.subarray(0, oldChain))).toBe(true);
  expect(v.actions).toEqual(expectActions);
  return 'complete';
}

async function readBundleChainOf(bytes: Buffer): Promise<number> {
  const f = path.join(dir, `probe-${Math.random().toString(16).slice(2)}.tar`);
  fs.writeFileSync(f, bytes);
  try {
    return (await readBundleChain(f)).endOfData;
  } finally {
    fs.rmSync(f);
  }
}

describe('custody transfer killed at every step of the append', () => {
  it('recovers to the old bundle (or the complete one), verifies, and the next transfer succeeds', async () => {
    const points = Array.from({ length: 16 }, (_, i) => i + 1); // 14 steps for a transfer record today, plus two that complete
    const files = points.map((n) => copy(`abort-${n}`));
    const runs = await pool(points, 3, (n) =>
      run(['--home', homeOf(files[n - 1]!, 'alice'), 'transfer', files[n - 1]!, '--to', bobPub, '--reason', 'kill test', '--key', aliceKeyFile], { [ABORT_ENV]: String(n) }),
    );
    const killed = runs.map((r) => r.signal === 'SIGKILL');
    const k = killed.lastIndexOf(true) + 1;
    // Killed at every step up to the last one; beyond that the transfer simply completes.
    expect(k).toBeGreaterThanOrEqual(12);
    expect(killed.slice(0, k).every(Boolean)).toBe(true);
    for (const r of runs.slice(k)) expect(r.code, r.stderr).toBe(0);
    // A kill at any step before the journal is removed leaves a journal or a temp beside the bundle.
    expect(fs.existsSync(journalPathFor(files[5]!))).toBe(true);

    const outcomes: string[] = [];
    for (let i = 0; i < k; i++) {
      const f = files[i]!;
      // What the next custody command does first.
      await recoverInterruptedAppend(f);
      const state = await assertOldOrComplete(f, sealedBytes, ['seal', 'transfer']);
      outcomes.push(state);
      // The next transfer succeeds: Alice again if the append was undone; else Bob receives and hands back.
      if (state === 'old') {
        await transferBundle(f, { signer: alice, to: bobId, reason: 'after the crash' });
      } else {
        await transferBundle(f, { signer: alice, to: bobId, reason: 'x' }).then(
          () => expect.unreachable('a second transfer must be refused while one is pending'),
          (e: { code: string }) => expect(e.code).toBe('NOT_CUSTODIAN'),
        );
      }
      expect((await verifiesInProcess(f)).actions).toEqual(['seal', 'transfer']);
    }
    // Early kills roll back; only kills after the journal was removed keep the (complete, durable) append.
    expect(outcomes.slice(0, 8).every((o) => o === 'old')).toBe(true);
    expect(outcomes.filter((o) => o === 'old').length).toBeGreaterThanOrEqual(k - 2);
  }, 180_000);

  it('custody verify reads the old bundle without writing; custody transfer undoes the interrupted append (no in-process help)', async () => {
    const cases = [2, 4, 7, 10]; // lock held; journal written; mid-header/data; late data
    const files = cases.map((n) => copy(`cli-${n}`));
    const kills = await pool(cases, 2, (n) =>
      run(['--home', homeOf(files[cases.indexOf(n)]!, 'alice'), 'transfer', files[cases.indexOf(n)]!, '--to', bobPub, '--reason', 'k', '--key', aliceKeyFile], { [ABORT_ENV]: String(n) }),
    );
    for (const r of kills) expect(r.signal).toBe('SIGKILL');
    // verify on two: it passes on the bundle as it was, says so, and leaves every byte as it found it
    const before = [sha(files[0]!), sha(files[2]!)];
    const [v1, v2] = await Promise.all([run(['verify', files[0]!, '--trust', alicePub]), run(['verify', files[2]!, '--trust', alicePub])]);
    expect(v1.code, v1.stderr).toBe(0);
    expect(v2.code, v2.stderr).toBe(0);
    expect(v2.stdout).toMatch(/interrupted append: verified the bundle as it was before it/);
    expect([sha(files[0]!), sha(files[2]!)]).toEqual(before);
    expect(fs.readFileSync(files[0]!).equals(sealedBytes)).toBe(true); // killed before anything was written
    expect(fs.readFileSync(files[2]!).equals(sealedBytes)).toBe(false); // a partial record is still there
    // transfer repairs before it appends
    const [t1, t2, t3] = await Promise.all(
      [files[1]!, files[3]!, files[2]!].map((f) => run(['--home', homeOf(f, 'alice'), 'transfer', f, '--to', bobPub, '--reason', 'retry', '--json', '--key', aliceKeyFile])),
    );
    expect(t1!.code, t1!.stderr).toBe(0);
    expect(t2!.code, t2!.stderr).toBe(0);
    expect(t3!.code, t3!.stderr).toBe(0);
    expect(JSON.parse(t1!.stdout).seq).toBe(1);
    expect(JSON.parse(t3!.stdout).seq).toBe(1);
    const r = await run(['--home', homeOf(files[1]!, 'bob'), 'receive', files[1]!, '--trust', alicePub, '--json', '--key', bobKeyFile]);
    expect(r.code, r.stderr).toBe(0);
    expect((await verifiesInProcess(files[1]!)).actions).toEqual(['seal', 'transfer', 'receive']);
  }, 180_000);

  it('a kill inside recovery is itself recovered', async () => {
    const f = copy('recover-kill');
    expect((await run(['--home', homeOf(f, 'alice'), 'transfer', f, '--to', bobPub, '--reason', 'k', '--key', aliceKeyFile], { [ABORT_ENV]: '9' })).signal).toBe('SIGKILL');
    const dirty = sha(f);
    for (const n of [1, 2]) {
      // transfer recovers first (verify never writes); killed inside that recovery
      const r = await run(['--home', homeOf(f, 'alice'), 'transfer', f, '--to', bobPub, '--reason', 'k', '--key', aliceKeyFile], { [RECOVER_ABORT_ENV]: String(n) });
      expect(r.signal).toBe('SIGKILL');
      expect(fs.existsSync(journalPathFor(f))).toBe(true);
    }
    expect(dirty).not.toBe(sha(sealed));
    const v = await run(['verify', f, '--trust', alicePub]);
    expect(v.code, v.stderr).toBe(0);
    await recoverInterruptedAppend(f);
    expect(fs.readFileSync(f).equals(sealedBytes)).toBe(true);
  }, 180_000);

  it('SIGKILL at random times: always the old bundle or the complete transfer', async () => {
    const delays = [150, 300, 450, 600, 750, 900];
    const files = delays.map((d) => copy(`random-${d}`));
    await pool(delays, 3, (d) =>
      run(['--home', homeOf(files[delays.indexOf(d)]!, 'alice'), 'transfer', files[delays.indexOf(d)]!, '--to', bobPub, '--reason', 'random kill', '--key', aliceKeyFile], {}, d + Math.floor(Math.random() * 150)),
    );
    for (const f of files) {
      await recoverInterruptedAppend(f); // what the next command does first (the CLI path is covered above)
      const state = await assertOldOrComplete(f, sealedBytes, ['seal', 'transfer']);
      if (state === 'old') await transferBundle(f, { signer: alice, to: bobId, reason: 'retry' });
      expect((await verifiesInProcess(f)).actions).toEqual(['seal', 'transfer']);
    }
  }, 180_000);
});

describe('custody receive killed during its append', () => {
  it('leaves the transfer pending and verifiable; the receive can be done again', async () => {
    const base = copy('receive-base');
    await transferBundle(base, { signer: alice, to: bobId, reason: 'to Bob' });
    const pendingBytes = fs.readFileSync(base);
    const points = [3, 6, 9];
    const files = points.map((n) => copy(`receive-${n}`, base));
    const runs = await pool(points, 3, (n) =>
      run(['--home', homeOf(files[points.indexOf(n)]!, 'bob'), 'receive', files[points.indexOf(n)]!, '--trust', alicePub, '--key', bobKeyFile], { [ABORT_ENV]: String(n) }),
    );
    for (const r of runs) expect(r.signal, r.stderr + r.stdout).toBe('SIGKILL');
    for (const f of files) {
      await recoverInterruptedAppend(f);
      expect(fs.readFileSync(f).equals(pendingBytes)).toBe(true);
    }
    const again = await run(['--home', homeOf(files[0]!, 'bob'), 'receive', files[0]!, '--trust', alicePub, '--json', '--key', bobKeyFile]);
    expect(again.code, again.stderr).toBe(0);
    expect((await verifiesInProcess(files[0]!)).actions).toEqual(['seal', 'transfer', 'receive']);
    // And Bob, now the custodian, can hand it on.
    await transferBundle(files[0]!, { signer: bob, to: aliceId, reason: 'back' });
    expect((await verifiesInProcess(files[0]!)).actions).toEqual(['seal', 'transfer', 'receive', 'transfer']);
  }, 180_000);
});
