/**
 * `--jobs <n>` on hash and seal, and hash -r printing as it hashes: the number
 * of worker threads changes how fast, never what comes out (same digests, same
 * order, same bytes in every format); a bad value is refused with one line
 * before any evidence is read.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

let dir: string;
let tree: string;
let home: string;
const env = () => ({ CUSTODY_HOME: home });

beforeAll(() => {
  dir = tempDir('custody-jobs-');
  home = path.join(dir, 'home');
  tree = path.join(dir, 'export');
  // 3,000 files (more than the hasher keeps in flight), 0 bytes to 20 KiB, and two files larger than a
  // batch takes (streamed through the engine) in the middle of the walk.
  for (let i = 0; i < 3000; i++) {
    const sub = path.join(tree, `d${i % 5}`, `e${i % 7}`);
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${i}.bin`), crypto.randomBytes((i * 7919) % 20_480));
  }
  fs.writeFileSync(path.join(tree, 'd2', 'big-a.bin'), crypto.randomBytes(700_000));
  fs.writeFileSync(path.join(tree, 'd3', 'e1', 'big-b.bin'), crypto.randomBytes(2_000_000));
  expect(runCli(['key', 'new', '--name', 'Ann Examiner', '--no-passphrase'], { env: env() }).code).toBe(0);
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('hash --jobs', () => {
  it('prints the same bytes with 1 and with 4 workers, in every format', () => {
    for (const args of [['--format', 'sums'], ['--format', 'json'], ['--json'], []]) {
      const one = runCli(['hash', '-r', '--jobs', '1', ...args, tree]);
      const four = runCli(['hash', '-r', '--jobs', '4', ...args, tree]);
      expect(one.code, one.stderr).toBe(0);
      expect(four.code, four.stderr).toBe(0);
      expect(four.stdout).toBe(one.stdout);
    }
  }, 300_000);

  it('lists every file once, in the walk order, with the digest sha256sum computes', () => {
    const r = runCli(['hash', '-r', '--jobs', '3', '--format', 'sums', tree]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3002);
    const names = lines.map((l) => l.slice(66));
    expect(new Set(names).size).toBe(3002);
    // Per folder, names in byte order; folders where they sort among the files.
    const sorted = [...names].sort((a, b) => {
      const x = a.split('/');
      const y = b.split('/');
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
      return x.length - y.length;
    });
    expect(names).toEqual(sorted);
    for (const l of [lines[0]!, lines.find((x) => x.endsWith('big-b.bin'))!, lines.at(-1)!]) {
      const [hex, name] = [l.slice(0, 64), l.slice(66)];
      expect(crypto.createHash('sha256').update(fs.readFileSync(name)).digest('hex')).toBe(hex);
    }
  }, 120_000);

  it('-o writes what stdout would show', () => {
    const out = path.join(dir, 'list.json');
    const r = runCli(['hash', '-r', '--format', 'json', '-o', out, tree]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe(runCli(['hash', '-r', '--format', 'json', tree]).stdout);
    expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp') || n.startsWith('.'))).toEqual([]);
  }, 120_000);

  it('a bad --jobs is exit 2 with one line, before anything is hashed', () => {
    for (const v of ['0', '257', 'two', '-1', '1.5', '']) {
      const r = runCli(['hash', '-r', '--jobs', v, tree]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^custody: --jobs must be a whole number from 1 to 256, not "[^"]*"\n$/);
    }
  });
});

describe('seal --jobs', () => {
  it('records the same hashes with 1 and with 4 workers, and the bundle verifies', () => {
    const sealWith = (jobs: string) => {
      const out = path.join(dir, `sealed-${jobs}.tar`);
      const r = runCli(['--json', 'seal', tree, '--case', 'JOBS-1', '--item', 'export', '--out', out, '--jobs', jobs], { env: env() });
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as { files: number; fileHashes: unknown[] };
      expect(doc.files).toBe(3002);
      return { out, hashes: doc.fileHashes };
    };
    const one = sealWith('1');
    const four = sealWith('4');
    expect(four.hashes).toEqual(one.hashes);
    const v = runCli(['verify', four.out, '--full', '--allow-untrusted', '--jobs', '2'], { env: { CUSTODY_HOME: path.join(dir, 'verifier-home') } });
    expect(v.code, v.stdout + v.stderr).toBe(0);
  }, 300_000);

  it('a bad --jobs is exit 2 with one line, and no bundle is written', () => {
    for (const v of ['0', '300', 'many']) {
      const out = path.join(dir, `bad-${v}.tar`);
      const r = runCli(['seal', tree, '--case', 'JOBS-1', '--out', out, '--jobs', v], { env: env() });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^custody: --jobs must be a whole number from 1 to 256, not "[^"]*"\n$/);
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  it('help of hash, seal and verify describes --jobs the same way', () => {
    for (const cmd of ['hash', 'seal', 'verify']) {
      expect(runCli([cmd, '--help']).stdout.replace(/\s+/g, ' ')).toMatch(/--jobs <n> hash workers \(default: one per core, at most 16\);/);
    }
  });
});
