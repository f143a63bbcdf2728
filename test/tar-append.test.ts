/**
 * Crash-safe append: kill tests with a real child process (SIGKILL at every
 * step of the append via the test hook, and at random times), then recovery,
 * then the archive must read strictly with exactly its old bytes, and the
 * next append must succeed. Plus the lock, stale journals and the
 * read-only view.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ABORT_ENV,
  RECOVER_ABORT_ENV,
  appendMembers,
  bundleReadStream,
  inspectJournal,
  journalPathFor,
  recoverInterruptedAppend,
} from '../src/bundle/tar-append.js';
import { TarWriter } from '../src/bundle/tar-writer.js';
import { ROOT, tempDir } from './helpers/cli.js';
import { readAll } from './helpers/tar-read.js';

const CHILD = path.join(ROOT, 'test', 'helpers', 'append-child.mjs');
const enc = new TextEncoder();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(() => {
  // The child runs the built module: rebuild if dist/ is older than the sources.
  const built = path.join(ROOT, 'dist', 'bundle', 'tar-append.js');
  const stale = (src: string) => !fs.existsSync(built) || fs.statSync(path.join(ROOT, 'src', 'bundle', src)).mtimeMs > fs.statSync(built).mtimeMs;
  if (['tar-append.ts', 'tar-header.ts', 'tar-locate.ts', 'tar-names.ts', 'tar-writer.ts'].some(stale)) {
    spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', ROOT], { stdio: 'ignore' });
  }
  expect(fs.existsSync(built)).toBe(true);
}, 120_000);

/** A small sealed-bundle-like tar, optionally followed by GNU-style zero record padding. */
async function makeBundle(dir: string, extraZeros = 0): Promise<{ file: string; bytes: Buffer }> {
  const file = path.join(dir, 'case.tar');
  const fd = fs.openSync(file, 'w');
  const w = new TarWriter(fd);
  await w.addDirectory('bag');
  await w.addFile('bag/bagit.txt', enc.encode('BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n'));
  await w.addFile('bag/data/item/evidence.bin', new Uint8Array(3000).map((_, i) => (i * 7) & 0xff));
  await w.addFile('bag/custody/chain/0000-seal.dsse.json', enc.encode('{"payloadType":"x","payload":"e30=","signatures":[]}\n'));
  const { endOfData } = await w.finish();
  if (extraZeros) fs.writeSync(fd, new Uint8Array(extraZeros), 0, extraZeros, endOfData + 1024);
  fs.closeSync(fd);
  return { file, bytes: fs.readFileSync(file) };
}

const RECORD = { name: 'bag/custody/chain/0001-transfer.dsse.json', bytes: new Uint8Array(1300).fill(0x7b) };
const NEXT = { name: 'bag/custody/chain/0002-receive.dsse.json', bytes: enc.encode('{"next":true}\n') };

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.includes('custody-journal'));
}

function runChild(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CHILD, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
}

