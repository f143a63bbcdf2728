/**
 * The chain-of-custody form from a model: what a judge reads on page 1, the
 * timeline, a signature block per hand-over, the seizure and acquisition
 * block, the footer on every printed page, the languages, and names in
 * scripts other than Latin rendered with real glyphs (not empty boxes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { renderReportHtml } from '../src/cli/report/html.js';
import { CATALOGUES, parseLangs } from '../src/cli/report/i18n/index.js';
import { en } from '../src/cli/report/i18n/en.js';
import { CustodyError } from '../src/core/errors.js';
import type { ReportModel } from '../src/ops/report/model.js';
import { buildReportModel } from '../src/ops/report/build-model.js';
import type { BundleVerdict } from '../src/bundle/verify.js';
import type { CustodyManifest } from '../src/bundle/custody-manifest.js';
import { haveChromium, launchChromium } from './helpers/browser.js';
import { tempDir } from './helpers/cli.js';
import { pdfPages } from './helpers/pdf.js';
import { clerk, examiner, foreign, richModel } from './helpers/report-model.js';

/** A model whose data is all French, so any English word left on a French form is a label. */
function frenchDataModel(): ReportModel {
  const m = richModel();
  m.case = { id: 'AFF-2026-041', title: 'Intrusion par rançongiciel', authority: 'Commission rogatoire 12/2026' };
  m.items[0]!.description = 'Disque interne de l’ordinateur portable';
  m.items[1]!.description = 'Photographies extraites du téléphone';
  m.items[1]!.meta = { marque: 'Pomme' };
  m.items[0]!.meta = { seized_at: '2026-11-20T09:15:00+01:00', seized_by: 'Insp. Marie Dubois', seized_from: 'Jean Martin', location: 'Lyon', tool: 'Guymager', write_blocker: 'Tableau' };
  m.items[0]!.acquisition = { examinatrice: 'Marie Dubois' };
  m.verdict.results = [{ ok: true, check: 'charge', detail: 'conforme' }];
  m.records = m.records.map((r) => ({ ...r, location: 'Lyon', ...(r.reason ? { reason: 'demande d’entraide' } : {}), ...(r.authority ? { authority: 'convention' } : {}) }));
  m.records[2]!.condition = 'scellés intacts';
  m.records[2]!.verification = { verified: true, trusted: true };
  return m;
}

describe('report languages', () => {
  it('every shipped catalogue translates every English label (only words the same in both languages may stay)', () => {
    const sameAllowed: Record<string, string[]> = { fr: ['handSignature', 'date'], de: ['name'], es: ['bytes'] };
    for (const [code, cat] of Object.entries(CATALOGUES)) {
      expect(Object.keys(cat).sort()).toEqual(Object.keys(en).sort());
      for (const v of Object.values(cat)) expect(v.trim().length).toBeGreaterThan(0);
      if (code === 'en') continue;
      const same = Object.keys(en).filter((k) => cat[k as keyof typeof en] === en[k as keyof typeof en]);
      expect(same.sort(), `labels left in English in ${code}`).toEqual((sameAllowed[code] ?? []).sort());
      // Placeholders survive translation.
      for (const k of Object.keys(en) as (keyof typeof en)[]) {
        expect(cat[k].match(/\{\w+\}/g)?.sort() ?? [], `${code}.${k}`).toEqual(en[k].match(/\{\w+\}/g)?.sort() ?? []);
      }
    }
  });

  it('an unknown language is a usage error naming the shipped ones; more than two or a repeat is refused', () => {
    const err = (() => {
      try {
        parseLangs('xx');
      } catch (e) {
        return e as CustodyError;
      }
      return undefined;
    })();
    expect(err?.code).toBe('USAGE');
    expect(err?.message).toMatch(/"xx".*en, fr, de, es/);
    expect(() => parseLangs('en,fr,de')).toThrow(/one language or two/);
    expect(() => parseLangs('fr,fr')).toThrow(/one language or two/);
    expect(parseLangs('EN, fr').map((l) => l.code)).toEqual(['en', 'fr']);
  });

  it('the French form keeps no English label: no English label text in the HTML, data as written', () => {
    const html = renderReportHtml(frenchDataModel(), { langs: parseLangs('fr') });
    const visible = html
      .replace(/<style>[\s\S]*?<\/style>/, '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&');
    const allowedSame = new Set([en.handSignature, en.date]);
    for (const [k, label] of Object.entries(en)) {
      if (allowedSame.has(label)) continue;
      const french = CATALOGUES.fr![k as keyof typeof en];
      for (const part of label.split(/\{\w+\}/).map((p) => p.trim()).filter((p) => /[A-Za-z]{2,}/.test(p))) {
        const re = new RegExp(`(^|[^\\p{L}])${part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\p{L}])`, 'u');
        if (re.test(french)) continue; // the same word in French ("page")
        expect(re.test(visible), `English label ${k} ("${part}") on the French form`).toBe(false);
      }
    }
    expect(html).toContain('<html lang="fr">');
    expect(visible).toContain('Chronologie de la possession');
    expect(visible).toContain('demande d’entraide');
    expect(visible).toContain('山田 太郎');
  });

  it('a bilingual form gives every label in both languages and the data once', () => {
    const html = renderReportHtml(richModel(), { langs: parseLangs('en,fr') });
    expect(html).toContain(`${en.timeline}<span class="l2" lang="fr">${CATALOGUES.fr!.timeline}</span>`);
    expect(html).toContain(`${en.releasedBy}<span class="l2" lang="fr">${CATALOGUES.fr!.releasedBy}</span>`);
    expect(html.split('MLA request 2026/77 to Japan').length - 1).toBe(2); // the timeline row and the hand-over heading
  });
});

