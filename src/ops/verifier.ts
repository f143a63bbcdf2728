/**
 * The verifier use case: hands out the offline verifier page (DESIGN §2, §7),
 * built with custody (npm run build → dist/custody-verifier.html), and its
 * SHA-256 so a receiving authority can compare it with the one the sender or
 * a published list gives before opening it.
 *
 * Threat guarded against: handing out a damaged or altered page. Before it is
 * written, the page's inline script and style must be exactly those its
 * Content-Security-Policy pins by hash, and that policy must still forbid the
 * network (default-src 'none'); the copy is written under a temporary name
 * and renamed, never over an existing file without --force.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeFileAtomically } from '../bundle/atomic-output.js';
import { CustodyError } from '../core/errors.js';

export interface VerifierPageResult {
  file: string;
  bytes: number;
  sha256: string;
}

/** dist/custody-verifier.html beside the compiled CLI (under vitest, the sources' dist/). */
export function verifierPagePath(): string {
  const here = import.meta.url;
  return fileURLToPath(here.endsWith('.ts') ? new URL('../../dist/custody-verifier.html', here) : new URL('../custody-verifier.html', here));
}

const sha256b64 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64');

/** The page is the one the build made: one inline script and one style, each the one its CSP pins; no network allowed. */
export function checkVerifierPage(html: string): void {
  const damaged = (why: string): never => {
    throw new CustodyError('INTERNAL', `the verifier page of this installation is damaged: ${why}`, { hint: 'reinstall custody (or npm run build)' });
  };
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? damaged('no Content-Security-Policy');
  if (!csp.startsWith("default-src 'none'; ")) damaged("its policy does not start with default-src 'none'");
  // The script holds the report form's template (with a <style> of its own) but never "<script" or "</script".
  const script = /<script>([\s\S]*?)<\/script>/.exec(html);
  if (!script || (html.match(/<script/gi) ?? []).length !== 1) damaged('it must hold exactly one inline script');
  const style = /<style>([\s\S]*?)<\/style>/.exec(html.slice(0, html.indexOf('</head>')));
  if (!style) damaged('no inline style in its head');
  if (!csp.includes(`script-src 'sha256-${sha256b64(script![1]!)}'`)) damaged('its script is not the one its policy allows');
  if (!csp.includes(`style-src 'sha256-${sha256b64(style![1]!)}'`)) damaged('its style is not the one its policy allows');
}

export async function writeVerifierPage(req: { out: string; force?: boolean }): Promise<VerifierPageResult> {
  const source = verifierPagePath();
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(source);
  } catch {
    throw new CustodyError('INTERNAL', `the verifier page is missing from this installation (${source})`, { hint: 'run npm run build' });
  }
  checkVerifierPage(bytes.toString('utf8'));
  await writeFileAtomically(req.out, req.force === true, async (fd) => {
    fs.writeSync(fd, bytes);
  });
  return { file: req.out, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}
