/**
 * A throwaway PostgreSQL server for the ledger benches (ledger.mjs,
 * ledger-seal.mjs): initdb and pg_ctl in a temporary folder, listening on a
 * unix socket only (no fixed port), as the postgres user when run as root —
 * as test/helpers/postgres.ts does for the tests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function pgBin() {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const v = fs.readdirSync(root).filter((x) => /^\d+$/.test(x)).sort((a, b) => b - a).find((x) => fs.existsSync(path.join(root, x, 'bin', 'pg_ctl')));
  return v && path.join(root, v, 'bin');
}

/** initdb + pg_ctl start in a temporary folder, socket only; as the postgres user when run as root. */
export function startServer(bin) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpgb-'));
  const root = process.getuid?.() === 0;
  const run = (exe, args) => execFileSync(root ? 'runuser' : exe, root ? ['-u', 'postgres', '--', exe, ...args] : args, { stdio: 'pipe' });
  if (root) fs.chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const data = path.join(dir, 'data');
  run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-instructions']);
  run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', `-k ${dir} -c listen_addresses=`, 'start']);
  run(path.join(bin, 'psql'), ['-h', dir, '-U', 'postgres', '-qc', 'CREATE DATABASE bench']);
  return {
    url: `postgresql://postgres@${encodeURIComponent(dir)}/bench`,
    sql: (q) => run(path.join(bin, 'psql'), ['-h', dir, '-U', 'postgres', '-d', 'bench', '-qc', q]),
    stop() {
      spawnSync(root ? 'runuser' : path.join(bin, 'pg_ctl'), [...(root ? ['-u', 'postgres', '--', path.join(bin, 'pg_ctl')] : []), '-D', data, '-m', 'fast', '-w', 'stop'], { stdio: 'ignore' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
