/**
 * An interrupted run leaves nothing behind: SIGINT, SIGTERM or SIGHUP during
 * seal, extract, report, hash -o or receive --out removes the temporary it
 * was writing and exits 130/143/129 with one line; a report's outputs are
 * written all or none; a signal during an append removes the append lock
 * (the journal stays, and the next run recovers from it); a received bundle
 * at --out is removed when its receive record was not appended. A temporary left by a run that was SIGKILLed
 * (our prefix, its process gone) is removed by the next run for the same
 * target, with a note; one whose process still runs is left alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABORT_ENV, ABORT_SIGNAL_ENV, journalPathFor } from '../src/bundle/tar-append.js';
import { BIN, runCli, tempDir } from './helpers/cli.js';

let dir: string;
let home: string;
let img: string;
let bundle: string;
const SIZE = 1536 * 1024 * 1024; // sparse: long enough to read that a signal lands mid-run

/** The process has `file` open (it is reading it): a start-up slowed by a busy machine is over. */
function reading(pid: number, file: string): boolean {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

function hidden(d: string): string[] {
  return fs.readdirSync(d).filter((f) => f.startsWith('.'));
}

/** Starts the CLI, waits until `ready()` (or a short while), sends `sig`, resolves with the exit code and stderr. */
function interrupt(args: string[], sig: NodeJS.Signals, ready: (pid: number) => boolean): Promise<{ code: number | null; stderr: string; sawTemp: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', CUSTODY_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sawTemp = false;
    child.stderr.on('data', (d) => (stderr += String(d)));
    const start = Date.now();
    const timer = setInterval(() => {
      if (ready(child.pid!)) sawTemp = true;
      if (sawTemp || Date.now() - start > 20_000) {
        clearInterval(timer);
        child.kill(sig);
      }
    }, 20);
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ code, stderr, sawTemp });
    });
  });
}

beforeAll(() => {
  dir = tempDir('custody-interrupt-');
  home = path.join(dir, 'home');
  expect(runCli(['key', 'new', '--name', 'Ivan Interrupt', '--no-passphrase'], { env: { CUSTODY_HOME: home } }).code).toBe(0);
  img = path.join(dir, 'disk.img');
  expect(spawnSync('truncate', ['-s', String(SIZE), img]).status).toBe(0);
  bundle = path.join(dir, 'done.tar');
  const r = runCli(['seal', img, '--case', 'INT-1', '--out', bundle, '--algo', 'sha256', '--piece', '0'], { env: { CUSTODY_HOME: home } });
  expect(r.code, r.stderr).toBe(0);
}, 300_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('an interrupted run', () => {
  const cases: [NodeJS.Signals, number][] = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ];
  for (const [sig, code] of cases) {
    it(`seal: ${sig} removes the temporary bundle and exits ${code} with one line`, async () => {
      const out = path.join(dir, 'sub', `seal-${sig}`, 'b.tar');
      fs.mkdirSync(path.dirname(out), { recursive: true });
      const r = await interrupt(['seal', img, '--case', 'INT-1', '--out', out], sig, () => hidden(path.dirname(out)).length > 0);
      expect(r.sawTemp).toBe(true);
      expect(r.code).toBe(code);
      expect(r.stderr).toBe(`custody: interrupted (${sig}); removed the unfinished output\n`);
      expect(fs.readdirSync(path.dirname(out))).toEqual([]);
    }, 120_000);
  }

  it('extract: SIGTERM removes the temporary folder and exits 143', async () => {
    const parent = path.join(dir, 'ex');
    fs.mkdirSync(parent);
    const r = await interrupt(['extract', bundle, '--into', path.join(parent, 'out'), '--allow-untrusted'], 'SIGTERM', () => hidden(parent).length > 0);
    expect(r.sawTemp).toBe(true);
    expect(r.code).toBe(143);
    expect(r.stderr).toBe('custody: interrupted (SIGTERM); removed the unfinished output\n');
    expect(fs.readdirSync(parent)).toEqual([]);
  }, 120_000);

  it('report: SIGINT while it verifies leaves no file and exits 130', async () => {
    const parent = path.join(dir, 'rep');
    fs.mkdirSync(parent);
    const r = await interrupt(['report', bundle, '--html', path.join(parent, 'r.html'), '--allow-untrusted'], 'SIGINT', (pid) => reading(pid, bundle));
    expect(r.sawTemp).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/^custody: interrupted \(SIGINT\)(; removed the unfinished output)?\n$/);
    expect(fs.readdirSync(parent)).toEqual([]);
  }, 120_000);
});

