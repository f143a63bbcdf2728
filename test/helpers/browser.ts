/** Debian's Chromium driven by playwright-core, as the report test needs a real browser. */
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function haveChromium(): boolean {
  return fs.existsSync(CHROMIUM);
}

/** `env` replaces the browser's environment (e.g. a FONTCONFIG_FILE that hides some fonts); `args` are added flags. */
export async function launchChromium(opts: { env?: Record<string, string>; args?: string[] } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    ...(opts.env ? { env: opts.env } : {}),
    // Flags for running as root on a machine without network: no sandbox, no background fetches.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...(opts.args ?? []),
    ],
  });
}
