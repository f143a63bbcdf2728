/**
 * Evidence names as they are on disk: a tree holding a case-only pair
 * (README.txt, Readme.txt), an NFC/NFD pair of one name, and names Windows
 * cannot hold (CON, a:b, x?.txt, trailing.) seals, verifies and extracts
 * byte-exact on Linux, every name the same bytes. Extract onto a target that
 * folds case, normalises Unicode or refuses Windows names refuses before
 * writing anything, naming both members (the target is simulated: this
 * machine cannot mount vfat or a casefolded ext4), from a file and from
 * stdin; the probe of a real Linux folder finds none of those. Names with
 * CR, LF and tab are sealed, percent-encoded in the manifests (BagIt), and
 * VERIFY.txt still runs as written. A name that is not valid UTF-8 is
 * sealed under a reversible escape, its bytes kept in custody/manifest.json,
 * and extract writes it under those bytes again.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeNameBytes, escapePathBytes } from '../src/bundle/layout.js';
import { probeTarget, type TargetProfile } from '../src/bundle/target-names.js';
import { parsePublicKeyFile } from '../src/custody/identity.js';
import { openBundleInput } from '../src/ops/bundle-input.js';
import { extractBundle } from '../src/ops/extract.js';
import { runCli, tempDir } from './helpers/cli.js';
import { chunked } from './helpers/tar-read.js';
import { runVerifyTxt, verifyTxtCommands } from './helpers/verify-txt.js';

const NFC = 'caf\u00e9.txt';
const NFD = 'cafe\u0301.txt';
const NAMES = ['README.txt', 'Readme.txt', NFC, NFD, 'CON', 'a:b', 'x?.txt', 'trailing.', 'Dir/inner.txt', 'dir/inner.txt'];

let dir: string;
let home: string;
let bundle: string;
let sealer: Uint8Array;
let sealOut: string;

/** Every file under root: name bytes (hex) → content. */
function tree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.set(Buffer.from(r).toString('hex'), fs.readFileSync(path.join(d, e.name), 'utf8'));
    }
  };
  walk(root, '');
  return out;
}