describe('the report model', () => {
  it("carries an item's acquisition record from the manifest (flattened), kind and source apart from --meta, and the verdict's trust", () => {
    const manifest = {
      custodyBundleVersion: 1,
      bundleName: 'b',
      case: { id: 'C-1' },
      sealedAt: '2026-11-27T14:00:00.000Z',
      tool: { name: 'custody', version: '0.1.0' },
      algorithms: ['md5'],
      pieceSize: 0,
      sealer: { name: 'Ana', keyid: 'a'.repeat(16), fingerprint: 'a'.repeat(64), publicKey: '' },
      items: [
        {
          id: 'disk',
          kind: 'file',
          source: '/cases/disk.E01',
          meta: { seized_by: 'Insp. Dubois' },
          emptyDirectories: [],
          acquisition: { examiner: 'Marie', stored: { md5: 'f'.repeat(32), matched: true }, segments: ['disk.E01'] },
        },
      ],
      files: [{ path: 'data/disk/disk.E01', item: 'disk', size: 3, mtime: '2026-11-27T14:00:00.000Z', hashes: { md5: '1'.repeat(32) } }],
    } as unknown as CustodyManifest;
    const verdict: BundleVerdict = {
      ok: true,
      bundleDigest: 'd'.repeat(64),
      sealer: { keyid: 'a'.repeat(16), fingerprint: 'a'.repeat(64), trusted: false },
      checks: [{ check: 'payload', ok: true, detail: 'all match' }],
      manifest,
    };
    const m = buildReportModel(verdict, { file: 'b.tar', generatedAt: '2026-11-28T00:00:00.000Z', toolVersion: '0.1.0' });
    expect(m.items[0]).toMatchObject({ kind: 'file', source: '/cases/disk.E01', meta: { seized_by: 'Insp. Dubois' } });
    expect(m.items[0]!.acquisition).toEqual({ examiner: 'Marie', 'stored.md5': 'f'.repeat(32), 'stored.matched': 'true', 'segments.0': 'disk.E01' });
    expect(m.verdict).toMatchObject({ trusted: false, results: [{ check: 'payload', ok: true, detail: 'all match' }] });
    expect(m.sealTool).toEqual({ name: 'custody', version: '0.1.0' });
    const html = renderReportHtml(m);
    expect(html).toContain(en.verdictUntrusted.replace(/'/g, '&#39;'));
    expect(html).toMatch(/stored\.md5[\s\S]*f{32}/);
  });
});

describe('the form (HTML)', () => {
  it('a hostile case id stays text in the title, the page and the CSS footer', () => {
    const m = richModel();
    m.case.id = `X"}</style><script>alert(1)</script>\\`;
    const html = renderReportHtml(m);
    expect(html).not.toContain('<script>');
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    expect(style).not.toMatch(/<|"\}/);
    expect(style).toContain('\\3c script\\3e ');
  });

  it('--files none leaves the file list out and says where the hashes are', () => {
    const html = renderReportHtml(richModel(), { files: 'none' });
    expect(html).not.toContain('id="files"');
    expect(html).not.toContain('IMG_0001.jpg');
    expect(html).toContain(en.filesLeftOut.replace(/'/g, '&#39;'));
    expect(renderReportHtml(richModel())).toContain('IMG_0001.jpg');
  });
});

// In CI chromium is installed by .ci/run, so a missing browser fails there instead of skipping.
describe.skipIf(!haveChromium() && !process.env.CI)('the form in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    browser = await launchChromium();
    dir = tempDir('custody-form-');
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(m: ReportModel, opts: Parameters<typeof renderReportHtml>[1] = {}, b: Browser = browser): Promise<Page> {
    const file = path.join(dir, `form-${Math.random().toString(36).slice(2)}.html`);
    fs.writeFileSync(file, renderReportHtml(m, opts));
    const page = await b.newPage();
    await page.goto(`file://${file}`);
    return page;
  }

  it('page 1 alone gives the verdict, case, authority, items with hashes, sealer and fingerprint, current custodian', async () => {
    const page = await open(richModel());
    const pages = pdfPages(await page.pdf({ preferCSSPageSize: true }), dir);
    const p1 = pages[0]!;
    for (const s of ['VERIFIED', 'CASE-2026-041', 'Warrant 12/2026, Tribunal judiciaire de Lyon', 'laptop-disk', 'Internal SSD of the suspect laptop', '1'.repeat(32), '3'.repeat(64), 'phone-export', '3 files', 'Ana Examiner', 'a'.repeat(64), 'Zoë Ψαλίδη-Иванова', 'c'.repeat(64), 'd'.repeat(64)]) {
      expect(p1, s).toContain(s);
    }
    expect(p1).toMatch(/Current custodian\s+handed over to Zoë/);
    expect(p1).not.toContain('Custody timeline');
    await page.close();
  });

  it('the timeline has one row per record, UTC and local times, the receiver’s verification in its own column', async () => {
    const page = await open(richModel());
    const head = await page.locator('#timeline thead th').allInnerTexts();
    expect(head[9]).toBe("Receiver's verification");
    const rows = page.locator('#timeline tbody tr');
    expect(await rows.count()).toBe(4);
    const cells = async (i: number): Promise<string[]> => rows.nth(i).locator('td').allInnerTexts();
    const receive = await cells(2);
    expect(receive[2]).toMatch(/^2026-11-28 01:20:00 UTC\n2026-11-28 10:20:00 \+09:00 \(local\)$/);
    expect(receive[8]).toBe('seal intact');
    expect(receive[9]).toMatch(/^verified\ncustody 0\.1\.0$/);
    expect((await cells(1))[9]).toBe('—');
    expect((await cells(1))[2]).toBe('2026-11-27 15:10:00 UTC');
    await page.close();
  });

  it('a released-by and received-by block for every hand-over, with name, role, fingerprint and lines to sign', async () => {
    const page = await open(richModel());
    const blocks = page.locator('#signatures .handover');
    expect(await blocks.count()).toBe(3); // two hand-overs and a blank one for the next
    const first = await blocks.nth(0).innerText();
    expect(first).toMatch(/Released by[\s\S]*Ana Examiner[\s\S]*examiner[\s\S]*a{64}[\s\S]*2026-11-27 15:10:00 UTC[\s\S]*Signature[\s\S]*Date[\s\S]*Received by[\s\S]*山田 太郎[\s\S]*検事[\s\S]*b{64}[\s\S]*2026-11-28 01:20:00 UTC/);
    const second = await blocks.nth(1).innerText();
    expect(second).toMatch(/Released by[\s\S]*山田 太郎[\s\S]*Received by[\s\S]*Zoë Ψαλίδη-Иванова[\s\S]*c{64}[\s\S]*Signed record\s*not recorded/);
    expect(await page.locator('#signatures .line').count()).toBe(12);
    await page.close();
  });

  it('the seizure and acquisition block shows the --meta facts and the image’s own record', async () => {
    const page = await open(richModel());
    const block = await page.locator('.acquisition[data-item="laptop-disk"]').innerText();
    expect(block).toMatch(/Seized at\s+2026-11-20T09:15:00\+01:00 \(= 2026-11-20 08:15:00 UTC\)/);
    expect(block).toMatch(/Seized by\s+Insp\. Marie Dubois/);
    expect(block).toMatch(/Seized from\s+Jean Martin, 12 rue de la Paix, Lyon/);
    expect(block).toMatch(/Place of seizure\s+Lyon, suspect home office/);
    expect(block).toMatch(/Acquisition tool\s+Guymager 0\.8\.13/);
    expect(block).toMatch(/Write blocker\s+Tableau T35u/);
    expect(block).toMatch(/Other facts recorded at sealing\s+serial: S4EVNX0N/);
    expect(block).toMatch(/Acquisition recorded in the image[\s\S]*stored\.md5\s+f{32}/);
    const other = await page.locator('.acquisition[data-item="phone-export"]').innerText();
    expect(other).toMatch(/Seized at\s+not recorded/);
    await page.close();
  });

  it('every printed page is footed with the case id and "page x of y"; no hash or time is broken across lines', async () => {
    const m = richModel(400);
    const page = await open(m);
    const pages = pdfPages(await page.pdf({ preferCSSPageSize: true }), dir);
    expect(pages.length).toBeGreaterThan(3);
    pages.forEach((text, i) => {
      expect(text).toMatch(new RegExp(`Case CASE-2026-041\\s+page ${i + 1} of ${pages.length}\\s*$`));
    });
    const all = pages.join('\n');
    for (const f of m.items.flatMap((it) => it.files)) for (const h of Object.values(f.hashes)) expect(all).toContain(h);
    for (const p of [examiner, foreign, clerk]) expect(all).toContain(p.fingerprint);
    for (const t of ['2026-11-27 14:00:00 UTC', '2026-11-28 10:20:00 +09:00', '2026-11-28 02:00:00 UTC']) expect(all).toContain(t);
    await page.close();
  });

  it('the French form is footed in French; a bilingual one in both', async () => {
    const fr = pdfPages(await (await open(frenchDataModel(), { langs: parseLangs('fr') })).pdf({ preferCSSPageSize: true }), dir);
    fr.forEach((t, i) => expect(t).toMatch(new RegExp(`Affaire AFF-2026-041\\s+page ${i + 1} sur ${fr.length}\\s*$`)));
    expect(fr.join('')).not.toMatch(/ of \d/);
    const bi = pdfPages(await (await open(richModel(), { langs: parseLangs('en,de') })).pdf({ preferCSSPageSize: true }), dir);
    bi.forEach((t, i) => expect(t).toMatch(new RegExp(`Case CASE-2026-041 / Verfahren CASE-2026-041\\s+page ${i + 1} of ${bi.length} / Seite ${i + 1} von ${bi.length}\\s*$`)));
  });

  it('Japanese names are drawn with real glyphs: distinct characters look distinct, unlike a render with no CJK font', async () => {
    // A fontconfig that knows only DejaVu: there, CJK characters fall back to the same empty box.
    const conf = path.join(dir, 'fonts.conf');
    fs.mkdirSync(path.join(dir, 'fc-cache'), { recursive: true });
    fs.writeFileSync(conf, `<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>${path.join(dir, 'fc-cache')}</cachedir></fontconfig>`);
    const noCjk = await launchChromium({ env: { ...(process.env as Record<string, string>), FONTCONFIG_FILE: conf } });
    const chars = [...'山田太郎検'];
    /** Screenshots of each character drawn in the font the form's custodian table uses for the name. */
    const glyphs = async (b: Browser): Promise<string[]> => {
      const page = await open(richModel(), {}, b);
      const cell = page.locator('#custodians tbody tr', { hasText: '山田' }).locator('td').first();
      expect(await cell.innerText()).toBe(foreign.name);
      await cell.evaluate((td, cs) => {
        td.textContent = '';
        for (const c of cs) {
          const s = document.createElement('span');
          s.textContent = c;
          s.style.cssText = 'display:inline-block;font-size:48px;line-height:60px;width:64px;text-align:center';
          td.appendChild(s);
        }
      }, chars);
      const out: string[] = [];
      for (let i = 0; i < chars.length; i++) out.push((await cell.locator('span').nth(i).screenshot()).toString('base64'));
      await page.close();
      return out;
    };
    try {
      const without = await glyphs(noCjk);
      expect(new Set(without).size, 'the method must see boxes when the font is missing').toBe(1);
      const withFont = await glyphs(browser);
      expect(new Set(withFont).size).toBe(chars.length);
      for (const g of withFont) expect(without).not.toContain(g);
    } finally {
      await noCjk.close();
    }
  });
});
