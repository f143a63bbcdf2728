/**
 * A file that is not a bundle at all gets plain words from every command
 * that reads one — verify, extract, log, receive, report — and exit 1: "X is
 * empty", "X is not a tar archive (not a custody bundle)", "X is a tar
 * archive but not a custody bundle (no <name>/bagit.txt first)"; never a
 * header field at offset 0. A real bundle with a damaged first header is
 * still reported as a damaged tar (the words above are for the wrong file,
 * not for tampering).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

let dir: string;
let home: string;
const files: Record<string, string> = {};

beforeAll(() => {
  dir = tempDir('custody-not-bundle-');
  home = path.join(dir, 'home');
  expect(runCli(['key', 'new', '--name', 'Rita Receiver', '--no-passphrase'], { env: { CUSTODY_HOME: home } }).code).toBe(0);
  files.empty = path.join(dir, 'empty.tar');
  fs.writeFileSync(files.empty, '');
  files.text = path.join(dir, 'notes.tar');
  fs.writeFileSync(files.text, 'These are my notes, not an archive.\n'.repeat(40));
  files.short = path.join(dir, 'short.tar');
  fs.writeFileSync(files.short, 'PK\u0003\u0004');
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'a\n');
  files.tar = path.join(dir, 'plain.tar');
  expect(spawnSync('tar', ['-cf', files.tar, '-C', path.join(dir, 'src'), 'a.txt']).status).toBe(0);
  files.emptyTar = path.join(dir, 'nothing.tar');
  fs.writeFileSync(files.emptyTar, Buffer.alloc(10240));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const COMMANDS: [string, (f: string) => string[]][] = [
  ['verify', (f) => ['verify', f, '--allow-untrusted']],
  ['extract', (f) => ['extract', f, '--into', path.join(dir, `into-${path.basename(f)}`), '--allow-untrusted']],
  ['log', (f) => ['log', f]],
  ['receive', (f) => ['receive', f, '--allow-untrusted']],
  ['report', (f) => ['report', f, '--html', path.join(dir, `r-${path.basename(f)}.html`), '--allow-untrusted']],
];

const CASES: [which: string, words: (f: string) => string][] = [
  ['empty', (f) => `${f} is empty`],
  ['text', (f) => `${f} is not a tar archive (not a custody bundle)`],
  ['short', (f) => `${f} is not a tar archive (not a custody bundle)`],
  ['tar', (f) => `${f} is a tar archive but not a custody bundle (no <name>/bagit.txt first)`],
  ['emptyTar', (f) => `${f} is a tar archive but not a custody bundle (no <name>/bagit.txt first)`],
];

describe('a file that is not a bundle', () => {
  for (const [cmd, args] of COMMANDS) {
    it(`gets plain words from ${cmd}, and exit 1`, () => {
      for (const [which, words] of CASES) {
        const f = files[which]!;
        const r = runCli(args(f), { env: { CUSTODY_HOME: home } });
        expect(r.code, `${which}: ${r.stdout}${r.stderr}`).toBe(1);
        expect(`${r.stdout}${r.stderr}`, which).toContain(words(f));
        expect(`${r.stdout}${r.stderr}`, which).not.toMatch(/offset 0|checksum|end-of-archive/);
      }
    }, 120_000);
  }

  it('is named the same in --json (verify, log)', () => {
    for (const cmd of ['verify', 'log']) {
      const r = runCli(['--json', cmd, files.text!, ...(cmd === 'verify' ? ['--allow-untrusted'] : [])], { env: { CUSTODY_HOME: home } });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'MALFORMED_BUNDLE', message: `${files.text} is not a tar archive (not a custody bundle)` });
    }
  });

  it('is told from a bundle whose first header was damaged (still a tar, reported as such)', () => {
    const ev = path.join(dir, 'ev.txt');
    fs.writeFileSync(ev, 'evidence\n');
    const b = path.join(dir, 'real.tar');
    expect(runCli(['seal', ev, '--case', 'NB-1', '--out', b], { env: { CUSTODY_HOME: home } }).code).toBe(0);
    const bytes = fs.readFileSync(b);
    bytes[20] ^= 0x01; // inside the first member's name: the checksum no longer matches
    fs.writeFileSync(b, bytes);
    for (const args of [['verify', b, '--allow-untrusted'], ['log', b]]) {
      const r = runCli(args, { env: { CUSTODY_HOME: home } });
      expect(r.code).toBe(1);
      expect(`${r.stdout}${r.stderr}`).toMatch(/checksum mismatch/);
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/not a custody bundle|not a tar archive/);
    }
  });
});
