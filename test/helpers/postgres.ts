/**
 * A throwaway PostgreSQL server for the shared-ledger tests (Debian package
 * `postgresql`): initdb and postgres in a temporary folder, listening on a unix
 * socket there only (no TCP port, so parallel runs never collide), trust
 * authentication, stopped and removed at the end. PostgreSQL refuses to run
 * as root, so under root (CI) the folder is handed to the `postgres` user and
 * the server runs as that user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The folder holding initdb, pg_ctl and postgres, or undefined when PostgreSQL is not installed. */
export function postgresBin(): string | undefined {
  const roots = ['/usr/lib/postgresql'];
  for (const root of roots) {
    if (!fs.existsSync(root)) continue;
    const versions = fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (fs.existsSync(path.join(root, v, 'bin', 'pg_ctl'))) return path.join(root, v, 'bin');
  }
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  return dir && fs.existsSync(path.join(dir, 'pg_ctl')) ? dir : undefined;
}

export const HAVE_POSTGRES = postgresBin() !== undefined;
export const NO_POSTGRES_REASON = 'PostgreSQL is not installed (Debian package postgresql)';

export interface PgServer {
  /** The folder holding the data directory and the socket. */
  dir: string;
  /** A URL for `database` as `user` (default: the superuser postgres) over the socket. */
  url(database?: string, user?: string): string;
  /** Runs SQL as the superuser (psql), returns its stdout. */
  psql(sql: string, database?: string): string;
  createDatabase(name: string): string;
  start(): void;
  /** Stops the server at once (as a crash or a pulled cable would: immediate mode). */
  stop(mode?: 'immediate' | 'fast'): void;
  /** Stops the server and removes its folder. */
  destroy(): void;
}

const asRoot = process.getuid?.() === 0;

function run(bin: string, args: string[], opts: { input?: string } = {}): string {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return execFileSync(cmd as string, argv as string[], { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function startPostgres(): PgServer {
  const bin = postgresBin();
  if (!bin) throw new Error(NO_POSTGRES_REASON);
  // Short path: a unix socket's path must fit in 107 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpg-'));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    fs.chownSync(dir, uid, gid);
  }
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  const pgCtl = path.join(bin, 'pg_ctl');
  const server: PgServer = {
    dir,
    url: (database = 'postgres', user = 'postgres') => `postgresql://${user}@${encodeURIComponent(dir)}/${database}`,
    psql: (sql, database = 'postgres') => run(path.join(bin, 'psql'), ['-h', dir, '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-qAt', '-f', '-'], { input: sql }),
    createDatabase(name) {
      server.psql(`CREATE DATABASE ${name}`);
      return server.url(name);
    },
    start() {
      run(pgCtl, ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', '-o', `-k ${dir} -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60`, 'start']);
    },
    stop(mode = 'immediate') {
      spawnSync(asRoot ? 'runuser' : pgCtl, [...(asRoot ? ['-u', 'postgres', '--', pgCtl] : []), '-D', data, '-m', mode, '-w', 'stop'], { stdio: 'ignore' });
    },
    destroy() {
      server.stop('immediate');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  server.start();
  return server;
}
