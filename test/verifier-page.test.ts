/**
 * The offline verifier page in Chromium, opened from disk: it makes no
 * network request, verifies a sealed bundle with the same checks (ids, texts)
 * as `custody verify --json`, names the same check, member and piece range on
 * a tampered copy, agrees with the verification core in Node on every hostile
 * bundle, refuses a key id as a trust anchor, and works from the keyboard.
 */
import { escapeText } from '../src/core/text.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import { groupedFingerprint } from '../src/custody/ed25519.js';
import { publicKeyFile } from '../src/custody/identity.js';
import { verifyBundle, type BundleVerdict } from '../src/bundle/verify.js';
import { haveChromium, launchChromium } from './helpers/browser.js';
import { runCli, tempDir } from './helpers/cli.js';
import { pdfPages } from './helpers/pdf.js';
import { chunks, hostileBundles, MALLORY, SEALER, sealFixture, writeTree, type HostileBundle } from './helpers/hostile-bundle.js';
import { buildPage, readVerdict, verifyInPage, type PageBuild, type PageVerdict } from './helpers/verifier-page.js';

const PIECE = 4096;
const FP = SEALER.identity.fingerprint;
let dir: string;
let pub: string;
let good: string;
let unpieced: string;
let goodBytes: Uint8Array;
let cases: HostileBundle[];
let built: PageBuild;
let browser: Browser;
let page: Page;
/** Every request the page made other than loading itself, and every console error (a CSP violation is one). */
const requests: string[] = [];
const consoleErrors: string[] = [];

beforeAll(async () => {
  dir = tempDir('custody-verifier-page-');
  built = await buildPage();
  const engine = new HashEngine({ workers: 2 });
  try {
    writeTree(path.join(dir, 'ev'), { 'disk.img': new Uint8Array(4 * PIECE + 9).map((_, i) => i % 251), 'notes/n.txt': 'notes\n' });
    const reqs = [
      { path: path.join(dir, 'ev/disk.img'), id: 'disk01', meta: {} },
      { path: path.join(dir, 'ev/notes'), meta: {} },
    ];
    const g = await sealFixture(engine, dir, reqs, { pieceSize: PIECE, out: 'good.tar' });
    good = g.file;
    goodBytes = g.bytes;
    const bad = await sealFixture(engine, dir, reqs, { pieceSize: PIECE, out: 'mallory.tar', signer: MALLORY });
    unpieced = (await sealFixture(engine, dir, reqs, { pieceSize: 0, algorithms: ['md5', 'sha1', 'sha256', 'sha512', 'sha3-256', 'blake3'], out: 'unpieced.tar' })).file;
    cases = await hostileBundles(g.bytes, PIECE, bad.bytes);
  } finally {
    await engine.close();
  }
  pub = path.join(dir, 'sealer.pub');
  fs.writeFileSync(pub, publicKeyFile(SEALER.identity, '2026-01-01T00:00:00.000Z'));
  if (!haveChromium()) return;
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('request', (r) => {
    if (r.url() !== built.url) requests.push(r.url());
  });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
});

