/** Runs the built CLI (dist/) as a child process, the way a user or a pipeline does. */
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'custody.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: SpawnSyncOptions & { input?: string | Buffer } = {}): CliResult {
  const env = { ...process.env, NO_COLOR: '1', ...(opts.env ?? {}) };
  const r = spawnSync(process.execPath, [BIN, ...args], { ...opts, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const madeDirs: string[] = [];

/** A new folder under the system's temp folder, removed after the test file by removeTempDirs (test/helpers/temp-cleanup.ts). */
export function tempDir(prefix = 'custody-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

/**
 * Removes every folder tempDir made in this test file: a run of the suite writes gigabytes (bundles,
 * images, age files), and a machine that runs it often fills its disk. Tests that take the write bit
 * off a folder get it back first. CUSTODY_KEEP_TEST_DIRS=1 keeps them to look at.
 */
export function removeTempDirs(): void {
  if (process.env.CUSTODY_KEEP_TEST_DIRS === '1') return;
  for (const dir of madeDirs.splice(0)) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      restoreWriteBits(dir);
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch (e) {
        // A leftover folder must not fail the tests that ran in it: say so and go on.
        console.warn(`could not remove ${dir}: ${(e as Error).message}`);
      }
    }
  }
}

function restoreWriteBits(dir: string): void {
  try {
    fs.chmodSync(dir, 0o700);
  } catch {
    return;
  }
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) restoreWriteBits(path.join(dir, e.name));
  }
}

/** Runs the CLI and samples the child's VmHWM (peak resident set, /proc) every 100 ms until it exits. */
export function runWithPeakRss(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string; peakKiB: number }> {
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
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ code: code ?? -1, stderr, peakKiB });
    });
  });
}
