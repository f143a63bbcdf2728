/**
 * The form as a court gets it: a bundle of 3,001 files, sealed, handed over
 * and received through the built CLI, its report printed to PDF by Chromium
 * and read back with pdftotext (poppler-utils). The custody timeline and the
 * signature blocks must come before the file list (pages 1–3), every page
 * must carry the case id and "page x of y", and --files none must stay short.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { haveChromium, launchChromium } from './helpers/browser.js';
import { runCli, tempDir } from './helpers/cli.js';
import { pdfPages } from './helpers/pdf.js';

const CASE_ID = 'CASE-2026-3001';
let dir: string;
let bundle: string;
let examinerPub: string;

function ok(args: string[], home: string): string {
  const r = runCli(['--home', home, ...args]);
  if (r.code !== 0) throw new Error(`custody ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  dir = tempDir('custody-report-pdf-');
  const exHome = path.join(dir, 'ex');
  const auHome = path.join(dir, 'au');
  ok(['key', 'new', '--name', 'Ana Examiner', '--org', 'Police Lab', '--role', 'examiner', '--no-passphrase', '--out', path.join(dir, 'ana')], exHome);
  ok(['key', 'new', '--name', '山田 太郎', '--org', '東京地方検察庁', '--role', '検事', '--no-passphrase', '--out', path.join(dir, 'taro')], auHome);
  examinerPub = path.join(dir, 'ana.pub');
  const tree = path.join(dir, 'export');
  for (let i = 0; i < 3001; i++) {
    const sub = path.join(tree, `d${String(Math.floor(i / 100)).padStart(2, '0')}`);
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${String(i).padStart(4, '0')}.txt`), `file ${i}\n`);
  }
  bundle = path.join(dir, 'big.tar');
  ok(['seal', tree, '--out', bundle, '--case', CASE_ID, '--item', 'export', '--description', 'phone file export', '--authority', 'Warrant 12/2026', '--key', path.join(dir, 'ana.key'), '--meta', 'seized_by=Insp. Dubois'], exHome);
  ok(['transfer', bundle, '--to', path.join(dir, 'taro.pub'), '--reason', 'MLA request 7', '--location', 'Lyon', '--key', path.join(dir, 'ana.key')], exHome);
  ok(['receive', bundle, '--trust', examinerPub, '--condition', 'seal intact', '--location', '東京', '--key', path.join(dir, 'taro.key')], auHome);
}, 180_000);

describe('custody report (CLI options)', () => {
  it('an unknown --lang is a usage error listing the shipped languages, before anything is verified or written', () => {
    const out = path.join(dir, 'xx.html');
    const r = runCli(['report', bundle, '--html', out, '--lang', 'xx', '--trust', examinerPub]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('custody: no report language "xx"; shipped: en, fr, de, es\n');
    expect(fs.existsSync(out)).toBe(false);
    expect(runCli(['report', bundle, '--html', out, '--files', 'some']).code).toBe(2);
  });
});

// In CI chromium and poppler-utils are installed by .ci/run, so a missing tool fails there instead of skipping.
describe.skipIf(!haveChromium() && !process.env.CI)('the 3,001-file report printed to PDF', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function printed(args: string[]): Promise<string[]> {
    const out = path.join(dir, `r-${args.join('-').replace(/[^a-z]/g, '')}.html`);
    const r = runCli(['report', bundle, '--html', out, '--trust', examinerPub, '--force', ...args]);
    expect(r.code, r.stderr).toBe(0);
    const page = await browser.newPage();
    await page.goto(`file://${out}`);
    const pdf = await page.pdf({ preferCSSPageSize: true });
    await page.close();
    return pdfPages(pdf, dir);
  }

  it('puts the timeline and every signature block on pages 1–3, the file list after, and foots every page', async () => {
    const pages = await printed([]);
    console.log(`3,001-file report: ${pages.length} pages (A4 landscape)`);
    const pageOf = (s: string): number => pages.findIndex((p) => p.includes(s)) + 1;
    expect(pageOf('VERIFIED')).toBe(1);
    expect(pages[0]).toMatch(/Current custodian\s+山田 太郎[\s,]+検事[\s,]+東京地方検察庁/); // pdftotext may set the commas apart from CJK text
    expect(pageOf('Custody timeline')).toBeGreaterThan(0);
    expect(pageOf('Custody timeline')).toBeLessThanOrEqual(3);
    expect(pageOf('Hand-over 1')).toBeLessThanOrEqual(3);
    expect(pageOf('Next hand-over')).toBeLessThanOrEqual(3); // the last signature block
    expect(pageOf('Appendix: files')).toBeGreaterThan(pageOf('Next hand-over'));
    for (const needle of ['data/export/d00/f0000.txt', 'data/export/d30/f3000.txt']) expect(pageOf(needle)).toBeGreaterThan(0);
    pages.forEach((text, i) => {
      expect(text, `page ${i + 1}`).toMatch(new RegExp(`Case ${CASE_ID}\\s+page ${i + 1} of ${pages.length}\\s*$`));
    });
    expect(pages.length).toBeLessThan(100); // the file list is compact: one line per file
  }, 180_000);

  it('--files none prints on fewer than 5 pages, footed the same way', async () => {
    const pages = await printed(['--files', 'none']);
    console.log(`3,001-file report with --files none: ${pages.length} pages`);
    expect(pages.length).toBeLessThan(5);
    expect(pages.join('')).not.toContain('f0000.txt');
    pages.forEach((text, i) => expect(text).toMatch(new RegExp(`Case ${CASE_ID}\\s+page ${i + 1} of ${pages.length}\\s*$`)));
  }, 120_000);

  it('in French, every page is footed "page x sur y" and the timeline is still on pages 1–3', async () => {
    const pages = await printed(['--lang', 'fr', '--files', 'none']);
    expect(pages.findIndex((p) => p.includes('Chronologie de la possession')) + 1).toBeLessThanOrEqual(3);
    pages.forEach((text, i) => expect(text).toMatch(new RegExp(`Affaire ${CASE_ID}\\s+page ${i + 1} sur ${pages.length}\\s*$`)));
  }, 120_000);
});
