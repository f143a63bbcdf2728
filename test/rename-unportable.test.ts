/**
 * `custody extract --rename-unportable`: onto a target that cannot hold a
 * name (simulated case-insensitive, normalising, Windows and UTF-8-only file
 * systems, as in names-as-they-are; this machine cannot mount vfat or a
 * casefolded ext4) the members are written under safe, deterministic names —
 * the same from a bundle file and from stdin — and CUSTODY-RENAMED.json in
 * the extracted folder lists every one: nothing is renamed silently, and
 * every file of the bundle is either at its sealed path or in the mapping
 * with its sealed content and its sealed time. Without the flag extract still
 * refuses before writing anything. On ext4 the flag renames nothing and
 * writes no mapping.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetProfile } from '../src/bundle/target-names.js';
import { windowsSafeName } from '../src/bundle/target-names.js';
import { parsePublicKeyFile } from '../src/custody/identity.js';
import { openBundleInput } from '../src/ops/bundle-input.js';
import { extractBundle, type ExtractResult } from '../src/ops/extract.js';
import { runCli, tempDir } from './helpers/cli.js';
import { chunked } from './helpers/tar-read.js';

const NFC = 'caf\u00e9.txt';
const NFD = 'cafe\u0301.txt';
const NAMES = ['README.txt', 'Readme.txt', NFC, NFD, 'CON', 'a:b', 'a_b', 'x?.txt', 'trailing.', 'Dir/inner.txt', 'dir/inner.txt'];

const PROFILE: Record<string, TargetProfile> = {
  'case-insensitive': { caseInsensitive: true, normalisationInsensitive: false, windowsNames: false },
  windows: { caseInsensitive: false, normalisationInsensitive: false, windowsNames: true },
  'utf8-only': { caseInsensitive: false, normalisationInsensitive: false, windowsNames: false, utf8Names: true },
};

let dir: string;
let home: string;
let sealer: Uint8Array;
let names: string;
let bytesBundle: string;

const content = (rel: Buffer | string) => `content of ${Buffer.from(rel).toString('hex')}\n`;
/** Each evidence file's own time (ms, distinct per name): extract must give it back wherever the file is written. */
const timeOf = (rel: Buffer | string) => Date.UTC(2019, 0, 1) + (parseInt(createHash('sha256').update(rel).digest('hex').slice(0, 8), 16) % 1e9) * 1000 + 123;
const writeEvidence = (file: Buffer | string, rel: Buffer | string) => {
  fs.writeFileSync(file, content(rel));
  fs.utimesSync(file, new Date(timeOf(rel)), new Date(timeOf(rel)));
};
const expectTime = (file: Buffer | string, rel: Buffer | string) => expect(Math.abs(fs.statSync(file).mtimeMs - timeOf(rel)), String(file)).toBeLessThan(0.01);

/** Every file and empty folder under root, as '/'-joined paths (names as bytes, hex where not UTF-8). */
function files(root: string): string[] {
  const out: string[] = [];
  const walk = (d: Buffer, rel: string) => {
    const entries = fs.readdirSync(d, { withFileTypes: true, encoding: 'buffer' });
    if (entries.length === 0 && rel !== '') out.push(`${rel}/`);
    for (const e of entries) {
      const name = isUtf8(e.name) ? e.name.toString() : `<${e.name.toString('hex')}>`;
      const r = rel ? `${rel}/${name}` : name;
      const full = Buffer.concat([d, Buffer.from('/'), e.name]);
      if (e.isDirectory()) walk(full, r);
      else out.push(r);
    }
  };
  walk(Buffer.from(root), '');
  return out.sort();
}
const isUtf8 = (b: Buffer) => Buffer.from(b.toString('utf8')).equals(b);

interface Mapping {
  custodyRenamed: number;
  bundle: string;
  bundleDigest: string;
  renamed: { path: string; nameBytes?: string; written: string; kind: 'file' | 'folder'; why: string }[];
}

function mapping(r: ExtractResult): Mapping {
  expect(r.mapping).toBe(path.join(r.into, 'CUSTODY-RENAMED.json'));
  const text = fs.readFileSync(r.mapping!, 'utf8');
  const m = JSON.parse(text) as Mapping;
  // One member per line: a person can read and grep it.
  for (const e of m.renamed) expect(text).toContain(`\n    ${JSON.stringify(e)}`);
  return m;
}

