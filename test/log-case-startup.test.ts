/**
 * What `custody log --case` loads on its way to the ledger: the start-up costs
 * that were removed stay removed (figures are in `node test/bench/ledger.mjs`;
 * here only what can fail without a clock). Node's own list of loaded
 * builtins (process.moduleLoadList) is read from the CLI process at exit.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

/** Runs the CLI with a preload that writes, at exit, the builtins it loaded and whether a global navigator is left. */
function runWatched(args: string[]): { code: number; stderr: string; builtins: string[]; navigator: string } {
  const dir = tempDir('custody-startup-');
  const out = path.join(dir, 'loaded.json');
  const preload = path.join(dir, 'watch.cjs');
  fs.writeFileSync(
    preload,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ builtins: process.moduleLoadList, navigator: typeof globalThis.navigator })));\n`,
  );
  try {
    const r = runCli(args, { env: { NODE_OPTIONS: `--require ${preload}` } });
    const seen = JSON.parse(fs.readFileSync(out, 'utf8')) as { builtins: string[]; navigator: string };
    return { code: r.code, stderr: r.stderr, ...seen };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('log --case on a shared ledger', () => {
  it('loads the pg driver without loading Node’s fetch (undici), and leaves no navigator global behind', () => {
    const home = tempDir('custody-startup-home-');
    try {
      // No server listens on this socket folder: the driver loads, the connection fails, exit 3.
      const url = `postgresql://nobody@${encodeURIComponent(path.join(home, 'no-server'))}/ledger`;
      const r = runWatched(['--home', home, '--ledger', url, 'log', '--case', 'C-1']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^custody: .*ledger/m);
      expect(r.builtins.some((m) => m.includes('undici'))).toBe(false);
      expect(r.builtins.some((m) => /(^| )net$/.test(m))).toBe(true); // the watcher sees what the CLI loads (pg's socket)
      if (Number(process.versions.node.split('.')[0]) < 21) expect(r.navigator).toBe('undefined');
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
