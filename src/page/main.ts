/**
 * The verifier page's script: the form (a bundle chosen or dropped, the
 * sealer's fingerprint typed as it was read out), the run with its progress,
 * and the verdict check by check, the first failure, the custody timeline and
 * the printable report — everything the core says, shown as text.
 *
 * Threat guarded against: bundle text is attacker-controlled. It reaches the
 * page only through textContent (never innerHTML) and through the report form,
 * which escapes every value itself; the report's markup is parsed inert
 * (DOMParser runs no script) and shown in a shadow root. The page's CSP
 * (default-src 'none', this script allowed by its hash) keeps it offline.
 */
import { humanBytes } from '../core/bytes.js';
import { groupedFingerprint } from '../custody/ed25519.js';
import { escapeText } from '../core/text.js';
import type { BundleVerdict } from '../bundle/verify.js';
import { buildReportModel } from '../ops/report/build-model.js';
import { renderReportHtml } from '../cli/report/html.js';
import { fileChunks, RateMeter } from './file-source.js';
import { parseFingerprintInput } from './fingerprint.js';
import { verifyWithFingerprint } from './verify-file.js';
import { WebHasher } from './web-hasher.js';

declare const __CUSTODY_VERSION__: string;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const form = $<HTMLFormElement>('form');
const input = $<HTMLInputElement>('bundle');
const fp = $<HTMLInputElement>('fp');
const fpError = $('fp-error');
const untrusted = $<HTMLInputElement>('untrusted');
const button = $<HTMLButtonElement>('verify');
const drop = $('drop');
const chosenText = $('chosen');
let chosen: File | undefined;
let running = false;
let reportSheet: CSSStyleSheet | undefined;

/** An element with text content only: the one way bundle text reaches the page. */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const n = document.createElement(tag);
  if (text !== undefined) n.textContent = escapeText(text, '');
  if (cls) n.className = cls;
  return n;
}


function choose(f: File | undefined): void {
  chosen = f;
  chosenText.textContent = f ? `${escapeText(f.name, '')} — ${humanBytes(f.size)}` : '';
}

input.addEventListener('change', () => choose(input.files?.[0]));
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) choose(f);
});

form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!running) void run();
});

function fieldError(target: HTMLElement, message: string): void {
  fpError.textContent = message;
  target.setAttribute('aria-invalid', 'true');
  target.focus();
}

async function run(): Promise<void> {
  fpError.textContent = '';
  fp.removeAttribute('aria-invalid');
  input.removeAttribute('aria-invalid');
  const file = chosen ?? input.files?.[0];
  if (!file) return fieldError(input, 'Choose the bundle file first.');
  const typed = parseFingerprintInput(fp.value);
  if (!typed.ok && !(typed.empty && untrusted.checked)) {
    const msg = typed.empty ? "Type the sealer's fingerprint, or tick “I have no fingerprint yet”." : `${typed.message}${typed.hint ? ` — ${typed.hint}` : ''}`;
    return fieldError(fp, msg);
  }
  running = true;
  button.disabled = true;
  $('result').hidden = true;
  $('report').hidden = true;
  const progress = $('progress');
  const bar = $<HTMLProgressElement>('bar');
  const text = $('progress-text');
  progress.hidden = false;
  bar.max = Math.max(1, file.size);
  bar.value = 0;
  const meter = new RateMeter();
  const started = performance.now();
  let shown = 0;
  let read = 0;
  const show = (force = false) => {
    const now = performance.now();
    if (!force && now - shown < 250) return;
    shown = now;
    const rate = meter.add(now, read);
    bar.value = read;
    text.textContent = `${humanBytes(read)} of ${humanBytes(file.size)} read — ${humanBytes(rate)}/s`;
  };
  const mode = (form.elements.namedItem('mode') as RadioNodeList).value === 'full' ? 'full' : 'pieces';
  try {
    const { verdict, bundleFingerprint } = await verifyWithFingerprint({
      source: fileChunks(file, {
        onRead: (done) => {
          read = done;
          show();
        },
      }),
      engine: new WebHasher(),
      mode,
      allowUntrusted: untrusted.checked && !typed.ok,
      ...(typed.ok ? { fingerprint: typed.fingerprint } : {}),
    });
    const seconds = (performance.now() - started) / 1000;
    show(true);
    text.textContent = `${humanBytes(file.size)} read in ${seconds.toFixed(1)} s — ${humanBytes(file.size / Math.max(seconds, 0.001))}/s`;
    progress.dataset.bytes = String(file.size);
    progress.dataset.seconds = String(seconds);
    showVerdict(verdict, file, typed.ok ? typed.fingerprint : undefined, bundleFingerprint);
    showReport(verdict, file);
    $('headline').focus();
  } catch (err) {
    // Not a verdict: the file could not be read (moved, unplugged) or an internal error.
    $('result').hidden = false;
    const h = $('headline');
    h.className = 'bad';
    h.textContent = 'COULD NOT CHECK';
    $('scope').textContent = `The file could not be read to the end: ${escapeText(String((err as Error)?.message ?? err), '')}`;
    h.focus();
  } finally {
    running = false;
    button.disabled = false;
  }
}

