/**
 * bin/ starts through src/cli/entry.ts, which loads only the command argv names.
 * These check that it finds the command behind the global options, leaves anything
 * uncertain to the whole program, and that a command's help and errors read the
 * same as when every command is registered.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, commandOf } from '../src/cli/entry.js';
import { buildProgram } from '../src/cli/main.js';
import { ROOT, runCli } from './helpers/cli.js';

/** The same argv through the whole program (dist/cli/main.js), every command registered. */
function runWhole(args: string[]) {
  const main = path.join(ROOT, 'dist', 'cli', 'main.js');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(main)}).then((m) => m.main(['node', 'custody', ...process.argv.slice(1)]))`, '--', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the start of a run', () => {
  it('can load alone every command the whole program registers, and no other', () => {
    const whole = buildProgram()
      .commands.map((c) => c.name())
      .sort();
    expect([...COMMAND_NAMES].sort()).toEqual(whole);
  });

  it('finds the command after global options, with or without their values', () => {
    expect(commandOf(['node', 'custody', 'log', '--case', 'X'])).toBe('log');
    expect(commandOf(['node', 'custody', '--home', 'log', '--json', 'verify', 'b.tar'])).toBe('verify');
    expect(commandOf(['node', 'custody', '--ledger=postgres://h/db', '-q', 'ledger', 'copy'])).toBe('ledger');
  });

  it('leaves --help, a bare run, an unknown word or option before the command to the whole program', () => {
    expect(commandOf(['node', 'custody'])).toBeUndefined();
    expect(commandOf(['node', 'custody', '--help'])).toBeUndefined();
    expect(commandOf(['node', 'custody', 'help', 'log'])).toBeUndefined();
    expect(commandOf(['node', 'custody', 'lgo'])).toBeUndefined();
    expect(commandOf(['node', 'custody', '--frobnicate', 'log'])).toBeUndefined();
    expect(commandOf(['node', 'custody', 'constructor'])).toBeUndefined();
  });

  it('prints the same help and the same usage errors as the whole program', () => {
    for (const args of [['log', '--help'], ['ledger', 'copy', '--help'], ['log', '--bogus'], ['--json', 'seal'], ['--version']]) {
      const lean = runCli(args);
      const whole = runWhole(args);
      expect({ code: lean.code, stdout: lean.stdout, stderr: lean.stderr }, args.join(' ')).toEqual(whole);
    }
  });
});