beforeAll(() => {
  dir = tempDir('custody-rename-');
  home = path.join(dir, 'home');
  const k = runCli(['--json', 'key', 'new', '--name', 'Rena Rename', '--no-passphrase'], { env: { CUSTODY_HOME: home } });
  expect(k.code, k.stderr).toBe(0);
  sealer = parsePublicKeyFile(fs.readFileSync(JSON.parse(k.stdout).pubFile)).publicKey;

  const ev = path.join(dir, 'ev');
  for (const n of NAMES) {
    fs.mkdirSync(path.dirname(path.join(ev, n)), { recursive: true });
    writeEvidence(path.join(ev, n), n);
  }
  fs.mkdirSync(path.join(ev, 'Empty'));
  fs.mkdirSync(path.join(ev, 'EMPTY'));
  names = path.join(dir, 'names.tar');
  let r = runCli(['seal', ev, '--case', 'R-1', '--item', 'ev', '--out', names], { env: { CUSTODY_HOME: home } });
  expect(r.code, r.stderr).toBe(0);

  const evb = Buffer.from(path.join(dir, 'ev-bytes'));
  const j = (...parts: Buffer[]) => Buffer.concat(parts.flatMap((p, i) => (i ? [Buffer.from('/'), p] : [p])));
  fs.mkdirSync(evb);
  writeEvidence(j(evb, Buffer.from([0x61, 0xff, 0x62])), Buffer.from([0x61, 0xff, 0x62])); // "a\xffb"
  fs.mkdirSync(j(evb, Buffer.from([0x64, 0xe9])));
  writeEvidence(j(evb, Buffer.from([0x64, 0xe9]), Buffer.from('in.txt')), Buffer.from([0x64, 0xe9, 0x2f, 0x69, 0x6e, 0x2e, 0x74, 0x78, 0x74]));
  writeEvidence(j(evb, Buffer.from('ok.txt')), 'ok.txt');
  bytesBundle = path.join(dir, 'bytes.tar');
  r = runCli(['seal', evb.toString(), '--case', 'R-2', '--item', 'ev', '--out', bytesBundle], { env: { CUSTODY_HOME: home } });
  expect(r.code, r.stderr).toBe(0);
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function extract(bundle: string, into: string, target: TargetProfile, fromStdin: boolean, renameUnportable = true): Promise<ExtractResult> {
  const input = fromStdin ? { label: 'stdin', stream: chunked(fs.readFileSync(bundle), 65536) } : await openBundleInput(bundle);
  return extractBundle({ input, into, trusted: [sealer], target, renameUnportable });
}

/** Every payload file is at its sealed path or, renamed, where the mapping says, with its sealed content and time; nothing else is there. */
function expectAccountedFor(into: string, m: Mapping | undefined, sealedRel: string[]): void {
  const byPath = new Map((m?.renamed ?? []).map((e) => [e.path, e]));
  const expected = sealedRel.map((rel) => {
    const e = byPath.get(`data/ev/${rel}`);
    const at = e ? e.written : `data/ev/${rel}`;
    expect(fs.readFileSync(path.join(into, at), 'utf8'), at).toBe(content(rel));
    expectTime(path.join(into, at), rel);
    return at.slice('data/ev/'.length);
  });
  const folders = (m?.renamed ?? []).filter((e) => e.kind === 'folder').map((e) => `${e.written.slice('data/ev/'.length)}/`);
  expect(files(path.join(into, 'data/ev')).filter((f) => !f.endsWith('/') || folders.includes(f))).toEqual([...expected, ...folders].sort());
}

describe('extract --rename-unportable', () => {
  it('onto a case-insensitive target writes the later of each colliding pair as "name (2)" and lists each, the same from a file and from stdin', async () => {
    const trees: string[][] = [];
    for (const fromStdin of [false, true]) {
      const into = path.join(dir, `ci-${fromStdin}`);
      const r = await extract(names, into, PROFILE['case-insensitive']!, fromStdin);
      expect(r.extracted).toBe(true);
      const m = mapping(r);
      expect(m).toMatchObject({ custodyRenamed: 1, bundle: 'names', bundleDigest: r.verdict.bundleDigest });
      const ignores = (how: string, other: string) => `would be one file with ${JSON.stringify(`data/ev/${other}`)} there (its file system ignores ${how})`;
      const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : 1);
      expect([...m.renamed].sort(byPath)).toEqual([
        { path: 'data/ev/Empty', written: 'data/ev/Empty (2)', kind: 'folder', why: ignores('case', 'EMPTY') },
        { path: 'data/ev/Readme.txt', written: 'data/ev/Readme (2).txt', kind: 'file', why: ignores('case', 'README.txt') },
        { path: `data/ev/${NFC}`, written: 'data/ev/caf\u00e9 (2).txt', kind: 'file', why: ignores('Unicode normalisation', NFD) },
        { path: 'data/ev/dir/inner.txt', written: 'data/ev/dir (2)/inner.txt', kind: 'file', why: ignores('case', 'Dir') },
      ].sort(byPath));
      expect(r.renamed).toHaveLength(4);
      expectAccountedFor(into, m, NAMES);
      trees.push(files(into));
    }
    expect(trees[1]).toEqual(trees[0]);
  });

  it('onto a Windows target writes safe names (CON_, a_b, x_.txt, trailing_) and lists each; a name the safe one then takes is listed too', async () => {
    const into = path.join(dir, 'win');
    const r = await extract(names, into, PROFILE.windows!, false);
    const m = mapping(r);
    const written = Object.fromEntries(m.renamed.map((e) => [e.path.slice('data/ev/'.length), e.written.slice('data/ev/'.length)]));
    expect(written).toEqual({ CON: 'CON_', 'a:b': 'a_b', a_b: 'a_b (2)', 'x?.txt': 'x_.txt', 'trailing.': 'trailing_' });
    expect(m.renamed.find((e) => e.path === 'data/ev/CON')!.why).toBe('"CON" has a device name reserved on Windows');
    expect(m.renamed.find((e) => e.path === 'data/ev/a_b')!.why).toBe('its name is the safe name given to "data/ev/a:b"');
    expectAccountedFor(into, m, NAMES);
  });

  it('without the flag still refuses before writing anything, and says how to rename instead', async () => {
    const into = path.join(dir, 'win-refused');
    await expect(extract(names, into, PROFILE.windows!, false, false)).rejects.toMatchObject({
      code: 'USAGE',
      message: `cannot extract into ${into}: "data/ev/CON" has a device name reserved on Windows, which its file system cannot hold; nothing was written to ${into}`,
      hint: expect.stringContaining('--rename-unportable'),
    });
    expect(fs.existsSync(into)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes('custody-tmp'))).toEqual([]);
  });

  it('renames an item folder Windows cannot hold (an item id like con.dd) with everything in it', async () => {
    const ev = path.join(dir, 'item-ev');
    fs.mkdirSync(ev);
    fs.writeFileSync(path.join(ev, 'con.dd'), 'disk\n');
    const b = path.join(dir, 'con-item.tar');
    const s = runCli(['seal', path.join(ev, 'con.dd'), '--case', 'R-3', '--out', b], { env: { CUSTODY_HOME: home } });
    expect(s.code, s.stderr).toBe(0);
    const into = path.join(dir, 'con-item');
    const r = await extract(b, into, PROFILE.windows!, false);
    expect(r.renamed.map(({ path: p, written, why }) => ({ p, written, why }))).toEqual([{ p: 'data/con.dd/con.dd', written: 'data/con_.dd/con_.dd', why: '"con.dd" has a device name reserved on Windows' }]);
    expect(fs.readdirSync(path.join(into, 'data'))).toEqual(['con_.dd']);
    expect(fs.readFileSync(path.join(into, 'data/con_.dd/con_.dd'), 'utf8')).toBe('disk\n');
  });

  it('onto ext4 gives files sealed under escaped names their original bytes back, with their sealed times', async () => {
    const into = path.join(dir, 'bytes-ext4');
    const r = await extract(bytesBundle, into, { caseInsensitive: false, normalisationInsensitive: false, windowsNames: false }, false);
    expect(r.extracted).toBe(true);
    expect(r.renamed).toEqual([]);
    const d = Buffer.from(path.join(into, 'data/ev'));
    const j = (...parts: Buffer[]) => Buffer.concat([d, ...parts.flatMap((p) => [Buffer.from('/'), p])]);
    expectTime(j(Buffer.from([0x61, 0xff, 0x62])), Buffer.from([0x61, 0xff, 0x62]));
    expectTime(j(Buffer.from([0x64, 0xe9]), Buffer.from('in.txt')), Buffer.from([0x64, 0xe9, 0x2f, 0x69, 0x6e, 0x2e, 0x74, 0x78, 0x74]));
    expectTime(j(Buffer.from('ok.txt')), 'ok.txt');
  });

  it('makes safe names of every kind Windows refuses', () => {
    expect(['CON', 'con.txt', 'LPT1.log', 'a<b>c', 'q"u|o', 'star*', 'dots..', 'space ', 'tab\there', 'COM¹'].map(windowsSafeName)).toEqual([
      'CON_',
      'con_.txt',
      'LPT1_.log',
      'a_b_c',
      'q_u_o',
      'star_',
      'dots__',
      'space_',
      'tab_here',
      'COM¹_',
    ]);
  });
});

