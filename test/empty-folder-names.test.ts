/**
 * Empty folders are the evidence's too, and their names are kept as files'
 * are: one whose name is not valid UTF-8 is sealed escaped with its original
 * bytes in custody/manifest.json (emptyDirectoryMarks) and extract creates
 * it under those bytes again; one Windows cannot hold is marked there and
 * named in seal's summary and --json (windowsUnportable); onto a target that
 * cannot hold it, extract refuses or, with --rename-unportable, renames it
 * and lists it. A manifest without marks (a bundle sealed before) reads as
 * before; a mark that does not fit its folder is refused.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { custodyManifestBytes, parseCustodyManifest, type CustodyManifest } from '../src/bundle/custody-manifest.js';
import { parsePublicKeyFile } from '../src/custody/identity.js';
import { openBundleInput } from '../src/ops/bundle-input.js';
import { extractBundle } from '../src/ops/extract.js';
import { runCli, tempDir } from './helpers/cli.js';

let dir: string;
let home: string;
let sealer: Uint8Array;
let bundle: string;
let sealJson: Record<string, unknown>;
let sealText: string;
let evidence: Buffer;

const b = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p, i) => Buffer.concat([i ? Buffer.from('/') : Buffer.alloc(0), typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)])));

/** Every entry under root as hex of its path bytes, folders with a trailing '/'. */
function entries(root: Buffer): string[] {
  const out: string[] = [];
  const walk = (d: Buffer, rel: Buffer | undefined) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true, encoding: 'buffer' })) {
      const r = rel === undefined ? e.name : Buffer.concat([rel, Buffer.from('/'), e.name]);
      const full = Buffer.concat([d, Buffer.from('/'), e.name]);
      if (e.isDirectory()) {
        out.push(`${r.toString('hex')}/`);
        walk(full, r);
      } else out.push(r.toString('hex'));
    }
  };
  walk(root, undefined);
  return out.sort();
}

