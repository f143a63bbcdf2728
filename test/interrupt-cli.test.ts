/**
 * An interrupted run leaves nothing behind: SIGINT, SIGTERM or SIGHUP during
 * seal, extract or report removes the temporary it was writing and exits
 * 130/143/129 with one line. A temporary left by a run that was SIGKILLed
 * (our prefix, its process gone) is removed by the next run for the same
 * target, with a note; one whose process still runs is left alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, tempDir } from './helpers/cli.js';

let dir: string;
let home: string;
let img: string;
let bundle: string;
const SIZE = 1536 * 1024 * 1024; // sparse: long enough to read that a signal lands mid-run

function hidden(d: string): string[] {
  return fs.readdirSync(d).filter((f) => f.startsWith('.'));
}

/** Starts the CLI, waits until `ready()` (or a short while), sends `sig`, resolves with the exit code and stderr. */
function interrupt(args: string[], sig: NodeJS.Signals, ready: () => boolean): Promise<{ code: number | null; stderr: string; sawTemp: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', CUSTODY_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sawTemp = false;
    child.stderr.on('data', (d) => (stderr += String(d)));
    const start = Date.now();
    const timer = setInterval(() => {
      if (ready()) sawTemp = true;
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
    let t0 = 0;
    const r = await interrupt(['report', bundle, '--html', path.join(parent, 'r.html'), '--allow-untrusted'], 'SIGINT', () => {
      t0 ||= Date.now();
      return Date.now() - t0 > 1500;
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/^custody: interrupted \(SIGINT\)(; removed the unfinished output)?\n$/);
    expect(fs.readdirSync(parent)).toEqual([]);
  }, 120_000);
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