function row(dl: HTMLElement, term: string, value: string | Node, attr?: string): void {
  const dd = el('dd');
  if (typeof value === 'string') dd.textContent = escapeText(value, '');
  else dd.append(value);
  if (attr) dd.dataset.field = attr;
  dl.append(el('dt', term), dd);
}

function showVerdict(v: BundleVerdict, file: File, typedFp: string | undefined, bundleFp: string | undefined): void {
  const result = $('result');
  result.hidden = false;
  result.dataset.ok = String(v.ok);
  if (v.failed) result.dataset.failed = v.failed;
  else delete result.dataset.failed;
  const h = $('headline');
  h.className = v.ok ? 'ok' : 'bad';
  h.textContent = `${v.ok ? 'VERIFIED' : 'NOT VERIFIED'}  ${escapeText(file.name, '')}`;
  const scope: string[] = [];
  if (v.ok && v.sealer && !v.sealer.trusted) scope.push("The sealer's key is NOT trusted: no fingerprint was given. Confirm it with the sealer before relying on this bundle.");
  if (v.ok && v.mode === 'pieces') {
    scope.push('Pieces checked: every byte against the signed piece SHA-256s; the flat hashes (MD5, SHA-1 …) were not recomputed — choose “full” to attest them.');
  }
  $('scope').textContent = scope.join(' ');

  const failure = $('failure');
  failure.replaceChildren();
  failure.hidden = !v.error;
  if (v.error) {
    const e = v.error;
    failure.append(el('h3', 'First failure'));
    const dl = el('dl');
    row(dl, 'check', v.failed ?? '?', 'failed');
    row(dl, 'reason', e.message, 'message');
    if (e.member !== undefined) row(dl, 'member', e.member, 'member');
    if (e.item !== undefined) row(dl, 'item', e.item, 'item');
    if (e.range) row(dl, 'byte range', `bytes ${e.range[0]}-${e.range[1]}`, 'range');
    let hint = e.hint;
    if (v.failed === 'seal.trust') {
      hint =
        typedFp === undefined
          ? "type the sealer's fingerprint as it was read out to you (confirm it with the sealer, not from the bundle)"
          : bundleFp !== undefined
            ? `the fingerprint you typed (${groupedFingerprint(typedFp)}) is not the one of the key that sealed this bundle (${groupedFingerprint(bundleFp)}): do not accept the bundle until the sealer confirms which key they used`
            : hint;
    }
    if (hint) row(dl, 'what to do', hint, 'hint');
    failure.append(dl);
  }

  const dl = $('summary');
  dl.replaceChildren();
  if (v.bagName) row(dl, 'bundle', v.bagName);
  const mode = v.checks.find((k) => k.id === 'verify.mode');
  if (mode) row(dl, 'mode', mode.detail);
  if (v.bundleDigest) row(dl, 'bundle digest', v.bundleDigest, 'digest');
  if (v.caseId) row(dl, 'case', v.caseId);
  if (v.sealer) {
    row(dl, 'sealer', `${v.sealer.name ?? '?'} (key id ${v.sealer.keyid}), ${v.sealer.trusted ? 'trusted: the fingerprint you typed' : 'NOT trusted'}`);
    row(dl, 'fingerprint', groupedFingerprint(v.sealer.fingerprint));
  }
  if (v.files !== undefined) {
    const pieces = v.pieceSize ? `, pieces of ${humanBytes(v.pieceSize)}` : '';
    row(dl, 'evidence', `${v.files} file(s), ${humanBytes(v.bytes ?? 0)}; ${v.algorithms?.join(', ') ?? ''}${pieces}`);
  }
  if (v.chain?.records.length) {
    const last = v.chain.records[v.chain.records.length - 1]!;
    const state = v.chain.pendingTransfer ? `in transit to ${v.chain.pendingTransfer.to.name}` : v.chain.custodian ? `held by ${v.chain.custodian.name}` : 'unknown';
    row(dl, 'custody', `${state} (${v.chain.records.length} record(s), last: ${last.action})`);
  }

  const body = $('checks').querySelector('tbody')!;
  body.replaceChildren();
  for (const k of v.checks) {
    const tr = el('tr');
    tr.dataset.checkId = k.id;
    tr.dataset.ok = String(k.ok);
    tr.append(el('td', k.ok ? 'ok' : 'FAIL', k.ok ? 'r-ok' : 'r-bad'));
    const id = el('td');
    id.append(el('code', k.id));
    tr.append(id, el('td', k.check), el('td', k.detail));
    body.append(tr);
  }

  const tl = $('timeline');
  tl.replaceChildren();
  const records = v.chain?.records ?? [];
  if (records.length === 0) {
    tl.append(el('p', 'No custody record could be read.'));
    return;
  }
  const table = el('table', undefined, 'timeline');
  const head = el('tr');
  for (const c of ['#', 'action', 'at (UTC)', 'by', 'to', 'details', 'record']) {
    const th = el('th', c);
    th.scope = 'col';
    head.append(th);
  }
  table.append(el('thead'), el('tbody'));
  table.tHead!.append(head);
  for (const r of records) {
    const p = r.predicate;
    const tr = el('tr');
    tr.dataset.seq = String(r.seq);
    const who = (x: { name: string; org?: string; keyid: string } | undefined) => (x ? `${x.name}${x.org ? `, ${x.org}` : ''} (key id ${x.keyid})` : '');
    const details: string[] = [];
    for (const k of ['reason', 'authority', 'location', 'condition', 'note'] as const) if (p?.[k] !== undefined) details.push(`${k}: ${p[k]}`);
    if (p?.verification) details.push(`verified: ${p.verification.verified ? 'yes' : 'no'}, sealer ${p.verification.trusted ? 'trusted' : 'NOT trusted'}`);
    const detailCell = el('td', undefined, 'details');
    for (const d of details) detailCell.append(el('div', d));
    tr.append(
      el('td', String(r.seq).padStart(4, '0')),
      el('td', r.action),
      el('td', p?.at ?? '?'),
      el('td', p ? who(p.by) : '?'),
      el('td', p?.to ? who(p.to) : ''),
      detailCell,
      el('td', r.ok ? `ok${r.trusted ? ' (signer trusted)' : ''}` : `FAIL: ${r.message ?? r.code ?? 'broken'}`, r.ok ? 'r-ok' : 'r-bad'),
    );
    table.tBodies[0]!.append(tr);
  }
  tl.append(table);
}