beforeAll(() => {
  dir = tempDir('custody-names-');
  home = path.join(dir, 'home');
  const k = runCli(['--json', 'key', 'new', '--name', 'Nina Names', '--no-passphrase'], { env: { CUSTODY_HOME: home } });
  expect(k.code, k.stderr).toBe(0);
  sealer = parsePublicKeyFile(fs.readFileSync(JSON.parse(k.stdout).pubFile)).publicKey;
  const ev = path.join(dir, 'ev');
  for (const n of NAMES) {
    fs.mkdirSync(path.dirname(path.join(ev, n)), { recursive: true });
    fs.writeFileSync(path.join(ev, n), `content of ${Buffer.from(n).toString('hex')}\n`);
  }
  fs.mkdirSync(path.join(ev, 'Empty'));
  fs.mkdirSync(path.join(ev, 'EMPTY'));
  expect(fs.readdirSync(ev).length).toBe(NAMES.length + 2); // this file system keeps all of them apart
  bundle = path.join(dir, 'names.tar');
  const r = runCli(['seal', ev, '--case', 'N-1', '--item', 'ev', '--out', bundle], { env: { CUSTODY_HOME: home } });
  expect(r.code, r.stderr).toBe(0);
  sealOut = r.stdout;
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const SIMULATED: Record<string, TargetProfile> = {
  'case-insensitive': { caseInsensitive: true, normalisationInsensitive: false, windowsNames: false },
  normalising: { caseInsensitive: false, normalisationInsensitive: true, windowsNames: false },
  windows: { caseInsensitive: false, normalisationInsensitive: false, windowsNames: true },
};

describe('names as they are', () => {
  it('seals, verifies and extracts every name byte-exact on Linux (case pairs, NFC and NFD, Windows-reserved)', () => {
    const into = path.join(dir, 'out');
    const r = runCli(['extract', bundle, '--into', into, '--allow-untrusted'], { env: { CUSTODY_HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    expect(tree(path.join(into, 'data/ev'))).toEqual(tree(path.join(dir, 'ev')));
  });

  it('marks the names Windows cannot hold in custody/manifest.json, and names them in the summary of seal', () => {
    const m = JSON.parse(spawnSync('tar', ['-xOf', bundle, 'names/custody/manifest.json'], { encoding: 'utf8' }).stdout);
    const marked = Object.fromEntries((m.files as { path: string; windows?: string }[]).map((f) => [f.path.replace('data/ev/', ''), f.windows]));
    expect(marked).toMatchObject({
      CON: '"CON": a device name reserved on Windows',
      'a:b': expect.stringMatching(/character Windows refuses/),
      'x?.txt': expect.stringMatching(/character Windows refuses/),
      'trailing.': '"trailing.": a trailing dot or space (Windows drops it)',
      'README.txt': undefined,
      [NFD]: undefined,
    });
    expect(sealOut).toMatch(/windows {7}4 names Windows cannot hold \(sealed as they are, marked in custody\/manifest\.json\): .*data\/ev\/CON/);
  });

  it('checks empty folders too: EMPTY beside Empty on a case-insensitive target', async () => {
    const into = path.join(dir, 'into-empty-dirs');
    const files = NAMES.filter((n) => n !== 'README.txt' && n !== 'Readme.txt' && !n.endsWith('inner.txt'));
    const ev2 = path.join(dir, 'ev2');
    for (const n of files) {
      fs.mkdirSync(path.dirname(path.join(ev2, n)), { recursive: true });
      fs.writeFileSync(path.join(ev2, n), 'x');
    }
    fs.mkdirSync(path.join(ev2, 'Empty'));
    fs.mkdirSync(path.join(ev2, 'EMPTY'));
    const b2 = path.join(dir, 'empty-dirs.tar');
    expect(runCli(['seal', ev2, '--case', 'N-3', '--item', 'ev', '--out', b2], { env: { CUSTODY_HOME: home } }).code).toBe(0);
    await expect(extractBundle({ input: await openBundleInput(b2), into, trusted: [sealer], target: SIMULATED['case-insensitive']! })).rejects.toMatchObject({
      code: 'USAGE',
      message: /"data\/ev\/(EMPTY|Empty)" and "data\/ev\/(EMPTY|Empty)" would be one file there/,
    });
    expect(fs.existsSync(into)).toBe(false);
  });

  it('finds a Linux folder case-sensitive, not normalising, holding Windows names and any name bytes', () => {
    const d = path.join(dir, 'probe');
    fs.mkdirSync(d);
    expect(probeTarget(d)).toEqual({ caseInsensitive: false, normalisationInsensitive: false, windowsNames: false, utf8Names: false });
    expect(fs.readdirSync(d)).toEqual([]);
  });

  const refusals: [string, RegExp][] = [
    ['case-insensitive', /"data\/ev\/(Dir|README\.txt)" and "data\/ev\/(dir|Readme\.txt)" would be one file there \(its file system ignores case\); nothing was written to /],
    ['normalising', new RegExp(`"data/ev/${NFC}" and "data/ev/${NFD}" would be one file there \\(its file system ignores Unicode normalisation\\)`)],
    ['windows', /"data\/ev\/(CON|a:b|trailing\.|x\?\.txt)" has a (device name reserved on Windows|character Windows refuses|trailing dot)/],
  ];
  for (const [which, message] of refusals) {
    it(`refuses to extract onto a ${which} target before writing anything, naming both (from a file and from stdin)`, async () => {
      for (const fromStdin of [false, true]) {
        const into = path.join(dir, `into-${which}-${fromStdin}`);
        const input = fromStdin ? { label: 'stdin', stream: chunked(fs.readFileSync(bundle), 65536) } : await openBundleInput(bundle);
        const err = await extractBundle({ input, into, trusted: [sealer], target: SIMULATED[which]! }).catch((e: Error) => e);
        expect(err).toMatchObject({ code: 'USAGE', message });
        // Exact even from stdin, where earlier members were written to the temporary folder (removed) before the refusal.
        expect((err as Error).message.endsWith(`; nothing was written to ${into}`)).toBe(true);
        expect(fs.existsSync(into)).toBe(false);
        expect(fs.readdirSync(dir).filter((f) => f.includes('custody-tmp'))).toEqual([]);
      }
    });
  }
});

describe('names with CR, LF and tab', () => {
  const LB = ['line\nbreak.txt', 'carriage\rreturn.txt', 'tab\there.txt', '50% off.txt'];
  let lbBundle: string;
  beforeAll(() => {
    const ev = path.join(dir, 'ev-lb');
    fs.mkdirSync(ev);
    for (const n of LB) fs.writeFileSync(path.join(ev, n), `content of ${JSON.stringify(n)}\n`);
    lbBundle = path.join(dir, 'lb.tar');
    const r = runCli(['seal', ev, '--case', 'N-2', '--item', 'ev', '--out', lbBundle, '--piece', '1MiB'], { env: { CUSTODY_HOME: home } });
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  it('are percent-encoded in the manifests and pieces list, and extract byte-exact', () => {
    const manifest = spawnSync('tar', ['-xOf', lbBundle, 'lb/manifest-sha256.txt'], { encoding: 'utf8' }).stdout;
    expect(manifest).toContain('  data/ev/line%0Abreak.txt\n');
    expect(manifest).toContain('  data/ev/carriage%0Dreturn.txt\n');
    expect(manifest).toContain('  data/ev/tab\there.txt\n');
    expect(manifest.split('\n').filter(Boolean)).toHaveLength(LB.length);
    const pieces = spawnSync('tar', ['-xOf', lbBundle, 'lb/custody/pieces-sha256.txt'], { encoding: 'utf8' }).stdout;
    expect(pieces).toContain('data/ev/line%0Abreak.txt\n');
    const into = path.join(dir, 'out-lb');
    const r = runCli(['extract', lbBundle, '--into', into, '--allow-untrusted'], { env: { CUSTODY_HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    expect(tree(path.join(into, 'data/ev'))).toEqual(tree(path.join(dir, 'ev-lb')));
  });

  it('VERIFY.txt checks the others with sed and sha256sum and names these for custody verify; its commands pass as written', () => {
    const x = path.join(dir, 'verify-lb');
    fs.mkdirSync(x);
    fs.copyFileSync(lbBundle, path.join(x, 'lb.tar'));
    const text = spawnSync('tar', ['-xOf', 'lb.tar', 'lb/VERIFY.txt'], { cwd: x, encoding: 'utf8' }).stdout;
    const commands = verifyTxtCommands(text);
    expect(commands).toContain("sed -e '/%0[AD]/d' -e 's/%25/%/g' manifest-sha256.txt | sha256sum -c -");
    expect(text).toContain('     "data/ev/line\\nbreak.txt"');
    expect(text).toContain('     "data/ev/carriage\\rreturn.txt"');
    const r = runVerifyTxt(commands, x);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('50% off.txt: OK');
    expect(r.out).toContain('tab\there.txt: OK');
  });
});

describe('a name that is not valid UTF-8', () => {
  it('is sealed under its escape with the original bytes in custody/manifest.json, verifies, and extracts under its original bytes', () => {
    const ev = Buffer.from(path.join(dir, 'ev-bytes'));
    const j = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p, i) => Buffer.concat([i ? Buffer.from('/') : Buffer.alloc(0), Buffer.from(p as never)])));
    fs.mkdirSync(ev);
    fs.writeFileSync(j(ev.toString(), [0x61, 0xff, 0x62, 0x25, 0x2e, 0x74, 0x78, 0x74]), 'latin-1 name\n'); // "a\xffb%.txt"
    fs.mkdirSync(j(ev.toString(), [0x64, 0xe9]));                                                        // "d\xe9" (ISO-8859-1 é)
    fs.writeFileSync(j(ev.toString(), [0x64, 0xe9], 'inner.txt'), 'inner\n');
    fs.writeFileSync(j(ev.toString(), 'ok.txt'), 'ok\n');
    const b = path.join(dir, 'bytes.tar');
    const s = runCli(['seal', ev.toString(), '--case', 'N-4', '--item', 'ev', '--out', b], { env: { CUSTODY_HOME: home } });
    expect(s.code, s.stderr).toBe(0);
    const list = spawnSync('tar', ['-tf', b], { encoding: 'utf8' }).stdout;
    expect(list).toContain('bytes/data/ev/a%FFb%25.txt\n');
    expect(list).toContain('bytes/data/ev/d%E9/inner.txt\n');
    const m = JSON.parse(spawnSync('tar', ['-xOf', b, 'bytes/custody/manifest.json'], { encoding: 'utf8' }).stdout);
    const byPath = Object.fromEntries((m.files as { path: string; nameBytes?: string }[]).map((f) => [f.path, f.nameBytes]));
    expect(byPath).toEqual({ 'data/ev/a%FFb%25.txt': '61ff62252e747874', 'data/ev/d%E9/inner.txt': '64e9/696e6e65722e747874'.replace('/', '2f'), 'data/ev/ok.txt': undefined });
    const into = path.join(dir, 'out-bytes');
    const x = runCli(['extract', b, '--into', into, '--allow-untrusted'], { env: { CUSTODY_HOME: home } });
    expect(x.code, x.stderr).toBe(0);
    const names = (fs.readdirSync(path.join(into, 'data/ev'), { encoding: 'buffer' }) as Buffer[]).map((n) => n.toString('hex')).sort();
    expect(names).toEqual(['61ff62252e747874', '64e9', '6f6b2e747874'].sort());
    expect(fs.readFileSync(j(path.join(into, 'data/ev'), [0x61, 0xff, 0x62, 0x25, 0x2e, 0x74, 0x78, 0x74]), 'utf8')).toBe('latin-1 name\n');
    expect(fs.readFileSync(j(path.join(into, 'data/ev'), [0x64, 0xe9], 'inner.txt'), 'utf8')).toBe('inner\n');
  });
});

describe('a name that is not valid UTF-8 beside the name its escape spells', () => {
  it('is refused by seal up front (exit 2, both named, nothing written), not sealed into a bundle every reader refuses as a duplicate', () => {
    const d = tempDir('custody-escape-pair-');
    const home = path.join(d, 'home');
    expect(runCli(['key', 'new', '--name', 'Ann Examiner', '--no-passphrase'], { env: { CUSTODY_HOME: home } }).code).toBe(0);
    const ev = Buffer.from(path.join(d, 'ev'));
    fs.mkdirSync(ev);
    fs.writeFileSync(Buffer.concat([ev, Buffer.from('/'), Buffer.from([0xff])]), 'a');
    fs.writeFileSync(Buffer.concat([ev, Buffer.from('/%FF')]), 'b');
    const out = path.join(d, 'ev.tar');
    const r = runCli(['seal', ev.toString(), '--case', 'CASE-1', '--out', out], { env: { CUSTODY_HOME: home } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/^custody: cannot seal .*ev\/%FF: its name is not valid UTF-8 \(bytes ff\) and would be sealed as "%FF", the name of .*ev\/%FF beside it \(rename one of them\)$/);
    expect(fs.readdirSync(d).sort()).toEqual(['ev', 'home']);
  });
});

describe('the escape of names that are not valid UTF-8', () => {
  it('leaves valid names alone and escapes only the bytes that are not UTF-8, one spelling each', () => {
    const e = (bytes: number[]) => escapeNameBytes(new Uint8Array(bytes));
    expect(e([0x63, 0x61, 0x66, 0xc3, 0xa9, 0x25])).toBeUndefined(); // "café%": valid, sealed as it is
    expect(e([0x61, 0xff, 0x62])).toBe('a%FFb');
    expect(e([0xe9, 0x25, 0xc3, 0xa9])).toBe('%E9%25é'); // a '%' in an escaped name is %25, so the escape reverses
    expect(e([0xc0, 0xaf])).toBe('%C0%AF'); // overlong '/'
    expect(e([0xed, 0xa0, 0x80])).toBe('%ED%A0%80'); // a UTF-16 surrogate
    expect(e([0x61, 0xe2, 0x82])).toBe('a%E2%82'); // cut short
    expect(escapePathBytes(new Uint8Array([0x64, 0xe9, 0x2f, 0x78]))).toBe('d%E9/x');
  });
});
