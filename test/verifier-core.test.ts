/**
 * The verifier page's parts that need no browser, run in Node: its hasher
 * (WebCrypto + @noble/hashes) gives exactly the digests, piece list and Merkle
 * root of custody's worker engine for any input and any chunking; a File is
 * read in slices, never whole; the fingerprint as typed is read as DESIGN §2
 * says (a key id refused); and `custody verifier` writes the built page and
 * prints its SHA-256, refusing a damaged page.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ALGOS } from '../src/core/algorithms.js';
import { HashEngine } from '../src/core/engine.js';
import type { HasherSession } from '../src/core/hasher.js';
import { checkVerifierPage, verifierPagePath } from '../src/ops/verifier.js';
import { fileChunks } from '../src/page/file-source.js';
import { parseFingerprintInput } from '../src/page/fingerprint.js';
import { WebHasher } from '../src/page/web-hasher.js';
import { runCli, tempDir } from './helpers/cli.js';
import { buildPage } from './helpers/verifier-page.js';
import { verifyBundle } from '../src/bundle/verify.js';
import { chunks, hostileBundles, MALLORY, SEALER, sealFixture, writeTree } from './helpers/hostile-bundle.js';

const engine = new HashEngine({ workers: 2, slotSize: 64 * 1024, slots: 3 });
const dir = tempDir('custody-verifier-core-');
afterAll(async () => {
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function feed(s: HasherSession, data: Uint8Array, sizes: number[]): Promise<void> {
  let off = 0;
  for (let k = 0; off < data.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length]!);
    await s.update(data.subarray(off, off + n));
    off += n;
  }
}

describe('the page hasher', () => {
  it('gives the engine’s flat digests, piece hashes and Merkle root for any input, piece size and chunking (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 40_000 }),
        fc.constantFrom(0, 1, 64, 1000, 4096, 1 << 20),
        fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 4 }),
        async (data, pieceSize, sizes, inFlight) => {
          const spec = { algos: [...ALGOS], pieceSize };
          const want = engine.begin(spec);
          await feed(want, data, [65536]);
          const w = await want.finish();
          const got = new WebHasher({ inFlight }).begin(spec);
          await feed(got, data, sizes);
          expect(await got.finish()).toEqual(w);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('in pieces mode (no flat algorithm) gives the engine’s lane-merged piece list', async () => {
    const data = randomBytes(5 * 4096 + 17);
    const want = engine.begin({ algos: [], pieceSize: 4096, pieceLanes: true });
    await want.update(data);
    const got = new WebHasher().begin({ algos: [], pieceSize: 4096, pieceLanes: true });
    await feed(got, data, [777]);
    const [a, b] = [await want.finish(), await got.finish()];
    expect(b).toEqual(a);
    expect(b.pieces!.hashes).toHaveLength(6);
    expect(b.pieces!.hashes[5]).toBe(createHash('sha256').update(data.subarray(5 * 4096)).digest('hex'));
  });

  it('holds at most `inFlight` pieces at WebCrypto, in order, and one session at a time', async () => {
    let busy = 0;
    let most = 0;
    const order: number[] = [];
    const h = new WebHasher({
      inFlight: 2,
      digest: async (d) => {
        busy++;
        most = Math.max(most, busy);
        order.push(d[0]!);
        // WebCrypto copies the bytes when called (the hasher reuses its piece buffer), then answers later.
        const answer = crypto.subtle.digest('SHA-256', d as Uint8Array<ArrayBuffer>);
        await new Promise((r) => setTimeout(r, 5));
        busy--;
        return answer;
      },
    });
    const s = h.begin({ algos: [], pieceSize: 16 });
    expect(() => h.begin({ algos: ['md5'] })).toThrow(/one session at a time/);
    const data = new Uint8Array(16 * 10).map((_, i) => Math.floor(i / 16));
    await feed(s, data, [7]);
    const d = await s.finish();
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(d.pieces!.hashes[3]).toBe(createHash('sha256').update(data.subarray(48, 64)).digest('hex'));
    h.begin({ algos: ['md5'] }).abort();
  });
});

describe('the page’s file source', () => {
  it('reads a Blob in slices of the size asked, in order, and reports the bytes read', async () => {
    const data = randomBytes(10_000);
    const seen: number[] = [];
    const parts: Uint8Array[] = [];
    for await (const c of fileChunks(new Blob([data]), { sliceSize: 4096, slices: true, onRead: (done) => seen.push(done) })) parts.push(c);
    expect(parts.map((p) => p.length)).toEqual([4096, 4096, 1808]);
    expect(Buffer.concat(parts)).toEqual(data);
    expect(seen).toEqual([4096, 8192, 10_000]);
    const none: Uint8Array[] = [];
    for await (const c of fileChunks(new Blob([]), { slices: true })) none.push(c);
    expect(none).toEqual([]);
  });

  it('from a byte stream: two buffers in turn, each chunk intact until the next is asked for, the old view detached after', async () => {
    const data = randomBytes(100_000);
    const parts: Uint8Array[] = [];
    const views: Uint8Array[] = [];
    for await (const c of fileChunks(new Blob([data]), { sliceSize: 8192 })) {
      parts.push(c.slice());
      views.push(c);
    }
    expect(Buffer.concat(parts)).toEqual(data);
    expect(parts.length).toBeGreaterThan(2);
    expect(Math.max(...parts.map((p) => p.length))).toBeLessThanOrEqual(8192);
    // Every earlier chunk's view was detached when its buffer was reused: stale bytes read as none.
    expect(views.slice(0, -2).every((v) => v.length === 0)).toBe(true);
  });
});

describe('the core reading from reused buffers', () => {
  it('gives the same verdict on every hostile bundle when the source reuses two small buffers as when every chunk is fresh', async () => {
    const evDir = path.join(dir, 'reuse');
    writeTree(path.join(evDir, 'ev'), { 'disk.img': new Uint8Array(4 * 4096 + 9).map((_, i) => i % 251), 'notes/n.txt': 'notes\n' });
    const reqs = [
      { path: path.join(evDir, 'ev/disk.img'), id: 'disk01', meta: {} },
      { path: path.join(evDir, 'ev/notes'), meta: {} },
    ];
    const good = await sealFixture(engine, evDir, reqs, { pieceSize: 4096, out: 'good.tar' });
    const bad = await sealFixture(engine, evDir, reqs, { pieceSize: 4096, out: 'mallory.tar', signer: MALLORY });
    const cases = [{ id: 'good', bytes: good.bytes }, ...(await hostileBundles(good.bytes, 4096, bad.bytes))];
    const opts = { engine: new WebHasher(), mode: 'pieces' as const, trusted: [SEALER.identity.publicKey] };
    const differ: string[] = [];
    for (const c of cases) {
      const fresh = await verifyBundle(chunks(c.bytes, 64 * 1024), opts);
      const key = (v: typeof fresh) => JSON.stringify([v.ok, v.failed, v.error?.member, v.error?.range, v.error?.message, v.checks.map((k) => [k.id, k.ok, k.detail])]);
      // Small buffers: headers, pax records and tag files span chunks, or end exactly at one's end.
      for (const size of [512, 700, 4096]) {
        const reused = await verifyBundle(fileChunks(new Blob([c.bytes]), { sliceSize: size }), opts).catch((e: Error) => ({ thrown: e.message }));
        if ('thrown' in reused || key(fresh) !== key(reused)) differ.push(`${c.id} (${size}): ${'thrown' in reused ? reused.thrown : key(reused)} vs ${key(fresh)}`);
      }
    }
    expect(cases.length).toBeGreaterThan(30);
    expect(differ).toEqual([]);
  }, 120_000);
});

describe('the fingerprint as typed', () => {
  const fp = '3f9a21c0' + 'ab'.repeat(28);
  it('takes 64 hex digits in any case, with spaces, colons or dashes', () => {
    for (const typed of [fp, fp.toUpperCase(), fp.replace(/(.{4})/g, '$1 ').trim(), fp.replace(/(.{2})(?=.)/g, '$1:'), ` ${fp.replace(/(.{8})(?=.)/g, '$1-')}\n`]) {
      expect(parseFingerprintInput(typed), typed).toEqual({ ok: true, fingerprint: fp });
    }
  });
  it('refuses a 16-digit key id as a trust anchor, with a hint, and anything that is not 64 hex digits', () => {
    const keyid = parseFingerprintInput('3F9A 21C0 ABAB ABAB');
    expect(keyid).toMatchObject({ ok: false, message: expect.stringMatching(/key id.*cannot make it trusted/), hint: expect.stringMatching(/64 hex digits/) });
    expect(parseFingerprintInput(fp.slice(0, 63))).toMatchObject({ ok: false, message: expect.stringMatching(/64 hex digits; this has 63/) });
    expect(parseFingerprintInput(`${fp.slice(0, 63)}g`)).toMatchObject({ ok: false, message: expect.stringMatching(/only hex digits/) });
    expect(parseFingerprintInput('  ')).toMatchObject({ ok: false, empty: true });
  });
});

describe('custody verifier', () => {
  it('writes the built page byte for byte and prints its SHA-256; an existing file is kept without --force', async () => {
    await buildPage();
    const out = path.join(dir, 'custody-verifier.html');
    const r = runCli(['--json', 'verifier', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    const bytes = fs.readFileSync(out);
    expect(bytes.equals(fs.readFileSync(verifierPagePath()))).toBe(true);
    expect(doc).toMatchObject({ ok: true, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    const text = runCli(['verifier', '--out', out]);
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/^custody: .* already exists.*--force/);
    const forced = runCli(['verifier', '--out', out, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`sha256  ${doc.sha256}`);
  });

  it('the build is reproducible: building again gives the same SHA-256', async () => {
    const a = await buildPage();
    const b = await buildPage();
    expect(b.sha256).toBe(a.sha256);
  });

  it('refuses a page whose script or style is not the one its CSP pins, or whose CSP allows the network', () => {
    const html = fs.readFileSync(verifierPagePath(), 'utf8');
    expect(() => checkVerifierPage(html)).not.toThrow();
    expect(() => checkVerifierPage(html.replace('<script>', '<script>fetch("https://x");'))).toThrow(/script is not the one its policy allows/);
    expect(() => checkVerifierPage(html.replace('<style>', '<style>body{}'))).toThrow(/style is not the one/);
    expect(() => checkVerifierPage(html.replace("default-src 'none'", "default-src *"))).toThrow(/default-src 'none'/);
    expect(() => checkVerifierPage(html.replace('</body>', '<script src="x.js"></script></body>'))).toThrow(/exactly one inline script/);
  });
});
