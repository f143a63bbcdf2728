#!/usr/bin/env node
/**
 * Builds the offline verifier page, dist/custody-verifier.html: src/page/*.ts
 * bundled by esbuild (with the verification core it imports) into ONE inline
 * script, src/page/page.css into one inline style, both pinned by their
 * SHA-256 in the page's Content-Security-Policy (default-src 'none': no
 * network, no other script or style). Build time only: custody itself reads
 * the finished page (custody verifier --out …).
 *
 * Threat guarded against: a page that could load or send anything, or run any
 * script but its own. esbuild builds for the browser platform, so an import of
 * a Node builtin anywhere in the page's import graph fails the build.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PAGE_OUT = path.join(ROOT, 'dist', 'custody-verifier.html');

const sha256b64 = (s) => crypto.createHash('sha256').update(s, 'utf8').digest('base64');

/** Text that would end or confuse an inline element if it appeared inside it. */
function assertInlineSafe(text, tag) {
  const bad = new RegExp(`</${tag}|<!--|<script`, 'i').exec(text);
  if (bad) throw new Error(`inline ${tag} would contain ${JSON.stringify(bad[0])} at ${bad.index}`);
}

export async function buildVerifierPage({ out = PAGE_OUT, minify = true } = {}) {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const js = await esbuild.build({
    entryPoints: [path.join(ROOT, 'src/page/main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    minify,
    legalComments: 'none',
    charset: 'ascii',
    define: { __CUSTODY_VERSION__: JSON.stringify(pkg.version) },
    logLevel: 'silent',
  });
  const script = js.outputFiles[0].text.trimEnd();
  const css = await esbuild.transform(fs.readFileSync(path.join(ROOT, 'src/page/page.css'), 'utf8'), { loader: 'css', minify, charset: 'ascii' });
  const style = css.code.trimEnd();
  assertInlineSafe(script, 'script');
  assertInlineSafe(style, 'style');
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${sha256b64(script)}'`,
    `style-src 'sha256-${sha256b64(style)}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const template = fs.readFileSync(path.join(ROOT, 'src/page/page.html'), 'utf8');
  const fill = { __CSP__: csp, __VERSION__: pkg.version, __STYLE__: style, __SCRIPT__: script };
  const html = template.replace(/__(CSP|VERSION|STYLE|SCRIPT)__/g, (m) => fill[m]);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, html);
  fs.renameSync(tmp, out);
  return { file: out, bytes: Buffer.byteLength(html), sha256: crypto.createHash('sha256').update(html).digest('hex') };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildVerifierPage().then(
    (r) => console.log(`${path.relative(ROOT, r.file)}  ${r.bytes} bytes  sha256 ${r.sha256}`),
    (e) => {
      console.error(`build-verifier: ${e.message ?? e}`);
      process.exit(1);
    },
  );
}
