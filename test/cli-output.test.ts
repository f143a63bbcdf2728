/**
 * Output contracts of DESIGN §2 across every command: `--json` prints exactly
 * one JSON document on stdout (never mixed with progress, notes or colour),
 * failures included; colour appears only on a terminal and never with
 * NO_COLOR or --no-color (checked on a real pseudo-terminal, where colour
 * WOULD be on otherwise).
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { havePython, runOnTerminal as onTerminal } from './helpers/terminal.js';

const SGR = /\x1b\[[0-9;]*m/; // colour / bold escape sequences
const ANY_ESCAPE = /\x1b/;

let dir: string;
let exHome: string;
let auHome: string;
let ex: { keyid: string; keyFile: string; pubFile: string; fingerprint: string };
let au: { keyid: string; keyFile: string; pubFile: string; fingerprint: string };
let evidence: string;
let bundle: string;

/** Runs with --json and returns the one document; checks nothing else reached stdout or stderr. */
function json(args: string[], expectCode = 0): Record<string, any> {
  const r = runCli(['--json', ...args]);
  expect(r.code, `custody ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(expectCode);
  const lines = r.stdout.split('\n');
  expect(lines.at(-1)).toBe(''); // ends with a newline
  expect(lines, `stdout of custody ${args.join(' ')}`).toHaveLength(2); // exactly one line
  const doc = JSON.parse(lines[0]!);
  expect(doc.ok).toBe(expectCode === 0);
  if (expectCode !== 0) expect(doc.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  expect(r.stderr, `stderr of custody ${args.join(' ')}`).toBe('');
  expect(r.stdout).not.toMatch(ANY_ESCAPE);
  return doc;
}

beforeAll(() => {
  dir = tempDir('custody-output-');
  exHome = path.join(dir, 'ex');
  auHome = path.join(dir, 'au');
  evidence = path.join(dir, 'evidence');
  fs.mkdirSync(path.join(evidence, 'nested'), { recursive: true });
  fs.writeFileSync(path.join(evidence, 'a.txt'), 'alpha\n');
  fs.writeFileSync(path.join(evidence, 'nested', 'b.bin'), Buffer.alloc(70_000, 3));
  bundle = path.join(dir, 'case.tar');
});

describe('--json: one document per command', () => {
  it('key new / list / show / export', () => {
    ex = json(['--home', exHome, 'key', 'new', '--name', 'Ana Examiner', '--org', 'Lab', '--no-passphrase']) as typeof ex;
    au = json(['--home', auHome, 'key', 'new', '--name', 'Bo Authority', '--no-passphrase']) as typeof au;
    expect(ex.keyid).toMatch(/^[0-9a-f]{16}$/);
    const list = json(['--home', exHome, 'key', 'list']);
    expect(JSON.stringify(list)).toContain(ex.fingerprint);
    expect(json(['--home', exHome, 'key', 'show', ex.keyid])).toMatchObject({ key: { fingerprint: ex.fingerprint } });
    for (const format of ['pem', 'minisign', 'ssh', 'json']) {
      expect(json(['--home', exHome, 'key', 'export', ex.keyid, '--format', format])).toMatchObject({ format, fingerprint: ex.fingerprint });
    }
  });

  it('trust add / list, case new / list / show, hash', () => {
    expect(json(['--home', auHome, 'trust', 'add', ex.pubFile])).toMatchObject({ added: true, fingerprint: ex.fingerprint });
    expect(JSON.stringify(json(['--home', auHome, 'trust', 'list']))).toContain(ex.fingerprint);
    json(['--home', exHome, 'case', 'new', '2026-041', '--title', 'Output test']);
    expect(JSON.stringify(json(['--home', exHome, 'case', 'list']))).toContain('2026-041');
    json(['--home', exHome, 'case', 'show', '2026-041']);
    const h = json(['hash', '-r', evidence]);
    expect(JSON.stringify(h)).toContain('a.txt');
    expect(json(['hash', path.join(evidence, 'a.txt'), '--format', 'sums'])).toBeTypeOf('object');
  });

  it('seal / verify / transfer / receive / log / extract / report', () => {
    const seal = json(['--home', exHome, 'seal', evidence, '--case', '2026-041', '--out', bundle, '--key', ex.keyFile]);
    expect(seal.bundleDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(json(['--home', auHome, 'verify', bundle])).toMatchObject({ verdict: { verified: true } });
    json(['--home', exHome, 'transfer', bundle, '--to', au.pubFile, '--reason', 'MLA 7', '--key', ex.keyFile]);
    json(['--home', auHome, 'receive', bundle, '--key', au.keyFile]);
    const log = json(['--home', auHome, 'log', bundle]);
    expect(log.records).toHaveLength(3);
    json(['--home', auHome, 'log', '--case', '2026-041']);
    json(['--home', auHome, 'extract', bundle, '--into', path.join(dir, 'out')]);
    const rep = json(['--home', auHome, 'report', bundle, '--html', path.join(dir, 'r.html')]);
    expect(rep).toMatchObject({ verified: true, bundleDigest: seal.bundleDigest });
  });

  it('trust remove', () => {
    json(['--home', auHome, 'trust', 'remove', ex.fingerprint]);
  });

  it('demo', () => {
    const demo = json(['demo', '--dir', path.join(dir, 'demo')]);
    expect(demo.steps.map((s: { step: string }) => s.step)).toContain('verify-tampered');
  }, 60_000);

  it('failures are one document too: a verification failure, a usage error, a commander error', () => {
    const tampered = path.join(dir, 'tampered.tar');
    const bytes = fs.readFileSync(bundle);
    const at = bytes.indexOf(Buffer.from('alpha\n'));
    bytes[at] ^= 1;
    fs.writeFileSync(tampered, bytes);
    const v = json(['--home', exHome, 'verify', tampered, '--trust', ex.pubFile], 1);
    expect(v.error.code).toBe('HASH_MISMATCH');
    expect(v.verdict.verified).toBe(false);
    expect(json(['verify', path.join(dir, 'missing.tar')], 2).error.code).toBe('NOT_FOUND');
    expect(json(['seal', evidence], 2).error.code).toBe('USAGE');
    expect(json(['no-such-command'], 2).error.code).toBe('USAGE');
  });
});

describe.skipIf(!havePython())('colour', () => {
  it('is on for a terminal, off with NO_COLOR and --no-color, and never in --json', () => {
    const args = ['--home', exHome, 'verify', bundle, '--trust', ex.pubFile];
    const coloured = onTerminal(args);
    expect(coloured.code).toBe(0);
    expect(coloured.out).toContain('VERIFIED');
    expect(coloured.out).toMatch(SGR); // the test can fail: colour is really on here

    // --no-color: the progress bar still moves the cursor, but nothing is coloured.
    const noColor = onTerminal(['--no-color', ...args]);
    expect(noColor.code).toBe(0);
    expect(noColor.out).toContain('VERIFIED');
    expect(noColor.out).not.toMatch(SGR);
    // NO_COLOR, and --quiet (no progress bar): nothing but plain text reaches the terminal.
    const plain = onTerminal(['--quiet', ...args], { NO_COLOR: '1' });
    expect(plain.code).toBe(0);
    expect(plain.out).toContain('VERIFIED');
    expect(plain.out).not.toMatch(ANY_ESCAPE);
    const asJson = onTerminal(['--json', ...args]);
    expect(asJson.out).not.toMatch(ANY_ESCAPE);
    expect(JSON.parse(asJson.out.trim()).ok).toBe(true);
  });

  it('report text has no colour with --no-color (the demo is checked on a terminal in demo-cli.test.ts)', () => {
    const plain = onTerminal(['--no-color', 'report', bundle, '--html', path.join(dir, 'tty.html'), '--trust', ex.pubFile]);
    expect(plain.code).toBe(0);
    expect(plain.out).toContain('VERIFIED');
    expect(plain.out).not.toMatch(SGR);
  }, 60_000);
});