afterAll(async () => {
  await browser?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function cliVerdict(file: string, ...flags: string[]): { code: number; doc: { ok: boolean; verdict: { checks: { id: string; ok: boolean; check: string; detail: string }[]; failedCheck?: string }; error?: { member?: string; item?: string; range?: number[] } } } {
  const r = runCli(['--json', 'verify', file, '--trust', pub, ...flags], { env: { CUSTODY_HOME: path.join(dir, 'home') } });
  return { code: r.code, doc: JSON.parse(r.stdout) };
}

/** The checks as the CLI and the page both list them; the mode line names the hasher's worker count, which differs. */
const comparable = (cs: { id: string; ok: boolean; check: string; detail: string }[]) => cs.filter((c) => c.id !== 'verify.mode').map((c) => ({ id: c.id, ok: c.ok, check: c.check, detail: c.detail }));

const nodeVerdict = (bytes: Uint8Array, mode: 'pieces' | 'full'): Promise<BundleVerdict> => {
  const engine = new HashEngine({ workers: 2 });
  return verifyBundle(chunks(bytes, 64 * 1024), { engine, mode, trusted: [SEALER.identity.publicKey] }).finally(() => engine.close());
};

describe.skipIf(!haveChromium())('the verifier page in Chromium (file://)', () => {
  it('is one file whose inline script and style are pinned by the CSP, with no network source allowed', () => {
    const html = fs.readFileSync(built.file, 'utf8');
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=*'; style-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/\bsrc=|\bhref="(?!#)/);
  });

  it('verifies a sealed bundle with no network request: VERIFIED and the same checks, ids and texts as custody verify --json', async () => {
    const v = await verifyInPage(page, built.url, good, groupedFingerprint(FP).toUpperCase());
    const cli = cliVerdict(good);
    expect(cli.code).toBe(0);
    expect(v.ok).toBe(true);
    expect(v.headline).toMatch(/^VERIFIED/);
    expect(v.checks.map((c) => c.id)).toEqual(cli.doc.verdict.checks.map((c) => c.id));
    expect(comparable(v.checks)).toEqual(comparable(cli.doc.verdict.checks));
    expect(v.checks.find((c) => c.id === 'verify.mode')?.detail).toMatch(/^pieces \(every byte against the signed piece hashes/);
    expect(v.timeline).toHaveLength(1);
    expect(v.timeline[0]).toMatch(/seal.*Ann Examiner/);
    // The court form is shown (same renderer as custody report) and can be saved.
    const report = await page.evaluate(() => document.querySelector('#report-view')!.shadowRoot!.textContent ?? '');
    expect(report).toMatch(/CASE-1/);
    expect(report).toMatch(/Ann Examiner/);
    expect(await page.getAttribute('#save-report', 'href')).toMatch(/^blob:/);
    expect(requests).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  it('in full mode recomputes the flat hashes as custody verify --full does', async () => {
    const v = await verifyInPage(page, built.url, good, FP, { mode: 'full' });
    const cli = cliVerdict(good, '--full');
    expect(v.ok).toBe(true);
    expect(comparable(v.checks)).toEqual(comparable(cli.doc.verdict.checks));
    expect(v.checks.find((c) => c.id === 'manifest.md5')?.detail).toBe('2 file(s) match');
  });

  it('a bundle sealed with --piece 0 is verified in full with the streaming hashers (every algorithm), as by the CLI', async () => {
    const v = await verifyInPage(page, built.url, unpieced, FP);
    const cli = cliVerdict(unpieced);
    expect(cli.code).toBe(0);
    expect(v.ok).toBe(true);
    expect(v.checks.find((c) => c.id === 'verify.mode')?.detail).toMatch(/^full .*\(the piece size is 0: no piece hashes to check against\)$/);
    expect(comparable(v.checks)).toEqual(comparable(cli.doc.verdict.checks));
    expect(v.checks.filter((c) => c.id.startsWith('manifest.')).map((c) => c.id)).toEqual(['manifest.md5', 'manifest.sha1', 'manifest.sha256', 'manifest.sha512', 'manifest.sha3-256', 'manifest.blake3']);
  });

  it('a tampered copy: the same failed check, member, item and piece byte range as the CLI', async () => {
    const c = cases.find((x) => x.id === 'flipped data byte in the second piece')!;
    const f = path.join(dir, 'tampered.tar');
    fs.writeFileSync(f, c.bytes);
    for (const mode of ['pieces', 'full'] as const) {
      const v = await verifyInPage(page, built.url, f, FP, { mode });
      const cli = cliVerdict(f, ...(mode === 'full' ? ['--full'] : []));
      expect(cli.code).toBe(1);
      expect(v.ok).toBe(false);
      expect(v.headline).toMatch(/^NOT VERIFIED/);
      expect(v.failed).toBe(cli.doc.verdict.failedCheck);
      expect(v.failed).toBe(mode === 'pieces' ? 'payload.pieces' : 'manifest.md5');
      expect(v.member).toBe(cli.doc.error!.member);
      expect(v.item).toBe('disk01');
      expect(v.range).toBe(`bytes ${cli.doc.error!.range![0]}-${cli.doc.error!.range![1]}`);
      expect(v.range).toBe(`bytes ${PIECE}-${2 * PIECE - 1}`);
      expect(comparable(v.checks)).toEqual(comparable(cli.doc.verdict.checks));
    }
  });

  it('every hostile bundle: the same verdict, failed check id and member in the page as in the core in Node', async () => {
    expect(cases.length).toBeGreaterThan(30);
    const differ: string[] = [];
    for (const [i, c] of cases.entries()) {
      // A file of its own for each case: a file chosen once and rewritten is not the file chosen.
      const f = path.join(dir, `hostile-${i}.tar`);
      fs.writeFileSync(f, c.bytes);
      const want = await nodeVerdict(c.bytes, 'pieces');
      const got: PageVerdict = await verifyInPage(page, built.url, f, FP, { reload: i === 0 });
      const a = { ok: got.ok, failed: got.failed, member: got.member, range: got.range, message: got.message };
      const b = {
        ok: want.ok,
        failed: want.failed,
        // The page shows a forged name as the terminal does (escaped: core/text.ts), never raw.
        member: want.error?.member === undefined ? undefined : escapeText(want.error.member),
        range: want.error?.range ? `bytes ${want.error.range[0]}-${want.error.range[1]}` : undefined,
        message: want.error?.message,
      };
      if (JSON.stringify(a) !== JSON.stringify(b)) differ.push(`${c.id}: page ${JSON.stringify(a)} node ${JSON.stringify(b)}`);
      else if (JSON.stringify(comparable(got.checks)) !== JSON.stringify(comparable(want.checks))) differ.push(`${c.id}: checks differ`);
      expect(want.ok, c.id).toBe(false);
    }
    expect(differ).toEqual([]);
    expect(requests).toEqual([]);
  }, 420_000);

  it('the re-sealed bundle is refused at seal.trust, and the page says the typed fingerprint is not the sealer’s', async () => {
    const c = cases.find((x) => x.id === 're-sealed by an untrusted key')!;
    const f = path.join(dir, 'mallory.tar');
    fs.writeFileSync(f, c.bytes);
    const v = await verifyInPage(page, built.url, f, FP);
    expect(v.failed).toBe('seal.trust');
    expect(v.hint).toContain(groupedFingerprint(FP));
    expect(v.hint).toContain(groupedFingerprint(MALLORY.identity.fingerprint));
  });

  it('a 16-digit key id is refused as a trust anchor, with a hint, before anything is read', async () => {
    await page.goto(built.url);
    await page.setInputFiles('#bundle', good);
    await page.fill('#fp', SEALER.identity.keyid.toUpperCase());
    await page.click('#verify');
    await expect.poll(() => page.textContent('#fp-error')).toMatch(/key id: it names a key but cannot make it trusted — ask the sealer for the full fingerprint/);
    expect(await page.getAttribute('#fp', 'aria-invalid')).toBe('true');
    expect(await page.isHidden('#result')).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('fp');
  });

  it('without a fingerprint nothing is trusted: the page asks for one, or reports VERIFIED with the sealer NOT trusted when told to go on', async () => {
    await page.goto(built.url);
    await page.setInputFiles('#bundle', good);
    await page.click('#verify');
    await expect.poll(() => page.textContent('#fp-error')).toMatch(/Type the sealer's fingerprint/);
    expect(await page.isHidden('#result')).toBe(true);
    await page.check('#untrusted');
    await page.click('#verify');
    await page.waitForSelector('#result:not([hidden])');
    const v = await readVerdict(page);
    const cli = runCli(['--json', 'verify', good, '--allow-untrusted'], { env: { CUSTODY_HOME: path.join(dir, 'home-empty') } });
    expect(v.ok).toBe(true);
    expect(v.checks.find((c) => c.id === 'seal.trust')?.detail).toBe('NOT trusted (accepted with --allow-untrusted)');
    expect(comparable(v.checks)).toEqual(comparable(JSON.parse(cli.stdout).verdict.checks));
    expect(await page.textContent('#scope')).toMatch(/NOT trusted/);
  });

  it('prints the report alone: the Print button hides the form and the verdict, and the printed pages are the court form', async () => {
    await verifyInPage(page, built.url, good, FP);
    // Headless Chromium has no print dialog: print() is caught, then the page is printed to PDF as the dialog would.
    await page.evaluate(() => {
      (window as unknown as { printedWith: string }).printedWith = '';
      window.print = () => {
        (window as unknown as { printedWith: string }).printedWith = document.documentElement.className;
      };
    });
    await page.click('#print');
    expect(await page.evaluate(() => (window as unknown as { printedWith: string }).printedWith)).toBe('print-report');
    await page.emulateMedia({ media: 'print' });
    expect(await page.isVisible('#form')).toBe(false);
    expect(await page.isVisible('#result')).toBe(false);
    const text = pdfPages(await page.pdf({ format: 'A4' }), dir).join('\n');
    expect(text).toMatch(/Chain of custody form/);
    expect(text).toMatch(/CASE-1/);
    expect(text).not.toMatch(/offline bundle verifier|Verify the bundle|How thoroughly/);
    await page.emulateMedia({ media: 'screen' });
  });

  it('works from the keyboard alone: Tab to the file, Tab to the fingerprint, Enter, and the verdict takes the focus', async () => {
    await page.goto(built.url);
    await page.bringToFront();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('bundle');
    // The file chooser is the operating system's; the test hands the file over as the chooser would.
    await page.setInputFiles('#bundle', good);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('fp');
    await page.keyboard.type(groupedFingerprint(FP).replace(/ /g, ':'));
    await page.keyboard.press('Enter');
    await page.waitForSelector('#result:not([hidden])');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('headline');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toMatch(/^VERIFIED +good\.tar/);
    // The button is reachable too: Tab on from the fingerprint past the options.
    await page.focus('#fp');
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      seen.push(await page.evaluate(() => document.activeElement?.id || (document.activeElement as HTMLInputElement)?.name || ''));
    }
    expect(seen).toContain('verify');
    const labels = await page.evaluate(() => ['bundle', 'fp'].map((id) => document.querySelector(`label[for=${id}]`)?.textContent));
    expect(labels[0]).toMatch(/bundle/);
    expect(labels[1]).toMatch(/fingerprint/);
  });
});
