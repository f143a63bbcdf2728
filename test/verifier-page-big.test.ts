/**
 * The verifier page on real evidence sizes (CUSTODY_BIG_TESTS=1; CI sets it):
 * a bundle of a 4 GiB image (its payload runs past byte 2^32 of the file)
 * verifies in headless Chromium from a file:// URL, and the tab stays under
 * 400 MB resident while it does — the file is read into two reused buffers
 * and one 64 MiB piece is held (plus WebCrypto's copy of it). The evidence is
 * a sparse file (no disk for it); the bundle is real. The run is watched: a
 * page that stops reading fails the test within two minutes, saying how far
 * it got, instead of waiting out the timeout. The rate is printed, not
 * asserted (npm run bench compares the page with custody verify on 1 GiB).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import { haveChromium, launchChromium } from './helpers/browser.js';
import { tempDir } from './helpers/cli.js';
import { SEALER } from './helpers/hostile-bundle.js';
import { writeFileAtomically } from '../src/bundle/atomic-output.js';
import { collectItems } from '../src/bundle/collect-items.js';
import { bagNameFromOut } from '../src/bundle/layout.js';
import { writeBundle } from '../src/bundle/seal.js';
import { TarWriter } from '../src/bundle/tar-writer.js';
import { verifyWatched } from './helpers/page-watchdog.js';
import { buildPage, sampleTabRss, type PageBuild } from './helpers/verifier-page.js';

const BIG = process.env.CUSTODY_BIG_TESTS === '1';
const GiB = 1 << 30;
const TAB_LIMIT_MB = 400;
let dir: string;
let built: PageBuild;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!BIG || !haveChromium()) return;
  dir = tempDir('custody-verifier-big-');
  built = await buildPage();
  browser = await launchChromium();
  page = await browser.newPage();
});
afterAll(async () => {
  await browser?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function sealSparse(size: number): Promise<string> {
  const img = path.join(dir, `image-${size}.dd`);
  fs.closeSync(fs.openSync(img, 'w'));
  fs.truncateSync(img, size);
  const engine = new HashEngine();
  try {
    // As sealFixture does, without reading the bundle back into memory.
    const file = path.join(dir, `big-${size}.tar`);
    const items = await collectItems([{ path: img, id: 'disk01', meta: {} }]);
    await writeFileAtomically(file, true, (fd) =>
      writeBundle(new TarWriter(fd), {
        engine,
        signer: SEALER,
        items,
        bagName: bagNameFromOut(path.basename(file)),
        bundleFile: path.basename(file),
        caseInfo: { id: 'CASE-BIG' },
        algorithms: ['md5', 'sha1', 'sha256'],
        pieceSize: 64 << 20,
        toolVersion: '0.0.0-test',
        now: new Date(),
      }),
    );
    return file;
  } finally {
    await engine.close();
    fs.rmSync(img, { force: true });
  }
}

describe.skipIf(!BIG || !haveChromium())('the verifier page on big bundles', () => {
  for (const size of [4 * GiB]) {
    it(`verifies a ${size / GiB} GiB bundle with the tab under ${TAB_LIMIT_MB} MB`, async () => {
      const bundle = await sealSparse(size);
      try {
        const rss = sampleTabRss();
        let peak = 0;
        const v = await verifyWatched(page, built.url, bundle, SEALER.identity.fingerprint, { stallMs: 120_000, pollMs: 2000 }).finally(() => (peak = rss.stop()));
        const bytes = fs.statSync(bundle).size;
        console.log(`verifier page: ${(bytes / GiB).toFixed(2)} GiB in ${v.seconds.toFixed(1)} s = ${(bytes / 2 ** 20 / v.seconds).toFixed(0)} MiB/s; tab peak RSS ${peak.toFixed(0)} MB`);
        expect(v.ok, v.message).toBe(true);
        expect(v.checks.find((c) => c.id === 'payload.pieces')?.detail).toBe(`${size / (64 << 20)} piece(s) of 1 file(s) match (every payload byte)`);
        expect(peak).toBeGreaterThan(0);
        expect(peak).toBeLessThan(TAB_LIMIT_MB);
      } finally {
        fs.rmSync(bundle, { force: true });
      }
    }, 30 * 60_000);
  }
});
