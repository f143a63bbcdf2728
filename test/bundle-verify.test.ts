/** seal → verify in-process: round trips, chunking, and every hostile bundle. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HashEngine } from '../src/core/engine.js';
import { VERIFICATION_CODES } from '../src/core/errors.js';
import { tempDir } from './helpers/cli.js';
import { hostileBundles, MALLORY, membersOf, SEALER, sealFixture, verifyBytes, writeTree, type HostileBundle } from './helpers/hostile-bundle.js';

let engine: HashEngine;
let dir: string;
beforeAll(() => {
  engine = new HashEngine({ workers: 2 });
  dir = tempDir('custody-bundle-');
});
afterAll(async () => {
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const PIECE = 4096;

function evidence(root: string): void {
  writeTree(root, {
    'disk/image.dd': new Uint8Array(3 * PIECE + 123).map((_, i) => (i * 31 + 7) & 0xff),
    'export/a/b/deep.txt': 'deep\n',
    'export/empty.bin': '',
    'export/one.bin': 'x',
    'export/Caf\u00e9 100%.txt': 'nfc name\n',
  });
  fs.mkdirSync(path.join(root, 'export/nothing-here/inner'), { recursive: true });
}

describe('seal → verify', () => {
  let good: Uint8Array;
  let mallory: Uint8Array;
  beforeAll(async () => {
    const src = path.join(dir, 'src');
    evidence(src);
    const reqs = [
      { path: path.join(src, 'disk/image.dd'), meta: { serial: 'S1' } },
      { path: path.join(src, 'export'), id: 'phone', description: 'phone export', meta: {} },
    ];
    good = (await sealFixture(engine, dir, reqs, { pieceSize: PIECE })).bytes;
    mallory = (await sealFixture(engine, dir, reqs, { pieceSize: PIECE, signer: MALLORY, out: 'mallory.tar' })).bytes;
  });

  it('verifies a good bundle, whatever the chunking', async () => {
    for (const chunk of [good.length, 65536, 511, 1]) {
      if (chunk === 1 && good.length > 200_000) continue;
      const v = await verifyBytes(engine, good, { chunk });
      expect(v.error?.message, `chunk ${chunk}`).toBeUndefined();
      expect(v.ok).toBe(true);
    }
    const v = await verifyBytes(engine, good);
    expect(v.files).toBe(5);
    expect(v.sealer).toMatchObject({ name: 'Ann Examiner', trusted: true, fingerprint: SEALER.identity.fingerprint });
    expect(v.manifest!.items.map((i) => i.id)).toEqual(['image.dd', 'phone']);
    expect(v.manifest!.items[1]!.emptyDirectories).toEqual(['nothing-here/inner']);
    expect(v.manifest!.items[0]!.meta).toEqual({ serial: 'S1' });
    expect(v.checks.every((c) => c.ok)).toBe(true);
    expect(v.chain!.custodian!.name).toBe('Ann Examiner');
  });

  it('writes members in the order of DESIGN §3, with NFC names and mtime 0', async () => {
    const { members } = await membersOf(good);
    const names = members.map((m) => m.name.slice('bundle/'.length));
    expect(names).toEqual([
      'bagit.txt',
      'bag-info.txt',
      'data/image.dd/image.dd',
      'data/phone/Caf\u00e9 100%.txt',
      'data/phone/a/b/deep.txt',
      'data/phone/empty.bin',
      'data/phone/one.bin',
      'manifest-md5.txt',
      'manifest-sha1.txt',
      'manifest-sha256.txt',
      'custody/manifest.json',
      'custody/pieces-sha256.txt',
      'custody/sealer.pem',
      'custody/sealer.minisign.pub',
      'VERIFY.txt',
      'tagmanifest-sha256.txt',
      'custody/seal.sig',
      'custody/seal.minisig',
      'custody/chain/0000-seal.dsse.json',
    ]);
  });

  it('is reproducible: the same evidence, key and time give the same bytes', async () => {
    fs.mkdirSync(path.join(dir, 'again'), { recursive: true });
    const reqs = [
      { path: path.join(dir, 'src/disk/image.dd'), meta: { serial: 'S1' } },
      { path: path.join(dir, 'src/export'), id: 'phone', description: 'phone export', meta: {} },
    ];
    const again = await sealFixture(engine, dir, reqs, { pieceSize: PIECE, out: 'again/bundle.tar' });
    expect(Buffer.compare(Buffer.from(again.bytes), Buffer.from(good))).toBe(0);
  });

  it('an untrusted sealer fails, passes with allowUntrusted, and --trust-like keys fix it', async () => {
    const v = await verifyBytes(engine, good, { trusted: [] });
    expect(v.ok).toBe(false);
    expect(v.error!.code).toBe('UNTRUSTED_KEY');
    const a = await verifyBytes(engine, good, { trusted: [], allowUntrusted: true });
    expect(a.ok).toBe(true);
    expect(a.sealer!.trusted).toBe(false);
  });

  describe('hostile bundles', () => {
    let cases: HostileBundle[];
    beforeAll(async () => {
      cases = await hostileBundles(good, PIECE, mallory);
    });
    it('has many cases', () => {
      expect(cases.length).toBeGreaterThan(70);
    });
    it('each fails with its own reason', async () => {
      const failures: string[] = [];
      for (const c of cases) {
        const v = await verifyBytes(engine, c.bytes, { chunk: 4096 });
        const e = v.error;
        if (v.ok || !e) {
          failures.push(`${c.id}: verified`);
          continue;
        }
        if (!(VERIFICATION_CODES as readonly string[]).includes(e.code)) failures.push(`${c.id}: code ${e.code} is not a verification code`);
        if (c.code !== '' && e.code !== c.code) failures.push(`${c.id}: code ${e.code} (${e.message}), expected ${c.code}`);
        if (!c.reason.test(e.message)) failures.push(`${c.id}: message ${JSON.stringify(e.message)} does not match ${c.reason}`);
      }
      expect(failures).toEqual([]);
    });
    it('names the item and the byte range of a flipped data byte', async () => {
      const c = cases.find((x) => x.id.startsWith('flipped data byte'))!;
      const v = await verifyBytes(engine, c.bytes);
      expect(v.error).toMatchObject({ member: 'data/image.dd/image.dd', item: 'image.dd', range: [PIECE, 2 * PIECE - 1] });
    });
  });
});

describe('every single-byte change of a small bundle fails verify', () => {
  // All positions with CUSTODY_EXHAUSTIVE_TESTS=1 (tens of minutes); otherwise a dense sample: every
  // byte that is not zero padding is covered over runs (a random phase each
  // run), and every 512-byte block is hit on every run.
  it('flips byte positions one at a time', async () => {
    const src = path.join(dir, 'tiny');
    writeTree(src, { 'a.txt': 'evidence\n' });
    const { bytes } = await sealFixture(engine, dir, [{ path: path.join(src, 'a.txt'), meta: {} }], { out: 'tiny.tar', algorithms: ['sha256'] });
    const all = process.env.CUSTODY_EXHAUSTIVE_TESTS === '1';
    const stride = all ? 1 : 29;
    const phase = Math.floor(Math.random() * stride);
    const passed: number[] = [];
    let tried = 0;
    const t0 = Date.now();
    for (let at = 0; at < bytes.length; at++) {
      const zero = bytes[at] === 0;
      if (!all && (zero ? at % 509 !== 0 : at % stride !== phase)) continue;
      const mutated = bytes.slice();
      mutated[at]! ^= 0x20;
      tried++;
      const v = await verifyBytes(engine, mutated, { chunk: bytes.length });
      if (v.ok) passed.push(at);
    }
    expect(passed, `phase ${phase}`).toEqual([]);
    expect(tried).toBeGreaterThan(150);
    console.log(`flipped ${tried} positions of ${bytes.length} in ${Date.now() - t0} ms`);
  }, 600_000);
});

describe('round trip (property)', () => {
  it('any tree of files seals, verifies and extracts back byte for byte', async () => {
    const { directorySink, finishExtraction } = await import('../src/bundle/extract.js');
    const { verifyBundle } = await import('../src/bundle/verify.js');
    const { chunks } = await import('./helpers/hostile-bundle.js');
    const name = fc.stringMatching(/^[a-zA-Z0-9éüß _.-]{1,12}$/).filter((s) => s !== '.' && s !== '..' && s.trim() === s && s.length > 0);
    const tree = fc.uniqueArray(fc.record({ dirs: fc.array(name, { maxLength: 2 }), file: name, size: fc.integer({ min: 0, max: 3 * PIECE }) }), {
      minLength: 1,
      maxLength: 6,
      selector: (f) => [...f.dirs, f.file].join('/').toLowerCase(),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(tree, fc.integer({ min: 1, max: 5000 }), async (files, chunk) => {
        const root = path.join(dir, `prop-${run++}`);
        const src = path.join(root, 'src');
        const written = new Map<string, Uint8Array>();
        for (const f of files) {
          const rel = [...f.dirs, f.file].join('/');
          // A file and a folder of the same name cannot both exist: skip such trees.
          if ([...written.keys()].some((k) => k.toLowerCase().startsWith(`${rel.toLowerCase()}/`) || rel.toLowerCase().startsWith(`${k.toLowerCase()}/`))) return;
          const data = new Uint8Array(f.size).map((_, i) => (i * 7 + f.size) & 0xff);
          written.set(rel, data);
        }
        writeTree(src, Object.fromEntries(written));
        const { bytes } = await sealFixture(engine, root, [{ path: src, id: 'tree', meta: {} }], { pieceSize: PIECE, out: 'p.tar' });
        const out = path.join(root, 'out');
        fs.mkdirSync(out);
        const sink = directorySink(out);
        const v = await verifyBundle(chunks(bytes, chunk), { engine, trusted: [SEALER.identity.publicKey], sink });
        expect(v.error?.message).toBeUndefined();
        await sink.drain(); // small files are written on the sink's writer thread
        await sink.close();
        await finishExtraction(out, v.manifest!);
        for (const [rel, data] of written) {
          expect(Buffer.compare(fs.readFileSync(path.join(out, 'data/tree', rel)), Buffer.from(data)), rel).toBe(0);
        }
        fs.rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: 12 },
    );
  }, 120_000);
});