describe('a name that is not valid UTF-8, onto a target that holds only UTF-8 names', () => {
  it('is refused without the flag, before writing anything from a file and with "nothing was written to <into>" from stdin', async () => {
    for (const fromStdin of [false, true]) {
      const into = path.join(dir, `u8-refused-${fromStdin}`);
      await expect(extract(bytesBundle, into, PROFILE['utf8-only']!, fromStdin, false)).rejects.toMatchObject({
        code: 'USAGE',
        message: `cannot extract into ${into}: the original name of "data/ev/a%FFb" is not valid UTF-8, which its file system cannot hold; nothing was written to ${into}`,
      });
      expect(fs.existsSync(into)).toBe(false);
      expect(fs.readdirSync(dir).filter((f) => f.includes('custody-tmp'))).toEqual([]);
    }
  });

  it('keeps its escaped name with the flag, listed with its original bytes', async () => {
    const into = path.join(dir, 'u8-renamed');
    const r = await extract(bytesBundle, into, PROFILE['utf8-only']!, true);
    const m = mapping(r);
    expect(m.renamed.map(({ path: p, nameBytes, written, kind }) => ({ p, nameBytes, written, kind }))).toEqual([
      { p: 'data/ev/a%FFb', nameBytes: '61ff62', written: 'data/ev/a%FFb', kind: 'file' },
      { p: 'data/ev/d%E9/in.txt', nameBytes: '64e92f696e2e747874', written: 'data/ev/d%E9/in.txt', kind: 'file' },
    ]);
    expect(m.renamed[0]!.why).toMatch(/not valid UTF-8 and this file system holds only UTF-8 names/);
    expect(fs.readFileSync(path.join(into, 'data/ev/a%FFb'), 'utf8')).toBe(content(Buffer.from([0x61, 0xff, 0x62])));
    expect(files(path.join(into, 'data/ev'))).toEqual(['a%FFb', 'd%E9/in.txt', 'ok.txt']);
  });
});

describe('extract --rename-unportable on ext4', () => {
  it('renames nothing, writes no mapping, and says so in --json and the summary', () => {
    const into = path.join(dir, 'ext4');
    const r = runCli(['--json', 'extract', names, '--into', into, '--allow-untrusted', '--rename-unportable'], { env: { CUSTODY_HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: true, extracted: true, renamed: 0, renameMapping: null });
    expect(fs.existsSync(path.join(into, 'CUSTODY-RENAMED.json'))).toBe(false);
    expectAccountedFor(into, undefined, NAMES);
    const t = runCli(['extract', bytesBundle, '--into', path.join(dir, 'ext4-bytes'), '--allow-untrusted', '--rename-unportable'], { env: { CUSTODY_HOME: home } });
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).not.toMatch(/renamed/);
    expect(fs.readdirSync(path.join(dir, 'ext4-bytes/data/ev'), { encoding: 'buffer' }).map((n) => n.toString('hex')).sort()).toEqual(['61ff62', '64e9', '6f6b2e747874']);
  });
});