describe('an interrupted demo', () => {
  it('demo --dir <new folder>: SIGINT once its evidence is written removes the folder it made, exits 130', async () => {
    const target = path.join(dir, 'demo-new');
    const r = await interrupt(['demo', '--dir', target], 'SIGINT', () => fs.existsSync(path.join(target, 'examiner-home')));
    expect(r.sawTemp).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toBe('custody: interrupted (SIGINT); removed the unfinished output\n');
    expect(fs.existsSync(target)).toBe(false);
  }, 120_000);

  it('demo --dir <empty folder it was given>: SIGTERM empties it again and keeps the folder, exits 143', async () => {
    const target = path.join(dir, 'demo-given');
    fs.mkdirSync(target);
    const r = await interrupt(['demo', '--dir', target], 'SIGTERM', () => fs.existsSync(path.join(target, 'examiner-home')));
    expect(r.sawTemp).toBe(true);
    expect(r.code).toBe(143);
    expect(fs.readdirSync(target)).toEqual([]);
  }, 120_000);
});

describe('an interrupted run of the other commands that write files', () => {
  it('hash -o: SIGTERM while it hashes leaves no file and exits 143', async () => {
    const parent = path.join(dir, 'hash-o');
    fs.mkdirSync(parent);
    const r = await interrupt(['hash', img, '-o', path.join(parent, 'sums.txt')], 'SIGTERM', (pid) => reading(pid, img));
    expect(r.sawTemp).toBe(true);
    expect(r.code).toBe(143);
    // The list is written as files are hashed: its unfinished temporary is removed (and said so).
    expect(r.stderr).toMatch(/^custody: interrupted \(SIGTERM\)(; removed the unfinished output)?\n$/);
    expect(fs.readdirSync(parent)).toEqual([]);
  }, 120_000);

  it('report: its outputs are written all or none (the second appearing meanwhile leaves neither)', async () => {
    const parent = path.join(dir, 'rep-both');
    fs.mkdirSync(parent);
    const html = path.join(parent, 'r.html');
    const jsonld = path.join(parent, 'r.jsonld');
    const child = spawn(process.execPath, [BIN, 'report', bundle, '--html', html, '--case-jsonld', jsonld, '--allow-untrusted'], {
      env: { ...process.env, NO_COLOR: '1', CUSTODY_HOME: home },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setInterval(() => {
      if (!reading(child.pid!, bundle)) return;
      clearInterval(timer);
      fs.writeFileSync(jsonld, 'someone else'); // while the report verifies the 1.5 GiB bundle
    }, 20);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearInterval(timer);
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/already exists/);
    expect(fs.readdirSync(parent)).toEqual(['r.jsonld']);
    expect(fs.readFileSync(jsonld, 'utf8')).toBe('someone else');
  }, 120_000);

  describe('appends', () => {
    let small: string;
    let examinerPub: string;
    let recipientKey: string;
    let recipientPub: string;
    let age: string;
    beforeAll(() => {
      const k = JSON.parse(runCli(['--json', 'key', 'list'], { env: { CUSTODY_HOME: home } }).stdout);
      examinerPub = k.keys[0].pubFile;
      const rh = path.join(dir, 'recipient-home');
      const rk = JSON.parse(runCli(['--json', 'key', 'new', '--name', 'Rita Recipient', '--no-passphrase'], { env: { CUSTODY_HOME: rh } }).stdout);
      recipientKey = rk.keyFile;
      recipientPub = rk.pubFile;
      const ev = path.join(dir, 'small-ev.bin');
      fs.writeFileSync(ev, Buffer.alloc(300_000, 7));
      small = path.join(dir, 'small.tar');
      expect(runCli(['seal', ev, '--case', 'INT-3', '--out', small], { env: { CUSTODY_HOME: home } }).code).toBe(0);
      const enc = path.join(dir, 'enc');
      fs.mkdirSync(enc);
      const b = path.join(enc, 'small.tar');
      fs.copyFileSync(small, b);
      age = path.join(enc, 'small.tar.age');
      const t = runCli(['transfer', b, '--to', recipientPub, '--reason', 'interrupt test', '--encrypt', '--out', age], { env: { CUSTODY_HOME: home } });
      expect(t.code, t.stderr).toBe(0);
    }, 120_000);

    it('transfer --encrypt: SIGINT while it encrypts removes the partial .age, and says the transfer is recorded and how to make the copy with stock age', async () => {
      const parent = path.join(dir, 'enc-int');
      fs.mkdirSync(parent);
      const b = path.join(parent, 'big.tar');
      fs.copyFileSync(bundle, b);
      const out = path.join(parent, 'big.tar.age');
      const r = await interrupt(['transfer', b, '--to', recipientPub, '--reason', 'interrupt test', '--encrypt', '--out', out], 'SIGINT', () =>
        hidden(parent).some((n) => n.startsWith('.big.tar.age.')),
      );
      expect(r.sawTemp).toBe(true);
      expect(r.code).toBe(130);
      const lines = r.stderr.split('\n');
      expect(lines[0]).toBe('custody: interrupted (SIGINT); removed the unfinished output');
      expect(lines[1]).toMatch(/^custody: note: the transfer is recorded in .*big\.tar, but the encrypted copy was not written; encrypt it with stock age: custody key export [0-9a-f]{16} --format ssh > to\.ssh\.pub; age -R to\.ssh\.pub -o .*big\.tar\.age .*big\.tar$/);
      expect(fs.readdirSync(parent)).toEqual(['big.tar']);
      const log = JSON.parse(runCli(['--json', 'log', b], { env: { CUSTODY_HOME: home } }).stdout);
      expect(log.records.map((x: { action: string }) => x.action)).toEqual(['seal', 'transfer']);
    }, 120_000);

    /** Runs the CLI with a signal sent to itself at append step `n` (the kill hook of tar-append, with a catchable signal). */
    function signalledAt(n: number, args: string[], sig: NodeJS.Signals, env: Record<string, string> = {}) {
      return runCli(args, { env: { CUSTODY_HOME: home, [ABORT_ENV]: String(n), [ABORT_SIGNAL_ENV]: sig, ...env } });
    }

    for (const n of [1, 2, 4, 7, 10]) {
      it(`receive --out: SIGTERM at step ${n} of appending the receive record removes the received bundle, its journal and the lock, exits 143`, () => {
        const parent = path.join(dir, `recv-${n}`);
        fs.mkdirSync(parent);
        const r = signalledAt(n, ['--home', path.join(parent, 'home'), 'receive', age, '--out', path.join(parent, 'got.tar'), '--key', recipientKey, '--trust', examinerPub], 'SIGTERM');
        expect(r.code, r.stderr).toBe(143);
        expect(r.stderr).toBe('custody: interrupted (SIGTERM); removed the unfinished output\n');
        expect(fs.readdirSync(parent)).toEqual(['home']);
      });
    }

    for (const n of [2, 4, 7]) {
      it(`transfer: SIGINT at step ${n} of the append removes the lock, keeps the journal, and the bundle verifies as before`, () => {
        const parent = path.join(dir, `xfer-${n}`);
        fs.mkdirSync(parent);
        const b = path.join(parent, 'b.tar');
        fs.copyFileSync(small, b);
        const r = signalledAt(n, ['--home', path.join(parent, 'home'), 'transfer', b, '--to', recipientPub, '--reason', 'r', '--key', path.join(home, 'keys', fs.readdirSync(path.join(home, 'keys')).find((f) => f.endsWith('.key'))!)], 'SIGINT');
        expect(r.code, r.stderr).toBe(130);
        expect(r.stderr).toMatch(/^custody: interrupted \(SIGINT\)(; removed the unfinished output)?\n$/);
        const left = fs.readdirSync(parent).filter((f) => f !== 'home');
        expect(left.filter((f) => f.includes('custody-lock'))).toEqual([]);
        expect(left.filter((f) => f !== 'b.tar' && path.join(parent, f) !== journalPathFor(b))).toEqual([]);
        const v = runCli(['--json', 'verify', b, '--trust', examinerPub, '--home', path.join(parent, 'home')]);
        expect(v.code, v.stdout).toBe(0);
      });
    }
  });
});

describe('a temporary left by a killed run', () => {
  it('is removed by the next run for the same target, with a note; a live one is left alone', () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout);
    const parent = path.join(dir, 'stale');
    fs.mkdirSync(parent);
    const small = path.join(dir, 'small.bin');
    fs.writeFileSync(small, 'small\n');
    const stale = `.b.tar.tmp-${deadPid}-0123456789ab`;
    const alive = `.b.tar.tmp-${process.pid}-ba9876543210`;
    fs.writeFileSync(path.join(parent, stale), 'half a bundle');
    fs.writeFileSync(path.join(parent, alive), 'someone is writing this');
    const r = runCli(['seal', small, '--case', 'INT-2', '--out', path.join(parent, 'b.tar')], { env: { CUSTODY_HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`custody: note: removed ${path.join(parent, stale)}, left by an interrupted run (process ${deadPid} is gone)`);
    expect(fs.readdirSync(parent).sort()).toEqual([alive, 'b.tar'].sort());
  });
});
