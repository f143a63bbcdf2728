/** Runs the built CLI (dist/) as a child process, the way a user or a pipeline does. */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
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

export function tempDir(prefix = 'custody-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
