/**
 * The verifier page keeps reading while the browser collects garbage. Between
 * two chunks of a file, the reader and every await waiting on its pending read
 * are reachable only from that read's promise; Chromium collected them, the
 * read never settled, and the page stalled with the CPU idle — on 1 GiB and
 * 4 GiB bundles alike, at random, as garbage collection happened to run.
 * Here a full collection runs every few milliseconds (--expose-gc), which made
 * the page stall within the first few MiB every time before the fix; the page
 * must now verify to the end. The file source must also let go of a reader
 * once its file is read or abandoned.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import { fileChunks, readersHeld } from '../src/page/file-source.js';
import { haveChromium, launchChromium } from './helpers/browser.js';
import { tempDir } from './helpers/cli.js';
import { SEALER, sealFixture } from './helpers/hostile-bundle.js';
import { verifyWatched } from './helpers/page-watchdog.js';
import { buildPage, type PageBuild } from './helpers/verifier-page.js';

const MiB = 1 << 20;
const IMAGE = 48 * MiB;
const PIECE = 4 * MiB;
let dir: string;
let bundle: string;
let built: PageBuild;
let browser: Browser | undefined;
let page: Page;

beforeAll(async () => {
  dir = tempDir('custody-verifier-gc-');
  const img = path.join(dir, 'disk.img');
  fs.closeSync(fs.openSync(img, 'w'));
  fs.truncateSync(img, IMAGE); // sparse: no disk, the bundle is real
  const engine = new HashEngine({ workers: 1 });
  try {
    bundle = (await sealFixture(engine, dir, [{ path: img, id: 'disk01', meta: {} }], { pieceSize: PIECE, out: 'gc.tar' })).file;
  } finally {
    await engine.close();
    fs.rmSync(img, { force: true });
  }
  if (!haveChromium()) return;
  built = await buildPage();
  browser = await launchChromium({ args: ['--js-flags=--expose-gc'] });
  page = await browser.newPage();
  // Before the page's own script: a full collection every 5 ms, whenever the page is waiting.
  await page.addInitScript(() => {
    const gc = (globalThis as unknown as { gc?: (o?: { type: string }) => void }).gc;
    if (gc) setInterval(() => gc({ type: 'major' }), 5);
    (globalThis as unknown as { __gcForced: boolean }).__gcForced = gc !== undefined;
  });
});

afterAll(async () => {
  await browser?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveChromium())('the verifier page under constant garbage collection', () => {
  it('reads a bundle to the end and verifies it while full collections run every few milliseconds', async () => {
    const v = await verifyWatched(page, built.url, bundle, SEALER.identity.fingerprint, { stallMs: 20_000, pollMs: 500 });
    expect(await page.evaluate(() => (globalThis as unknown as { __gcForced: boolean }).__gcForced)).toBe(true);
    expect(v.ok, v.message).toBe(true);
    expect(v.checks.find((c) => c.id === 'payload.pieces')?.detail).toBe(`${IMAGE / PIECE} piece(s) of 1 file(s) match (every payload byte)`);
  }, 120_000);
});

describe('the page’s file source and its readers', () => {
  it('holds a file’s reader while the file is read and lets go of it at the end, on an early return and on an error', async () => {
    const data = new Uint8Array(50_000).map((_, i) => i % 253);
    expect(readersHeld()).toBe(0);
    let during = 0;
    let got = 0;
    for await (const c of fileChunks(new Blob([data]), { sliceSize: 8192 })) {
      during = Math.max(during, readersHeld());
      got += c.length;
    }
    expect(got).toBe(data.length);
    expect(during).toBe(1);
    expect(readersHeld()).toBe(0);

    for await (const _ of fileChunks(new Blob([data]), { sliceSize: 8192 })) break;
    expect(readersHeld()).toBe(0);

    const failing = (async () => {
      for await (const _ of fileChunks(new Blob([data]), { sliceSize: 8192 })) throw new Error('consumer failed');
    })();
    await expect(failing).rejects.toThrow('consumer failed');
    expect(readersHeld()).toBe(0);
  });
});
