import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { renderReportHtml, escapeHtml } from '../src/cli/report/html.js';
import type { ReportModel, ReportParty } from '../src/ops/report/model.js';
import { haveChromium, launchChromium } from './helpers/browser.js';
import { tempDir } from './helpers/cli.js';

const party = (name: string, org: string, n: string): ReportParty => ({
  name,
  org,
  role: 'examiner',
  keyid: n.repeat(16),
  fingerprint: n.repeat(64),
});

const examiner = party('Ana Examiner', 'Lab A', 'a');
const foreign = party('Bo Authority', 'Foreign MLA Office', 'b');
const prosecutor = party('<script>alert(1)</script> Cy', 'Prosecution', 'c');

const model: ReportModel = {
  generatedAt: '2026-11-27T15:00:00.000Z',
  toolVersion: '0.1.0',
  bundle: { name: 'case-41', digest: 'd'.repeat(64), file: 'case-41.tar', sizeBytes: 123456 },
  verdict: { ok: true, headline: 'VERIFIED', checks: ['payload hashes match the manifests', 'seal signature verifies'] },
  case: { id: '2026-041', title: 'Ransomware intrusion', authority: 'Warrant 12/2026' },
  sealer: examiner,
  sealedAt: '2026-11-27T14:00:00.000Z',
  items: [
    {
      id: 'laptop-disk',
      description: 'Internal SSD of the suspect laptop',
      meta: { make: 'Samsung', serial: 'S4EVNX0N' },
      files: [{ path: 'data/laptop-disk/disk.dd', size: 4096, hashes: { md5: '1'.repeat(32), sha256: '2'.repeat(64) } }],
    },
  ],
  records: [
    { seq: 0, action: 'seal', at: '2026-11-27T14:00:00.000Z', by: examiner, signatureOk: true, location: 'Lab A' },
    { seq: 1, action: 'transfer', at: '2026-11-27T14:10:00.000Z', by: examiner, to: foreign, reason: 'MLA request 7', signatureOk: true },
    { seq: 2, action: 'receive', at: '2026-11-27T14:20:00.000Z', by: foreign, condition: 'seals intact', signatureOk: true },
    { seq: 3, action: 'transfer', at: '2026-11-27T14:30:00.000Z', by: foreign, to: prosecutor, signatureOk: false, problem: 'signature does not verify' },
  ],
};

describe('HTML report (pure renderer)', () => {
  it('escapes bundle text', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const html = renderReportHtml(model);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });

  it('is self-contained: no external resources, no scripts', () => {
    const html = renderReportHtml(model);
    expect(html).not.toMatch(/<script|<link|src=|url\(|@import/i);
  });
});

// In CI chromium is installed by .ci/run, so a missing browser fails there instead of skipping.
describe.skipIf(!haveChromium() && !process.env.CI)('HTML report in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows the verdict, the digest and every custodian, and prints on A4', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, renderReportHtml(model));
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(`file://${file}`);
    expect(await page.locator('#verdict').innerText()).toContain('VERIFIED');
    expect(await page.locator('#digest').innerText()).toBe('d'.repeat(64));
    const custodians = await page.locator('#custodians tbody tr').allInnerTexts();
    expect(custodians).toHaveLength(3);
    const text = await page.locator('body').innerText();
    for (const p of [examiner, foreign, prosecutor]) {
      expect(text).toContain(p.name);
      expect(text).toContain(p.fingerprint);
    }
    expect(await page.locator('#timeline tbody tr').count()).toBe(4);
    expect(text).toContain('NOT verified');
    // The injected name is shown as text, not run.
    expect(await page.evaluate(() => document.querySelectorAll('script').length)).toBe(0);
    expect(requests).toEqual([]);
    const pdf = await page.pdf({ format: 'A4', landscape: true });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  });
});
