/**
 * README's "Receiving a bundle" block runs as written: every command line of
 * it, in a shell, by a receiving authority whose only input is a bundle and
 * the sealer's fingerprint (put on the block's first line, as the letter of
 * request would give it).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli, tempDir } from './helpers/cli.js';

function receivingBlock(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Receiving a bundle'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  return block.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
}

describe("README's receiving section", () => {
  it('runs as written: verify by fingerprint, trust, receive with a receipt for the sender, log, report, extract', () => {
    const dir = tempDir();
    const examiner = path.join(dir, 'examiner-home');
    const authority = path.join(dir, 'authority-home');
    const ex = JSON.parse(runCli(['--home', examiner, '--json', 'key', 'new', '--name', 'Ana Lima', '--no-passphrase']).stdout);
    const au = JSON.parse(runCli(['--home', authority, '--json', 'key', 'new', '--name', 'Jonas Berg', '--no-passphrase']).stdout);
    fs.mkdirSync(path.join(dir, 'ev'));
    fs.writeFileSync(path.join(dir, 'ev', 'disk.dd'), Buffer.alloc(200_000, 1));
    const work = path.join(dir, 'work');
    fs.mkdirSync(work);
    const bundle = path.join(work, 'case-2026-041.tar');
    expect(runCli(['--home', examiner, 'seal', path.join(dir, 'ev', 'disk.dd'), '--case', '2026-041', '--out', bundle]).code).toBe(0);
    expect(runCli(['--home', examiner, 'transfer', bundle, '--to', au.pubFile, '--reason', 'MLA request 7/2026']).code).toBe(0);

    // `custody` on PATH, as after an install; the authority's home as its default.
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'custody'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, CUSTODY_HOME: authority, NO_COLOR: '1' };
    const readOut = (ex.fingerprint as string).toUpperCase().match(/.{4}/g)!.join(' ');

    const lines = receivingBlock();
    expect(lines[0]).toMatch(/^FINGERPRINT=/);
    expect(lines.length).toBeGreaterThanOrEqual(7);
    const script = [`FINGERPRINT="${readOut}"`, ...lines.slice(1)].join('\n');
    // One shell, as a person would paste it; the first failing line stops it and is named.
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', `trap 'echo "FAILED: $BASH_COMMAND" >&2' ERR\n${script}`], { cwd: work, env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(work, 'custody-form.html'))).toBe(true);
    expect(fs.existsSync(path.join(work, 'evidence', 'bagit.txt'))).toBe(true);
    // The receipt goes back to the sender, whose ledger then knows the bundle moved on.
    const imp = runCli(['--home', examiner, 'ledger', 'import', path.join(work, 'receipt.dsse.json')]);
    expect(imp.code, imp.stderr).toBe(0);
  }, 240_000);
});
