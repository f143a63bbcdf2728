/**
 * Every command's --help has a real example (DESIGN §2): walks the
 * commander program and renders each command's full help (including the
 * text added after it), then checks the built CLI prints the same.
 */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.js';
import { runCli } from './helpers/cli.js';

function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

function commands(cmd: Command, prefix: string[] = []): { path: string[]; cmd: Command }[] {
  return cmd.commands.flatMap((c) => {
    const p = [...prefix, c.name()];
    return [{ path: p, cmd: c }, ...commands(c, p)];
  });
}

const all = commands(buildProgram());
const leaves = all.filter((c) => c.cmd.commands.length === 0);

describe('help', () => {
  it('knows every command of DESIGN §2', () => {
    const names = all.map((c) => c.path.join(' '));
    for (const n of [
      'hash',
      'key new',
      'key import',
      'key list',
      'key show',
      'key export',
      'trust add',
      'trust list',
      'trust remove',
      'case new',
      'case list',
      'seal',
      'verify',
      'extract',
      'transfer',
      'receive',
      'log',
      'report',
      'demo',
    ]) {
      expect(names).toContain(n);
    }
  });

  it.each(all.map((c) => [c.path.join(' '), c.cmd] as const))('custody %s --help has an example that runs this command', (name, cmd) => {
    const text = helpOf(cmd);
    expect(text).toMatch(/\nExamples?:\n/);
    const examples = text.split('\n').filter((l) => l.trim().startsWith('$ custody '));
    expect(examples.length).toBeGreaterThan(0);
    // The example shows this command (a group's example shows one of its subcommands).
    expect(examples.some((l) => l.trim().startsWith(`$ custody ${name}`))).toBe(true);
    expect(cmd.description()).not.toMatch(/not yet implemented/);
  });

  it('every leaf command describes each of its options', () => {
    for (const { path, cmd } of leaves) {
      for (const o of cmd.options) expect(o.description, `${path.join(' ')} ${o.flags}`).not.toBe('');
    }
  });

  it('the built CLI prints the example and exits 0 (root, a group, a leaf)', () => {
    for (const args of [['--help'], ['trust', '--help'], ['report', '--help'], ['demo', '--help']]) {
      const r = runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/\$ custody /);
      expect(r.stderr).toBe('');
    }
  });
});
