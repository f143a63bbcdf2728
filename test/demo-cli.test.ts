/**
 * `custody demo` against the built CLI, as a newcomer runs it on a terminal
 * ("npx custody demo exits 0 and prints each step"), and the
 * promises its help makes: its own homes only, --dir must be new or empty,
 * the tampered copy fails naming the damaged piece, the files it lists exist
 * and verify with the stock route.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { havePython, runOnTerminal } from './helpers/terminal.js';

const STEPS = ['evidence', 'identities', 'case', 'seal', 'trust', 'transfer', 'receive', 'verify', 'log', 'tamper', 'verify-tampered', 'report'];

let root: string;
let demoDir: string;
let fakeHome: string;
let out: string;
let code: number;

beforeAll(() => {
  root = tempDir('custody-demo-test-');
  demoDir = path.join(root, 'demo');
  // A "user home" the demo must not touch, given every way a user could point at it.
  fakeHome = path.join(root, 'users-own-home');
  fs.mkdirSync(fakeHome);
  fs.writeFileSync(path.join(fakeHome, 'marker'), 'x');
  const env = { NO_COLOR: '1', CUSTODY_HOME: fakeHome, CUSTODY_KEY: path.join(fakeHome, 'nope.key'), HOME: fakeHome };
  const args = ['--home', fakeHome, 'demo', '--dir', demoDir];
  if (havePython()) {
    const r = runOnTerminal(args, env);
    code = r.code;
    out = r.out.replace(/\r\n/g, '\n');
  } else {
    const r = runCli(args, { env });
    code = r.code;
    out = r.stdout + r.stderr;
  }
}, 120_000);

describe('custody demo (built CLI)', () => {
  it('exits 0 and narrates every step in one numbered line, ending with where the files are', () => {
    expect(code, out).toBe(0);
    STEPS.forEach((s, i) => expect(out).toMatch(new RegExp(`^ *${i + 1}\\. ${s} +\\S`, 'm')));
    expect(out).toMatch(/VERIFIED: \d+ checks passed/);
    expect(out).toMatch(/NOT VERIFIED \(as expected\): data\/laptop-disk\/laptop-disk\.dd .*first differing piece: bytes 6291456-7340031/);
    expect(out).toMatch(/0001 transfer .*Ana Lima.*→ Jonas Berg/);
    expect(out).toMatch(new RegExp(`Files are in ${demoDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(out).not.toMatch(/\x1b\[[0-9;]*m/); // NO_COLOR on a terminal
    expect(out).not.toMatch(/custody: /); // no error line
  });

  it('never touches the user\'s own home (neither --home nor CUSTODY_HOME/CUSTODY_KEY/HOME)', () => {
    expect(fs.readdirSync(fakeHome)).toEqual(['marker']);
    expect(fs.existsSync(path.join(demoDir, 'examiner-home', 'ledger.db'))).toBe(true);
    expect(fs.existsSync(path.join(demoDir, 'authority-home', 'ledger.db'))).toBe(true);
  });

  it('leaves a bundle that verifies with the examiner key and the stock route, a tampered copy that does not, and the reports', () => {
    const bundle = path.join(demoDir, 'case-DEMO-2026-001.tar');
    const pub = path.join(demoDir, 'examiner.pub');
    expect(runCli(['--home', path.join(root, 'fresh'), 'verify', bundle, '--trust', pub]).code).toBe(0);
    const bad = runCli(['--home', path.join(root, 'fresh'), 'verify', path.join(demoDir, 'case-DEMO-2026-001-tampered.tar'), '--trust', pub]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^custody: .*laptop-disk\.dd.*bytes 6291456-7340031/);
    // Stock tools: the payload matches its manifest (the bag is under case-DEMO-2026-001/).
    const x = path.join(root, 'x');
    fs.mkdirSync(x);
    expect(spawnSync('tar', ['-xf', bundle, '-C', x]).status).toBe(0);
    const sums = spawnSync('sha256sum', ['-c', 'manifest-sha256.txt'], { cwd: path.join(x, 'case-DEMO-2026-001'), encoding: 'utf8' });
    expect(sums.status, sums.stdout + sums.stderr).toBe(0);
    expect(sums.stdout).toMatch(/data\/phone-export\/notes\/2026\/november\/meeting\.txt: OK/);
    // The generated image is a recognisable MBR disk.
    const mbr = fs.readFileSync(path.join(demoDir, 'evidence', 'laptop-disk.dd')).subarray(0, 512);
    expect(mbr[510]).toBe(0x55);
    expect(mbr[511]).toBe(0xaa);
    expect(mbr[0x1be + 4]).toBe(0x0c);
    for (const f of ['case-DEMO-2026-001-custody-report.html', 'case-DEMO-2026-001-tampered-report.html']) {
      expect(fs.statSync(path.join(demoDir, f)).size).toBeGreaterThan(1000);
    }
    expect(fs.readFileSync(path.join(demoDir, 'case-DEMO-2026-001-custody-report.html'), 'utf8')).toContain('id="verdict">VERIFIED<');
  });

  it('refuses a --dir that is not empty (exit 2) and writes nothing there', () => {
    const r = runCli(['demo', '--dir', demoDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^custody: .*is not empty/);
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'x');
    expect(runCli(['demo', '--dir', file]).code).toBe(2);
  });
});
