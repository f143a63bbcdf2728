/**
 * The head start `custody log --case` takes on a shared ledger
 * (cli/ledger-prewarm.ts): a connection is started only for a log --case argv
 * naming a postgres URL (flag or environment), and the command gets it only for
 * exactly that URL, once. A server that cannot be reached fails the command
 * the same way as without the head start (exit 3, one line naming the ledger).
 */
import path from 'node:path';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { prewarmSharedLedger, takePrewarmedLedger } from '../src/cli/ledger-prewarm.js';
import { runCli, tempDir } from './helpers/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A URL whose socket folder has no server in it. */
function deadUrl(): string {
  const d = tempDir('custody-prewarm-');
  dirs.push(d);
  return `postgresql://nobody@${encodeURIComponent(path.join(d, 'no-server'))}/ledger`;
}

const argv = (...args: string[]) => ['node', 'custody', ...args];

describe('ledger prewarm', () => {
  it('starts a connection for log --case with a postgres --ledger, handed over once and only for that URL', async () => {
    const url = deadUrl();
    await prewarmSharedLedger(argv('--home', '/nowhere', '--ledger', url, 'log', '--case', 'C-1'));
    expect(takePrewarmedLedger(`${url}x`)).toBeUndefined();
    const early = takePrewarmedLedger(url);
    expect(early).toBeDefined();
    await expect(early).rejects.toThrow(/cannot reach the ledger/);
    expect(takePrewarmedLedger(url)).toBeUndefined();
  });

  it('takes the URL from --ledger=…, the last --ledger, or CUSTODY_LEDGER_URL, as the command does', async () => {
    const [a, b] = [deadUrl(), deadUrl()];
    await prewarmSharedLedger(argv(`--ledger=${a}`, 'log', '--case=C-1'));
    await expect(takePrewarmedLedger(a)).rejects.toThrow(/cannot reach/);
    await prewarmSharedLedger(argv('--ledger', a, '--ledger', b, 'log', '--case', 'C-1'));
    expect(takePrewarmedLedger(a)).toBeUndefined();
    await expect(takePrewarmedLedger(b)).rejects.toThrow(/cannot reach/);
    process.env.CUSTODY_LEDGER_URL = a;
    try {
      await prewarmSharedLedger(argv('log', '--case', 'C-1'));
      await expect(takePrewarmedLedger(a)).rejects.toThrow(/cannot reach/);
    } finally {
      delete process.env.CUSTODY_LEDGER_URL;
    }
  });

  it('starts nothing for other commands, for log of a bundle, for --help, or for a ledger file', async () => {
    const url = deadUrl();
    for (const args of [
      ['--ledger', url, 'verify', 'b.tar'],
      ['--ledger', url, 'log', 'b.tar'],
      ['--ledger', url, 'log', '--case', 'C-1', '--help'],
      ['--ledger', '/some/ledger.db', 'log', '--case', 'C-1'],
      ['--ledger', url, 'case', 'list', 'log', '--case'],
    ]) {
      await prewarmSharedLedger(argv(...args));
      expect(takePrewarmedLedger(url), args.join(' ')).toBeUndefined();
      expect(takePrewarmedLedger('/some/ledger.db')).toBeUndefined();
    }
  });

  it('log --case on an unreachable shared ledger still exits 3 with one line naming it', () => {
    const home = tempDir('custody-prewarm-home-');
    dirs.push(home);
    const url = deadUrl();
    for (const json of [false, true]) {
      const r = runCli(['--home', home, '--ledger', url, ...(json ? ['--json'] : []), 'log', '--case', 'C-1']);
      expect(r.code).toBe(3);
      if (json) expect(JSON.parse(r.stdout).error.message).toMatch(/^cannot reach the ledger PostgreSQL ledger on /);
      else expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^custody: cannot reach the ledger PostgreSQL ledger on /)]);
    }
  });
});
