/**
 * A member over 8 GiB (a sparse file from `truncate`): GNU tar and Python's
 * tarfile list its true size (base-256 size field), verify passes, and the
 * verifier's peak memory (VmHWM of the child) stays under 150 MB.
 * Slow (it writes and reads ~8 GiB): only with CUSTODY_BIG_TESTS=1.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, tempDir } from './helpers/cli.js';

const BIG = process.env.CUSTODY_BIG_TESTS === '1';
const SIZE = 8 * 1024 ** 3 + 4097; // past the 8 GiB octal limit of ustar, not a multiple of 512

/** Runs the CLI and samples the child's VmHWM (peak resident set) until it exits. */
function runWithPeakRss(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string; peakKiB: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let peakKiB = 0;
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
      } catch {
        /* exited */
      }
    }, 100);
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ code: code ?? -1, stderr, peakKiB });
    });
  });
}

describe.skipIf(!BIG)('a member over 8 GiB', () => {
  let dir: string;
  let home: string;
  let bundle: string;
  let pub: string;
  beforeAll(() => {
    dir = tempDir('custody-big-');
    home = path.join(dir, 'home');
    expect(runCli(['key', 'new', '--name', 'Big Tester', '--no-passphrase'], { env: { CUSTODY_HOME: home } }).code).toBe(0);
    pub = path.join(home, 'keys', fs.readdirSync(path.join(home, 'keys')).find((f) => f.endsWith('.pub'))!);
    const img = path.join(dir, 'huge.img');
    expect(spawnSync('truncate', ['-s', String(SIZE), img]).status).toBe(0);
    // Some non-zero bytes at the far end, so the end of the data matters.
    const fd = fs.openSync(img, 'r+');
    fs.writeSync(fd, Buffer.from('END OF IMAGE'), 0, 12, SIZE - 12);
    fs.closeSync(fd);
    bundle = path.join(dir, 'big.tar');
    const r = runCli(['seal', img, '--case', 'BIG-1', '--out', bundle, '--algo', 'sha256', '--piece', '256MiB'], { env: { CUSTODY_HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    fs.rmSync(img);
  }, 1_800_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('GNU tar and Python tarfile list its true size', () => {
    const t = spawnSync('tar', ['-tvf', bundle], { encoding: 'utf8', maxBuffer: 1 << 20 });
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(new RegExp(`\\s${SIZE}\\s.*big/data/huge\\.img/huge\\.img`));
    const p = spawnSync('python3', ['-c', 'import tarfile,sys\nfor m in tarfile.open(sys.argv[1]):\n  print(m.name, m.size)', bundle], { encoding: 'utf8' });
    expect(p.status, p.stderr).toBe(0);
    expect(p.stdout).toContain(`big/data/huge.img/huge.img ${SIZE}`);
  }, 600_000);

  it('verify passes with peak memory under 150 MB', async () => {
    const r = await runWithPeakRss(['verify', bundle, '--trust', pub], { CUSTODY_HOME: home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.peakKiB).toBeGreaterThan(0);
    expect(r.peakKiB).toBeLessThan(150 * 1024);
    console.log(`verify of ${SIZE} bytes: peak RSS ${(r.peakKiB / 1024).toFixed(1)} MiB`);
  }, 1_800_000);
});