/** The court form (the same renderer as `custody report`), parsed inert and shown in a shadow root. */
function showReport(v: BundleVerdict, file: File): void {
  const model = buildReportModel(v, { file: file.name, sizeBytes: file.size, generatedAt: new Date().toISOString(), toolVersion: __CUSTODY_VERSION__ });
  const html = renderReportHtml(model, { files: 'all' });
  // The form's <style> is taken out before parsing: even an inert document's <style> is held to the page's CSP.
  // form.ts CSS-escapes every bundle value in it, so its first </style> is the real end.
  const styleAt = /<style>([\s\S]*?)<\/style>/.exec(html);
  const css = styleAt?.[1] ?? '';
  const doc = new DOMParser().parseFromString(styleAt ? html.replace(styleAt[0], '') : html, 'text/html');
  reportSheet = new CSSStyleSheet();
  reportSheet.replaceSync(css);
  const host = $('report-view');
  const root = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
  root.adoptedStyleSheets = [reportSheet];
  root.replaceChildren(...[...doc.body.childNodes].map((n) => document.importNode(n, true)));
  const link = $<HTMLAnchorElement>('save-report');
  if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
  link.download = `${v.bagName ?? 'bundle'}-custody-report.html`;
  $('report').hidden = false;
}

$('print').addEventListener('click', () => {
  // The form's own print rules (A4 pages, footers) apply only while the report is printed.
  const root = document.documentElement;
  const before = document.adoptedStyleSheets;
  root.classList.add('print-report');
  if (reportSheet) document.adoptedStyleSheets = [...before, reportSheet];
  const restore = () => {
    root.classList.remove('print-report');
    document.adoptedStyleSheets = before;
    window.removeEventListener('afterprint', restore);
  };
  window.addEventListener('afterprint', restore);
  window.print();
});
