/**
 * Verifies a bundle in the offline verifier page and watches it while it
 * reads: a test that waits for the verdict alone waits out its whole timeout
 * (twenty minutes on 4 GiB) when the page stops reading, and then says only
 * "timeout". This one fails as soon as the bytes read stop moving for
 * `stallMs`, or the tab's renderer crashes, or the page throws, and says
 * which, with how far it got.
 */
import type { Page } from 'playwright-core';
import { readVerdict, type PageVerdict } from './verifier-page.js';

export interface WatchOptions {
  /** No new byte read (and no verdict) for this long fails the run. */
  stallMs: number;
  /** How often the progress bar is read; default 1 s. */
  pollMs?: number;
  mode?: 'pieces' | 'full';
  /** Called at each poll with the bytes read and the file's size (a progress log, an RSS sample). */
  onPoll?: (read: number, total: number) => void;
}

interface Progress {
  read: number;
  total: number;
  done: boolean;
}

function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** Loads `url` afresh, chooses `bundle`, types `fingerprint`, presses Verify and waits for the verdict while the page keeps reading. */
export async function verifyWatched(page: Page, url: string, bundle: string, fingerprint: string, o: WatchOptions): Promise<PageVerdict> {
  const events: string[] = [];
  let crashed = false;
  const onCrash = (): void => {
    crashed = true;
    events.push('the renderer crashed');
  };
  const onError = (e: Error): void => void events.push(`page error: ${e.message}`);
  const onConsole = (m: { type(): string; text(): string }): void => {
    if (m.type() === 'error') events.push(`console error: ${m.text()}`);
  };
  page.on('crash', onCrash);
  page.on('pageerror', onError);
  page.on('console', onConsole);
  try {
    await page.goto(url);
    await page.setInputFiles('#bundle', bundle);
    await page.fill('#fp', fingerprint);
    if (o.mode === 'full') await page.check('input[name=mode][value=full]');
    await page.click('#verify');
    const poll = o.pollMs ?? 1000;
    const started = Date.now();
    let last: Progress = { read: -1, total: 0, done: false };
    let lastMoved = Date.now();
    for (;;) {
      const now = await progress(page, poll + o.stallMs);
      const why = (what: string): Error =>
        new Error(
          `the verifier page ${what}: ${mib(Math.max(last.read, 0))} of ${mib(last.total)} read after ${((Date.now() - started) / 1000).toFixed(0)} s` +
            (events.length ? ` (${events.slice(0, 5).join('; ')})` : ' (no crash, no page error, no console error)'),
        );
      if (now === undefined) await new Promise((r) => setTimeout(r, 1000)); // a crash event may trail the failed evaluate
      if (crashed) throw why('crashed');
      if (now === undefined) throw why(`stopped answering for ${(poll + o.stallMs) / 1000} s`);
      if (now.done) return await readVerdict(page);
      if (now.read !== last.read) lastMoved = Date.now();
      last = now;
      o.onPoll?.(now.read, now.total);
      if (Date.now() - lastMoved > o.stallMs) throw why(`stopped reading for ${(o.stallMs / 1000).toFixed(0)} s`);
      await new Promise((r) => setTimeout(r, poll));
    }
  } finally {
    page.off('crash', onCrash);
    page.off('pageerror', onError);
    page.off('console', onConsole);
  }
}

/** The progress bar's value and maximum, and whether the verdict is up; undefined if the page does not answer within `ms` or is gone. */
async function progress(page: Page, ms: number): Promise<Progress | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([
      page
        .evaluate(() => {
          const bar = document.querySelector('#bar') as HTMLProgressElement;
          return { read: bar.value, total: bar.max, done: !(document.querySelector('#result') as HTMLElement).hidden };
        })
        .catch(() => undefined),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
