/**
 * Drives the offline verifier page (dist/custody-verifier.html, rebuilt first)
 * in Debian's Chromium from a file:// URL, the way a receiving authority uses
 * it: choose the bundle, type the fingerprint, press the button, read the
 * verdict off the page.
 */
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
// @ts-expect-error the build script is plain JavaScript (no types)
import { buildVerifierPage } from '../../scripts/build-verifier.mjs';

export interface PageBuild {
  file: string;
  url: string;
  sha256: string;
}

export async function buildPage(): Promise<PageBuild> {
  const r = (await buildVerifierPage()) as { file: string; sha256: string };
  return { file: r.file, url: pathToFileURL(r.file).href, sha256: r.sha256 };
}

export interface PageVerdict {
  ok: boolean;
  failed?: string;
  headline: string;
  checks: { id: string; ok: boolean; check: string; detail: string }[];
  member?: string;
  item?: string;
  range?: string;
  message?: string;
  hint?: string;
  timeline: string[];
  seconds: number;
}

export async function readVerdict(page: Page): Promise<PageVerdict> {
  return page.evaluate(() => {
    const q = (s: string) => document.querySelector(s);
    const field = (name: string) => q(`#failure dd[data-field="${name}"]`)?.textContent ?? undefined;
    const result = q('#result') as HTMLElement;
    const rows = [...document.querySelectorAll('#checks tbody tr')] as HTMLElement[];
    const out: Record<string, unknown> = {
      ok: result.dataset.ok === 'true',
      headline: q('#headline')!.textContent ?? '',
      checks: rows.map((r) => ({ id: r.dataset.checkId!, ok: r.dataset.ok === 'true', check: r.cells[2]!.textContent!, detail: r.cells[3]!.textContent! })),
      timeline: [...document.querySelectorAll('#timeline tbody tr')].map((r) => r.textContent ?? ''),
      seconds: Number((q('#progress') as HTMLElement).dataset.seconds ?? 'NaN'),
    };
    if (result.dataset.failed) out.failed = result.dataset.failed;
    for (const k of ['member', 'item', 'range', 'message', 'hint']) {
      const v = field(k);
      if (v !== undefined) out[k] = v;
    }
    return out as unknown as PageVerdict;
  });
}

/** Loads the page (afresh unless reload: false), chooses `bundle`, types `fingerprint`, presses Verify, waits for the verdict. */
export async function verifyInPage(
  page: Page,
  url: string,
  bundle: string,
  fingerprint: string,
  o: { mode?: 'pieces' | 'full'; timeout?: number; reload?: boolean } = {},
): Promise<PageVerdict> {
  // Without a reload the same page verifies another file (the run hides the previous verdict first).
  if (o.reload !== false || page.url() !== url) await page.goto(url);
  await page.setInputFiles('#bundle', bundle);
  await page.fill('#fp', fingerprint);
  if (o.mode === 'full') await page.check('input[name=mode][value=full]');
  await page.click('#verify');
  await page.waitForSelector('#result:not([hidden])', { timeout: o.timeout ?? 30_000 });
  return readVerdict(page);
}

/**
 * Resident memory (MB) of the tab: the largest renderer process among those
 * of the browsers this process launched (Chromium also starts idle renderers
 * of its own), from /proc (Linux).
 */
export function tabRssMB(): number {
  let most = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      if (!isDescendant(Number(pid), process.pid)) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) most = Math.max(most, Number(m[1]) / 1024);
    } catch {
      /* gone meanwhile */
    }
  }
  return most;
}

/** Samples tabRssMB() every 100 ms until stopped; returns the peak. */
export function sampleTabRss(): { stop(): number } {
  let peak = tabRssMB();
  const timer = setInterval(() => (peak = Math.max(peak, tabRssMB())), 100);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, tabRssMB());
    },
  };
}

function isDescendant(pid: number, root: number): boolean {
  for (let p = pid, i = 0; p > 1 && i < 20; i++) {
    if (p === root) return true;
    const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return false;
}