beforeAll(() => {
  dir = tempDir('custody-empty-names-');
  home = path.join(dir, 'home');
  const k = runCli(['--json', 'key', 'new', '--name', 'Emma Empty', '--no-passphrase'], { env: { CUSTODY_HOME: home } });
  expect(k.code, k.stderr).toBe(0);
  sealer = parsePublicKeyFile(fs.readFileSync(JSON.parse(k.stdout).pubFile)).publicKey;
  evidence = Buffer.from(path.join(dir, 'ev'));
  fs.mkdirSync(evidence);
  fs.writeFileSync(b(evidence.toString(), 'file.txt'), 'a file\n');
  fs.mkdirSync(b(evidence.toString(), 'plain'));
  fs.mkdirSync(b(evidence.toString(), [0x64, 0xe9])); // "d\xe9", empty
  fs.mkdirSync(b(evidence.toString(), [0x78, 0xff], 'sub'), { recursive: true }); // "x\xff/sub", empty inside a non-UTF-8 folder
  fs.mkdirSync(b(evidence.toString(), 'CON'));
  fs.mkdirSync(b(evidence.toString(), 'a:b'));
  bundle = path.join(dir, 'empties.tar');
  const r = runCli(['--json', 'seal', evidence.toString(), '--case', 'E-1', '--item', 'ev', '--out', bundle], { env: { CUSTODY_HOME: home } });
  expect(r.code, r.stderr).toBe(0);
  sealJson = JSON.parse(r.stdout);
  const t = runCli(['seal', evidence.toString(), '--case', 'E-1', '--item', 'ev', '--out', path.join(dir, 'text.tar')], { env: { CUSTODY_HOME: home } });
  expect(t.code, t.stderr).toBe(0);
  sealText = t.stdout;
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('empty folders', () => {
  it('are marked in custody/manifest.json as files are: the original bytes of an escaped name, why Windows cannot hold one', () => {
    const m = JSON.parse(spawnSync('tar', ['-xOf', bundle, 'empties/custody/manifest.json'], { encoding: 'utf8' }).stdout);
    const item = m.items[0];
    expect([...item.emptyDirectories].sort()).toEqual(['CON', 'a:b', 'd%E9', 'plain', 'x%FF/sub'].sort());
    expect(item.emptyDirectoryMarks).toEqual(
      expect.arrayContaining([
        { path: 'CON', windows: '"CON": a device name reserved on Windows' },
        { path: 'a:b', windows: expect.stringMatching(/^"a:b": a character Windows refuses/) },
        { path: 'd%E9', nameBytes: '64e9' },
        { path: 'x%FF/sub', nameBytes: Buffer.from('x\xff/sub', 'latin1').toString('hex') },
      ]),
    );
    expect(item.emptyDirectoryMarks).toHaveLength(4);
  });

  it('Windows cannot hold are named in seal --json (windowsUnportable) and in its summary', () => {
    expect(sealJson.windowsUnportable).toEqual(['data/ev/CON', 'data/ev/a:b']);
    expect(sealText).toMatch(/windows {7}2 names Windows cannot hold \(sealed as they are, marked in custody\/manifest\.json\): data\/ev\/CON, data\/ev\/a:b/);
  });

  it('are extracted under their original bytes on Linux, and no escaped folder is left', () => {
    const into = path.join(dir, 'out');
    const r = runCli(['extract', bundle, '--into', into, '--allow-untrusted'], { env: { CUSTODY_HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    expect(entries(Buffer.from(path.join(into, 'data/ev')))).toEqual(entries(evidence));
  });

  it('onto a Windows target are refused without --rename-unportable, and renamed and listed with it', async () => {
    const target = { caseInsensitive: true, normalisationInsensitive: false, windowsNames: true };
    const refused = path.join(dir, 'win-refused');
    await expect(extractBundle({ input: await openBundleInput(bundle), into: refused, trusted: [sealer], target })).rejects.toMatchObject({
      code: 'USAGE',
      message: /"data\/ev\/(CON|a:b)" has a (device name reserved|character Windows refuses)/,
    });
    expect(fs.existsSync(refused)).toBe(false);
    const into = path.join(dir, 'win');
    const r = await extractBundle({ input: await openBundleInput(bundle), into, trusted: [sealer], target, renameUnportable: true });
    expect(r.renamed.map(({ path: p, written, kind }) => ({ p, written, kind }))).toEqual([
      { p: 'data/ev/CON', written: 'data/ev/CON_', kind: 'folder' },
      { p: 'data/ev/a:b', written: 'data/ev/a_b', kind: 'folder' },
    ]);
    expect(fs.statSync(path.join(into, 'data/ev/CON_')).isDirectory()).toBe(true);
    expect(fs.readFileSync(path.join(into, 'CUSTODY-RENAMED.json'), 'utf8')).toContain('"path":"data/ev/a:b","written":"data/ev/a_b","kind":"folder"');
  });

  it('onto a UTF-8-only target keep their escaped names with --rename-unportable, listed with their original bytes', async () => {
    const into = path.join(dir, 'utf8');
    const target = { caseInsensitive: false, normalisationInsensitive: false, windowsNames: false, utf8Names: true };
    await expect(extractBundle({ input: await openBundleInput(bundle), into: path.join(dir, 'utf8-refused'), trusted: [sealer], target })).rejects.toMatchObject({
      code: 'USAGE',
      message: /the original name of "data\/ev\/d%E9" is not valid UTF-8/,
    });
    const r = await extractBundle({ input: await openBundleInput(bundle), into, trusted: [sealer], target, renameUnportable: true });
    expect(r.renamed.map(({ path: p, nameBytes, written, kind }) => ({ p, nameBytes, written, kind }))).toEqual([
      { p: 'data/ev/d%E9', nameBytes: '64e9', written: 'data/ev/d%E9', kind: 'folder' },
      { p: 'data/ev/x%FF/sub', nameBytes: '78ff2f737562', written: 'data/ev/x%FF/sub', kind: 'folder' },
    ]);
    expect(fs.statSync(path.join(into, 'data/ev/x%FF/sub')).isDirectory()).toBe(true);
  });
});

describe('emptyDirectoryMarks in custody/manifest.json', () => {
  const m: CustodyManifest = {
    custodyBundleVersion: 1,
    bundleName: 'b',
    case: { id: 'C' },
    sealedAt: '2026-11-27T14:03:00.000Z',
    tool: { name: 'custody', version: '0.1.0' },
    algorithms: ['sha256'],
    pieceSize: 0,
    sealer: { name: 'Ann', keyid: 'a'.repeat(16), fingerprint: 'a'.repeat(64), publicKey: 'AAAA' },
    items: [{ id: 'ev', kind: 'directory', source: '/ev', meta: {}, emptyDirectories: ['plain', 'd%E9', 'CON'] }],
    files: [],
  };
  const withMarks = (marks: unknown) => {
    const d = JSON.parse(JSON.stringify(m));
    d.items[0].emptyDirectoryMarks = marks;
    return new TextEncoder().encode(JSON.stringify(d));
  };

  it('are optional: a manifest of a bundle sealed before reads as before', () => {
    expect(parseCustodyManifest(custodyManifestBytes(m))).toEqual(m);
  });

  it('round-trip', () => {
    const marks = [{ path: 'd%E9', nameBytes: '64e9' }, { path: 'CON', windows: 'reserved' }];
    expect(parseCustodyManifest(withMarks(marks)).items[0]!.emptyDirectoryMarks).toEqual(marks);
  });

  it.each([
    ['a folder not in emptyDirectories', [{ path: 'other', windows: 'x' }]],
    ['bytes that do not escape to the path', [{ path: 'd%E9', nameBytes: '64c3a9' }]],
    ['bytes with a traversal', [{ path: 'd%E9', nameBytes: '2e2e2f64e9' }]],
    ['a folder marked twice', [{ path: 'CON', windows: 'x' }, { path: 'CON', windows: 'y' }]],
    ['an empty reason', [{ path: 'CON', windows: '' }]],
    ['an unexpected field', [{ path: 'CON', windows: 'x', extra: 1 }]],
  ])('refuse %s', (_w, marks) => {
    expect(() => parseCustodyManifest(withMarks(marks))).toThrow(expect.objectContaining({ code: 'MALFORMED_BUNDLE' }));
  });
});
