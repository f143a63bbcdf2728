/** Seal skips the per-file inode check when --out has one link only, so a hard link into a folder item must still be refused. */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

it('refuses an --out that is a hard link to a file inside a folder item, even with --force, and leaves the file as it was', () => {
  const dir = tempDir();
  const env = { CUSTODY_HOME: path.join(dir, 'home') };
  expect(runCli(['key', 'new', '--name', 'Ana', '--no-passphrase'], { env }).code).toBe(0);
  const folder = path.join(dir, 'export');
  fs.mkdirSync(path.join(folder, 'deep'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'a.txt'), 'a');
  fs.writeFileSync(path.join(folder, 'deep', 'mail.eml'), 'the only copy of the mail');
  const link = path.join(dir, 'out.tar');
  fs.linkSync(path.join(folder, 'deep', 'mail.eml'), link);
  const r = runCli(['seal', folder, '--case', 'C1', '--out', link, '--force'], { env });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/is the evidence file .*mail\.eml of item export/);
  expect(fs.readFileSync(path.join(folder, 'deep', 'mail.eml'), 'utf8')).toBe('the only copy of the mail');
});

it('seals over an existing bundle with --force when it is no link to the evidence', () => {
  const dir = tempDir();
  const env = { CUSTODY_HOME: path.join(dir, 'home') };
  expect(runCli(['key', 'new', '--name', 'Ana', '--no-passphrase'], { env }).code).toBe(0);
  const folder = path.join(dir, 'export');
  fs.mkdirSync(folder);
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(folder, `f${i}.txt`), `file ${i}`);
  const out = path.join(dir, 'out.tar');
  fs.writeFileSync(out, 'an old bundle');
  const r = runCli(['seal', folder, '--case', 'C1', '--out', out, '--force'], { env });
  expect(r.code, r.stderr).toBe(0);
  expect(fs.statSync(out).size).toBeGreaterThan(20 * 1024);
});
