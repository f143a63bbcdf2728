/** Runs the built CLI on a pseudo-terminal (python3's pty), as a person at a terminal would: stdout and stderr are TTYs. */
import { spawnSync } from 'node:child_process';
import { BIN } from './cli.js';

export function havePython(): boolean {
  return spawnSync('python3', ['--version']).status === 0;
}

/** What the terminal shows (stdout and stderr interleaved, CR LF line ends) and the exit code. NO_COLOR/FORCE_COLOR are cleared unless given. */
export function runOnTerminal(args: string[], env: Record<string, string> = {}): { code: number; out: string } {
  const base: Record<string, string | undefined> = { ...process.env };
  delete base.NO_COLOR;
  delete base.FORCE_COLOR;
  const r = spawnSync('python3', ['-c', 'import pty,sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)', process.execPath, BIN, ...args], {
    env: { ...base, ...env } as NodeJS.ProcessEnv,
    input: '',
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? -1, out: String(r.stdout) };
}
