/** Seal must never replace or change the evidence it reads (--out onto an input, a hard link of one, or inside an item folder). */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

let dir: string;
let env: Record<string, string>;

beforeAll(() => {
  dir = tempDir();
  env = { CUSTODY_HOME: path.join(dir, 'home') };
  expect(runCli(['key', 'new', '--name', 'Ana', '--no-passphrase'], { env }).code).toBe(0);
  fs.writeFileSync(path.join(dir, 'disk.dd'), 'the only copy of the evidence');
  fs.mkdirSync(path.join(dir, 'export'));
  fs.writeFileSync(path.join(dir, 'export', 'a.txt'), 'a');
});

describe('seal refuses an --out that is evidence', () => {
  it('the evidence file itself, even with --force: exit 2, evidence unchanged', () => {
    const disk = path.join(dir, 'disk.dd');
    const r = runCli(['seal', disk, '--case', 'C1', '--out', disk, '--force'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^custody: --out .* is the evidence file/);
    expect(fs.readFileSync(disk, 'utf8')).toBe('the only copy of the evidence');
  });

  it('a hard link to the evidence file', () => {
    const link = path.join(dir, 'link.tar');
    fs.linkSync(path.join(dir, 'disk.dd'), link);
    const r = runCli(['seal', path.join(dir, 'disk.dd'), '--case', 'C1', '--out', link, '--force'], { env });
    expect(r.code).toBe(2);
    expect(fs.readFileSync(path.join(dir, 'disk.dd'), 'utf8')).toBe('the only copy of the evidence');
  });

  it('a file inside a folder being sealed', () => {
    const r = runCli(['seal', path.join(dir, 'export'), '--case', 'C1', '--out', path.join(dir, 'export', 'b.tar')], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/lies inside item export/);
    expect(fs.readdirSync(path.join(dir, 'export'))).toEqual(['a.txt']);
  });

  it('a bundle beside the evidence is fine', () => {
    const r = runCli(['seal', path.join(dir, 'disk.dd'), '--case', 'C1', '--out', path.join(dir, 'ok.tar')], { env });
    expect(r.code, r.stderr).toBe(0);
  });
});