describe('appendMembers', () => {
  it('overwrites the end blocks only: old bytes unchanged, new member readable, end moves', async () => {
    const dir = tempDir();
    const { file, bytes } = await makeBundle(dir, 8192);
    const before = await readAll(bytes);
    const r = await appendMembers(file, [RECORD]);
    expect(r.offset).toBe(before.endOfData);
    const after = fs.readFileSync(file);
    expect(after.subarray(0, before.endOfData).equals(bytes.subarray(0, before.endOfData))).toBe(true);
    const read = await readAll(after, 4096, { canonical: true });
    expect(read.members.map((m) => m.name).at(-1)).toBe(RECORD.name);
    expect(Buffer.from(read.members.at(-1)!.data!).equals(Buffer.from(RECORD.bytes))).toBe(true);
    expect(read.endOfData).toBe(r.endOfData);
    expect(leftovers(dir)).toEqual([]);
    // stock tools agree
    expect(execFileSync('tar', ['-tf', file], { encoding: 'utf8' })).toContain(RECORD.name);
  });

  it('refuses a duplicate member, a moved end and an unsafe bundle, leaving the bundle untouched and unlocked', async () => {
    const dir = tempDir();
    const { file, bytes } = await makeBundle(dir);
    await expect(appendMembers(file, [{ name: 'bag/bagit.txt', bytes: new Uint8Array(1) }])).rejects.toMatchObject({ code: 'UNSAFE_BUNDLE', message: /duplicate/ });
    await expect(appendMembers(file, [{ name: '../evil', bytes: new Uint8Array(1) }])).rejects.toMatchObject({ code: 'UNSAFE_BUNDLE' });
    await expect(appendMembers(file, [RECORD], { expectEndOfData: 512 })).rejects.toMatchObject({ code: 'IO_ERROR', message: /changed since it was verified/ });
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    expect(leftovers(dir)).toEqual([]);
    fs.appendFileSync(file, 'trailing garbage');
    await expect(appendMembers(file, [RECORD])).rejects.toMatchObject({ code: 'UNSAFE_BUNDLE', message: /after the end-of-archive marker/ });
    expect(leftovers(dir)).toEqual([]);
  });

  it('refuses a second appender while a live process holds the journal', async () => {
    const dir = tempDir();
    const { file, bytes } = await makeBundle(dir);
    const sleeper = spawn('sleep', ['30']);
    try {
      const j = { custodyJournal: 1, phase: 'lock', bundle: 'case.tar', pid: sleeper.pid, host: (await import('node:os')).hostname(), at: '' };
      fs.writeFileSync(journalPathFor(file), JSON.stringify(j));
      await expect(appendMembers(file, [RECORD])).rejects.toMatchObject({ code: 'IO_ERROR', message: new RegExp(`process ${sleeper.pid}`) });
      await expect(recoverInterruptedAppend(file)).rejects.toMatchObject({ code: 'IO_ERROR' });
      expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    } finally {
      sleeper.kill('SIGKILL');
    }
    await new Promise((r) => sleeper.on('exit', r));
    // once the holder is dead, its lock-phase journal is cleaned up and appends work
    expect(await recoverInterruptedAppend(file)).toBe(true);
    await appendMembers(file, [RECORD]);
  });

  it('two processes appending at once: each append is whole or refused, never interleaved', async () => {
    const dir = tempDir();
    const { file } = await makeBundle(dir);
    const run = (prefix: string) =>
      new Promise<string>((resolve) => {
        const c = spawn(process.execPath, [CHILD, 'loop', file, '15', '3000', prefix]);
        let out = '';
        c.stdout.on('data', (d) => (out += String(d)));
        c.on('close', () => resolve(out));
      });
    const outs = await Promise.all([run('bag/custody/chain/a'), run('bag/custody/chain/b')]);
    const results = outs.flatMap((o) => o.trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; code?: string; names: string[] }));
    expect(results.length).toBe(30);
    for (const r of results.filter((x) => !x.ok)) expect(r.code).toBe('IO_ERROR');
    const ok = results.filter((r) => r.ok).flatMap((r) => r.names);
    expect(ok.length).toBeGreaterThan(0);
    const read = await readAll(fs.readFileSync(file));
    expect(read.members.map((m) => m.name).slice(4).sort()).toEqual(ok.sort());
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('appendMembers killed with SIGKILL', () => {
  it('at every step: recovery restores the exact old bytes (or the finished append), and the next append succeeds', async () => {
    const dir = tempDir();
    const { bytes } = await makeBundle(dir, 3000);
    const done = path.join(dir, 'done.tar');
    fs.writeFileSync(done, bytes);
    await appendMembers(done, [RECORD]);
    const appended = fs.readFileSync(done);
    let steps = 0;
    let sawJournal = 0;
    for (let n = 1; n < 200; n++) {
      const run = path.join(tempDir(), 'case.tar');
      fs.writeFileSync(run, bytes);
      const r = runChild(['append', run, `${RECORD.name}=1300,${0x7b}`], { [ABORT_ENV]: String(n) });
      if (r.status === 0) break; // n is past the last step
      expect(r.signal, r.stderr).toBe('SIGKILL');
      steps = n;
      const journal = fs.existsSync(journalPathFor(run));
      const phase = journal ? (JSON.parse(fs.readFileSync(journalPathFor(run), 'utf8')) as { phase: string }).phase : undefined;
      // a reader that cannot repair (read-only medium) sees the old bundle
      const view = await collect(bundleReadStream(run, 1000));
      if (phase === 'append') {
        sawJournal++;
        expect(view.equals(bytes), `step ${n}: read-only view`).toBe(true);
      }
      await recoverInterruptedAppend(run);
      const now = fs.readFileSync(run);
      if (journal) expect(now.equals(bytes), `step ${n}: rolled back`).toBe(true);
      else expect(now.equals(bytes) || now.equals(appended), `step ${n}: old or finished`).toBe(true);
      await readAll(now, 777); // strict
      expect(leftovers(path.dirname(run))).toEqual([]);
      await appendMembers(run, [NEXT]);
      const names = (await readAll(fs.readFileSync(run))).members.map((m) => m.name);
      expect(names.at(-1)).toBe(NEXT.name);
    }
    // header, data and end blocks are written in 400-byte slices under the hook: many kill points
    expect(steps).toBeGreaterThan(12);
    expect(sawJournal).toBeGreaterThan(8);
    console.log(`append kill test: ${steps} kill points, ${sawJournal} with a journal to roll back`);
  });

  it('recovery itself killed at every step, then run again, still restores the old bytes', async () => {
    const dir = tempDir();
    const { bytes } = await makeBundle(dir);
    for (let m = 1; m < 10; m++) {
      const run = path.join(tempDir(), 'case.tar');
      fs.writeFileSync(run, bytes);
      expect(runChild(['append', run, `${RECORD.name}=1300`], { [ABORT_ENV]: '9' }).signal).toBe('SIGKILL');
      expect(fs.readFileSync(run).equals(bytes)).toBe(false); // partly written
      const r = runChild(['recover', run], { [RECOVER_ABORT_ENV]: String(m) });
      if (r.status === 0) break;
      expect(r.signal).toBe('SIGKILL');
      expect(await recoverInterruptedAppend(run)).toBe(true);
      expect(fs.readFileSync(run).equals(bytes), `recovery killed at ${m}`).toBe(true);
    }
  });

  it('at random times during a run of appends: the bundle is always the original plus whole appends', async () => {
    const dir = tempDir();
    const { bytes } = await makeBundle(dir);
    // every state a correct run can leave: after 0, 1, 2, … whole appends
    const ref = path.join(dir, 'ref.tar');
    fs.writeFileSync(ref, bytes);
    const states = new Map<string, number>([[sha(bytes), 0]]);
    for (let i = 0; i < 12; i++) {
      await appendMembers(ref, [{ name: `custody/chain/rec-${String(i).padStart(4, '0')}`, bytes: new Uint8Array(300_000).fill(i & 0xff) }]);
      states.set(sha(fs.readFileSync(ref)), i + 1);
    }
    const seen = new Set<number>();
    let midAppend = 0;
    for (let round = 0; round < 8; round++) {
      const run = path.join(tempDir(), 'case.tar');
      fs.writeFileSync(run, bytes);
      const child = spawn(process.execPath, [CHILD, 'loop', run, '12', '300000', 'custody/chain/rec'], { stdio: ['ignore', 'pipe', 'ignore'] });
      const closed = new Promise((r) => child.on('close', r));
      // node's start-up dwarfs an append: start the clock at the first finished append
      await Promise.race([new Promise((r) => child.stdout.once('data', r)), closed]);
      await new Promise((r) => setTimeout(r, Math.random() * 60));
      child.kill('SIGKILL');
      await closed;
      if (fs.existsSync(journalPathFor(run))) midAppend++;
      await recoverInterruptedAppend(run);
      const state = states.get(sha(fs.readFileSync(run)));
      expect(state, `round ${round}: not a state a whole number of appends leaves`).toBeDefined();
      seen.add(state!);
      await readAll(fs.readFileSync(run), 65536);
    }
    expect(Math.min(...seen)).toBeGreaterThan(0);
    console.log(`random kills left states after ${[...seen].sort((a, b) => a - b).join(", ")} whole appends (${midAppend} of 8 kills landed mid-append)`);
  });
});

describe('journals that do not belong', () => {
  it('refuses a stale journal from another copy, a journal for another bundle and a damaged one, without applying them', async () => {
    const dir = tempDir();
    const { file, bytes } = await makeBundle(dir);
    const other = path.join(tempDir(), 'case.tar');
    fs.writeFileSync(other, bytes);
    runChild(['append', other, `${RECORD.name}=1300`], { [ABORT_ENV]: '9' });
    const journal = fs.readFileSync(journalPathFor(other), 'utf8');
    const altered = JSON.parse(journal) as { tailSha256: string; bundle: string };

    fs.writeFileSync(journalPathFor(file), JSON.stringify({ ...altered, tailSha256: '0'.repeat(64) }));
    await expect(recoverInterruptedAppend(file)).rejects.toMatchObject({ code: 'IO_ERROR', message: /does not match/ });
    // readers ignore a journal that is not ours and read the bundle as it is
    expect(await inspectJournal(file)).toMatchObject({ state: 'foreign' });
    expect((await collect(bundleReadStream(file))).equals(bytes)).toBe(true);
    await expect(appendMembers(file, [RECORD])).rejects.toMatchObject({ code: 'IO_ERROR', message: /does not match/ });

    fs.writeFileSync(journalPathFor(file), JSON.stringify({ ...altered, bundle: 'other.tar' }));
    await expect(recoverInterruptedAppend(file)).rejects.toMatchObject({ message: /does not match/ });

    fs.writeFileSync(journalPathFor(file), '{"custodyJournal":1,"pha');
    await expect(recoverInterruptedAppend(file)).rejects.toMatchObject({ message: /not a custody append journal/ });
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);

    // the real journal, beside its own bundle, applies
    expect(await recoverInterruptedAppend(other)).toBe(true);
    expect(fs.readFileSync(other).equals(bytes)).toBe(true);
  });

  it('refuses a journal whose old size is far beyond the file (a planted journal must not make recovery fill the disk)', async () => {
    const { file, bytes } = await makeBundle(tempDir());
    runChild(['append', file, `${RECORD.name}=1300`], { [ABORT_ENV]: '9' });
    const j = JSON.parse(fs.readFileSync(journalPathFor(file), 'utf8')) as { size: number; endOfData: number };
    expect(j.size).toBe(bytes.length);
    fs.writeFileSync(journalPathFor(file), JSON.stringify({ ...j, size: j.endOfData + (64 << 20) }));
    expect(await inspectJournal(file)).toMatchObject({ state: 'foreign', why: /old size is far beyond/ });
    await expect(recoverInterruptedAppend(file)).rejects.toMatchObject({ code: 'IO_ERROR', message: /does not match/ });
    expect(fs.statSync(file).size).toBeLessThan(bytes.length + 4096);
    // the journal as written still applies
    fs.writeFileSync(journalPathFor(file), JSON.stringify(j));
    expect(await recoverInterruptedAppend(file)).toBe(true);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });

  it('streams a bundle with no journal as it is', async () => {
    const { file, bytes } = await makeBundle(tempDir(), 100);
    expect((await collect(bundleReadStream(file, 333))).equals(bytes)).toBe(true);
    expect(await recoverInterruptedAppend(file)).toBe(false);
  });
});
