/**
 * `custody report` end to end: a real bundle sealed, transferred and received
 * through the built CLI, its report rendered in headless Chromium; a tampered
 * copy's report says NOT VERIFIED and the command exits 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { haveChromium, launchChromium } from './helpers/browser.js';
import { runCli, tempDir } from './helpers/cli.js';

interface Party {
  name: string;
  fingerprint: string;
  keyid: string;
  key: string;
  pub: string;
}

let dir: string;
let bundle: string;
let examiner: Party;
let authority: Party;
let digest: string;

function ok(args: string[], home: string): string {
  const r = runCli(['--home', home, ...args]);
  if (r.code !== 0) throw new Error(`custody ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

function newKey(name: string, org: string, home: string): Party {
  const base = path.join(dir, name.split(' ')[0]!.toLowerCase());
  const doc = JSON.parse(ok(['--json', 'key', 'new', '--name', name, '--org', org, '--no-passphrase', '--out', base], home));
  return { name, fingerprint: doc.fingerprint, keyid: doc.keyid, key: `${base}.key`, pub: `${base}.pub` };
}

function flipByteOf(file: string, needle: string): string {
  const copy = `${file}.tampered.tar`;
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(Buffer.from(needle));
  expect(at).toBeGreaterThan(0);
  bytes[at] ^= 0x20;
  fs.writeFileSync(copy, bytes);
  return copy;
}

beforeAll(() => {
  dir = tempDir('custody-report-');
  const exHome = path.join(dir, 'ex-home');
  const auHome = path.join(dir, 'au-home');
  examiner = newKey('Ana Examiner', 'Police Lab', exHome);
  authority = newKey('Bo Authority', 'Foreign MLA Office', auHome);
  const evidence = path.join(dir, 'disk.dd');
  fs.writeFileSync(evidence, Buffer.concat([Buffer.from('DISKSTART-unique-marker '), Buffer.alloc(200_000, 7)]));
  bundle = path.join(dir, 'case-41.tar');
  const seal = JSON.parse(
    ok(['--json', 'seal', evidence, '--case', '2026-041', '--out', bundle, '--key', examiner.key, '--item', 'laptop', '--description', 'Laptop SSD image', '--meta', 'serial=S4EVNX0N', '--authority', 'Warrant 12/2026'], exHome),
  );
  digest = seal.bundleDigest;
  ok(['transfer', bundle, '--to', authority.pub, '--reason', 'MLA request 7', '--location', 'Lab dispatch', '--key', examiner.key], exHome);
  ok(['receive', bundle, '--trust', examiner.pub, '--condition', 'seal intact', '--key', authority.key], auHome);
}, 60_000);

describe('custody report (CLI)', () => {
  it('writes a report of a verified bundle, refuses to overwrite it without --force', () => {
    const out = path.join(dir, 'plain.html');
    const r = runCli(['--json', 'report', bundle, '--html', out, '--trust', examiner.pub]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, verified: true, bundleDigest: digest, report: out });
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain(digest);
    expect(html).toContain('Laptop SSD image');
    expect(html).toContain('S4EVNX0N');
    expect(html).toContain('Warrant 12/2026');
    // No temporary file left beside it.
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.plain.html'))).toEqual([]);

    const again = runCli(['report', bundle, '--html', out, '--trust', examiner.pub]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^custody: .*already exists.*--force/);
    fs.writeFileSync(out, 'old');
    expect(runCli(['report', bundle, '--html', out, '--trust', examiner.pub, '--force']).code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toContain(digest);
  });

  it('an untrusted sealer fails (exit 1) unless --allow-untrusted, which the headline states', () => {
    const out = path.join(dir, 'untrusted.html');
    const r = runCli(['--home', path.join(dir, 'empty-home'), 'report', bundle, '--html', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^custody: .*not trusted/);
    expect(fs.readFileSync(out, 'utf8')).toContain('NOT VERIFIED');
    const out2 = path.join(dir, 'allowed.html');
    expect(runCli(['--home', path.join(dir, 'empty-home'), 'report', bundle, '--html', out2, '--allow-untrusted']).code).toBe(0);
    expect(fs.readFileSync(out2, 'utf8')).toContain('NOT trusted (accepted with --allow-untrusted)');
  });

  it('a missing bundle is a usage error and writes nothing', () => {
    const out = path.join(dir, 'none.html');
    const r = runCli(['report', path.join(dir, 'nope.tar'), '--html', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a truncated bundle still gets a report that says NOT VERIFIED (exit 1)', () => {
    const cut = path.join(dir, 'cut.tar');
    fs.writeFileSync(cut, fs.readFileSync(bundle).subarray(0, 5000));
    const out = path.join(dir, 'cut.html');
    const r = runCli(['report', cut, '--html', out, '--trust', examiner.pub]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^custody: /);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain('NOT VERIFIED');
    expect(html).toContain('(unknown)');
  });
});

// In CI chromium is installed by .ci/run, so a missing browser fails there instead of skipping.
describe.skipIf(!haveChromium() && !process.env.CI)('custody report in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows VERIFIED, the digest, every custodian with fingerprint and the whole timeline', async () => {
    const out = path.join(dir, 'report.html');
    expect(runCli(['report', bundle, '--html', out, '--trust', examiner.pub]).code).toBe(0);
    const page = await browser.newPage();
    await page.goto(`file://${out}`);
    expect((await page.locator('#verdict').innerText()).trim()).toBe('VERIFIED');
    expect(await page.locator('#digest').innerText()).toBe(digest);
    const body = await page.locator('body').innerText();
    for (const p of [examiner, authority]) {
      expect(body).toContain(p.name);
      expect(body).toContain(p.fingerprint);
    }
    const rows = await page.locator('#timeline tbody tr').allInnerTexts();
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/seal/);
    expect(rows[1]).toMatch(/transfer[\s\S]*Ana Examiner[\s\S]*Bo Authority[\s\S]*MLA request 7/);
    expect(rows[2]).toMatch(/receive[\s\S]*seal intact/);
    for (const row of rows) expect(row).toMatch(/verified/);
    expect(rows.join('\n')).not.toMatch(/NOT verified/);
    expect(await page.locator('#custodians tbody tr').count()).toBe(2);
    await page.close();
  });

  it("a tampered copy's report says NOT VERIFIED and names the damaged member; the command exits 1", async () => {
    const bad = flipByteOf(bundle, 'DISKSTART-unique-marker');
    const out = path.join(dir, 'tampered.html');
    const r = runCli(['report', bad, '--html', out, '--trust', examiner.pub]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^custody: .*data\/laptop\/disk\.dd/);
    expect(r.stdout).toContain(`wrote ${out}`);
    const page = await browser.newPage();
    await page.goto(`file://${out}`);
    const verdict = await page.locator('#verdict').innerText();
    expect(verdict).toMatch(/^NOT VERIFIED/);
    expect(verdict).toContain('data/laptop/disk.dd');
    await page.close();
  });
});
