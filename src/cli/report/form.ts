/**
 * The chain-of-custody form as one self-contained HTML file that prints on
 * A4: a first page a judge can read alone, the custody timeline, a signature
 * block for every hand-over, the seizure and acquisition facts of every item,
 * the custodians, the checks, and the file list as a compact appendix.
 *
 * Threats it guards against: bundle text is attacker-controlled, so every
 * value is HTML-escaped, and the case id that the print footer repeats on
 * every page is CSS-escaped (a case id of `"}</style><script>` must stay
 * text); no script, no network (CSP default-src 'none'): an exhibit must
 * print the same in ten years and must not phone home when a clerk opens it.
 * Labels come from the catalogues in ./i18n; data stays as written.
 */
import { escapeText } from '../../core/text.js';
import { SIGNER_NOT_VERIFIED, UNKNOWN } from '../../ops/report/build-model.js';
import { currentCustodian, handovers, splitMeta, uniqueParties, type Handover, type SeizureKey } from './custody-state.js';
import { fill, parseLangs, type Lang, type LabelKey } from './i18n/index.js';
import type { ReportItem, ReportModel, ReportParty, ReportRecord } from '../../ops/report/model.js';

export interface FormOptions {
  /** One language or two (bilingual form); default English. */
  langs?: Lang[];
  /** The file list appendix: `all` (default) or `none`. */
  files?: 'all' | 'none';
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  // Controls and bidi overrides from a bundle are shown as \u202E, never applied (the one text rule, core/text.ts).
  return escapeText(s, '').replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}
const e = escapeHtml;

/** A CSS string literal holding `s` as text whatever it contains (every unusual code point as a hex escape). */
export function cssString(s: string): string {
  return `"${s.replace(/[^A-Za-z0-9 _.,:()+-]/gu, (c) => `\\${c.codePointAt(0)!.toString(16)} `)}"`;
}

class Labels {
  constructor(readonly langs: Lang[]) {}

  /** A label as HTML: the first language, and the second in a span the CSS sets apart. */
  html(key: LabelKey, values?: Record<string, string | number>): string {
    return this.langs
      .map((l, i) => {
        const text = e(values ? fill(l.labels[key], values) : l.labels[key]);
        return i === 0 ? text : `<span class="l2" lang="${e(l.code)}">${text}</span>`;
      })
      .join('');
  }

  /** Like html() but the values are already HTML (escaped data with markup). */
  htmlWith(key: LabelKey, values: Record<string, string>): string {
    return this.langs
      .map((l, i) => {
        const text = e(l.labels[key]).replace(/\{(\w+)\}/g, (all, k: string) => values[k] ?? all);
        return i === 0 ? text : `<span class="l2" lang="${e(l.code)}">${text}</span>`;
      })
      .join('');
  }

  /** Something said differently in each language (e.g. a count with its unit), joined as labels are. */
  perLang(fn: (l: Lang) => string): string {
    return this.langs.map((l, i) => (i === 0 ? e(fn(l)) : `<span class="l2" lang="${e(l.code)}">${e(fn(l))}</span>`)).join('');
  }

  text(key: LabelKey, values?: Record<string, string | number>): string {
    return this.langs.map((l) => (values ? fill(l.labels[key], values) : l.labels[key])).join(' / ');
  }

  /** The footer's "page x of y" as a CSS content value, in every language. */
  pageCounter(): string {
    return this.langs
      .map((l) =>
        l.labels.footerPage
          .split(/(\{page\}|\{pages\})/)
          .filter((p) => p !== '')
          .map((p) => (p === '{page}' ? 'counter(page)' : p === '{pages}' ? 'counter(pages)' : cssString(p)))
          .join(' '),
      )
      .join(' " / " ');
  }
}

/** `7.00 MiB (7 340 032 bytes)`, the unit word in the form's first language (or the one given). */
function formatBytes(n: number, L: Labels, lang: Lang = L.langs[0]!): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  const bytes = `${n.toLocaleString('en-US').replace(/,/g, '\u202f')} ${lang.labels.bytes}`;
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i < 0 ? bytes : `${v.toFixed(2)} ${units[i]} (${bytes})`;
}

const ISO_UTC = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)Z$/;
const OFFSET = /^([+-])(\d\d):?(\d\d)$/;

/** A stored time shown for reading, never broken across lines: `2026-11-27 14:03:00.000 UTC`. */
function utcTime(at: string, L: Labels): string {
  const m = ISO_UTC.exec(at);
  if (!m) return `<span class="nb">${dataText(at, L)}</span>`;
  // To the second: the exact signed value is in the record and in the CASE export.
  return `<span class="nb">${m[1]} ${m[2]!.slice(0, 8)} UTC</span>`;
}

/** The same instant at the record's own UTC offset, when one is known. */
function localTime(at: string, offset: string | undefined): string | undefined {
  const o = offset === undefined ? null : OFFSET.exec(offset);
  const t = Date.parse(at);
  if (!o || Number.isNaN(t)) return undefined;
  const minutes = (o[1] === '-' ? -1 : 1) * (Number(o[2]) * 60 + Number(o[3]));
  const local = new Date(t + minutes * 60_000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)} ${o[1]}${o[2]}:${o[3]}`;
}

/** A time the examiner typed (seized_at): as written, and in UTC when it names its offset. */
function writtenTime(v: string): string {
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/.test(v.trim());
  const t = Date.parse(v);
  if (!hasZone || Number.isNaN(t)) return e(v);
  const iso = new Date(t).toISOString();
  return `<span class="nb">${e(v)}</span> <span class="small nb">(= ${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC)</span>`;
}

/** Data as written, except the builder's stand-ins for what the bundle does not say. */
function dataText(v: string, L: Labels): string {
  if (v === UNKNOWN) return L.html('unknown');
  if (v === SIGNER_NOT_VERIFIED) return L.html('signerNotVerified');
  return e(v);
}

function opt(v: string | undefined, L: Labels): string {
  return v && v.length > 0 ? dataText(v, L) : '—';
}

function hexText(v: string, L: Labels): string {
  return `<span class="mono nb">${dataText(v, L)}</span>`;
}

function who(p: ReportParty, L: Labels): string {
  return [p.name, p.role, p.org]
    .filter((x): x is string => !!x && x.length > 0)
    .map((x) => dataText(x, L))
    .join(', ');
}

function party(p: ReportParty | undefined, L: Labels): string {
  if (!p) return '—';
  // The label may wrap (it is long in some languages); the key id never does.
  return `${who(p, L)}<br><span class="mono small key">${L.html('key')} <span class="nb">${dataText(p.keyid, L)}</span></span>`;
}

const ACTION_LABEL: Record<string, LabelKey> = { seal: 'actionSeal', transfer: 'actionTransfer', receive: 'actionReceive' };

function actionText(a: string, L: Labels): string {
  const k = ACTION_LABEL[a];
  return k ? L.html(k) : e(a);
}

function verificationCell(r: ReportRecord, L: Labels): string {
  const v = r.verification;
  if (!v) return '—';
  const parts = [v.verified ? `<span class="ok">${L.html('verified')}</span>` : `<span class="bad">${L.html('notVerified')}</span>`];
  if (!v.trusted) parts.push(`<span class="bad">${L.html('sealerNotTrusted')}</span>`);
  // The receiver's full message (it names the digest) is printed in the hand-over's signature block, where it fits.
  const detail = [v.code, v.tool].filter((x): x is string => !!x).map(e);
  if (detail.length) parts.push(`<span class="small">${detail.join('<br>')}</span>`);
  return parts.join('<br>');
}

/** The receiver's verification in full, for the signature block. */
function verificationText(v: ReportRecord['verification'], L: Labels): string {
  if (!v) return '';
  const status = v.verified ? `<span class="ok">${L.html('verified')}</span>` : `<span class="bad">${L.html('notVerified')}</span>`;
  const trust = v.trusted ? '' : `, <span class="bad">${L.html('sealerNotTrusted')}</span>`;
  const detail = [v.code, v.message, v.tool].filter((x): x is string => !!x).map(e).join('; ');
  return `${status}${trust}${detail ? ` <span class="small">(${detail})</span>` : ''}`;
}

function recordRow(r: ReportRecord, L: Labels): string {
  const sig = r.signatureOk
    ? `<span class="ok">${L.html('verified')}</span>`
    : `<span class="bad">${L.html('notVerified')}</span>${r.problem ? `<br><span class="small">${e(r.problem)}</span>` : ''}`;
  const local = localTime(r.at, r.utcOffset);
  const when = `${utcTime(r.at, L)}${local ? `<br><span class="nb">${e(local)}</span> <span class="small">(${L.html('localTime')})</span>` : ''}`;
  const note = r.note ? `<br><span class="small">${L.html('note')}: ${e(r.note)}</span>` : '';
  return `<tr>
  <td class="num">${r.seq}</td><td>${actionText(r.action, L)}</td><td class="when">${when}</td>
  <td>${party(r.by, L)}</td><td>${party(r.to, L)}</td>
  <td>${opt(r.location, L)}</td><td>${opt(r.reason, L)}${note}</td><td>${opt(r.authority, L)}</td><td>${opt(r.condition, L)}</td>
  <td>${verificationCell(r, L)}</td><td>${sig}</td>
</tr>`;
}

/** An item's media hashes on the first page: its one file's hashes, or how many files it holds. */
function itemHashes(it: ReportItem, L: Labels): string {
  const lines: string[] = [];
  if (it.files.length === 1) {
    for (const [alg, hex] of Object.entries(it.files[0]!.hashes)) lines.push(`<span class="nb">${e(alg)}: ${hexText(hex, L)}</span>`);
  }
  for (const [k, v] of Object.entries(it.acquisition ?? {})) {
    if (/(md5|sha-?1|sha-?256|sha-?512|hash|digest)/i.test(k)) lines.push(`<span class="nb">${e(k)}: ${hexText(v, L)}</span>`);
  }
  return lines.length ? lines.join('<br>') : '—';
}

function itemSize(it: ReportItem, L: Labels): string {
  const total = it.files.reduce((s, f) => s + f.size, 0);
  const key = it.files.length === 1 ? 'fileCountOne' : 'fileCount';
  return L.perLang((l) => fill(l.labels[key], { count: it.files.length.toLocaleString('en-US').replace(/,/g, '\u202f'), size: formatBytes(total, L, l) }));
}

function summaryItems(m: ReportModel, L: Labels): string {
  if (m.items.length === 0) return `<p>${L.html('noItems')}</p>`;
  const rows = m.items
    .map((it) => `<tr><td class="mono nb">${e(it.id)}</td><td>${opt(it.description, L)}</td><td>${itemHashes(it, L)}</td><td>${itemSize(it, L)}</td></tr>`)
    .join('\n');
  return `<table id="items"><thead><tr><th>${L.html('item')}</th><th>${L.html('description')}</th><th>${L.html('mediaHashes')}</th><th>${L.html('files')}</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

function custodianText(m: ReportModel, L: Labels): string {
  const c = currentCustodian(m);
  if (!c) return L.html('unknown');
  const fp = `<br>${hexText(c.party.fingerprint, L)}`;
  if (c.inTransit) return `${L.htmlWith('inTransitTo', { name: who(c.party, L) })}${fp}`;
  return `${who(c.party, L)}${fp}`;
}

function verdictText(m: ReportModel, L: Labels): string {
  if (!m.verdict.ok) return L.html('verdictNotVerified');
  return m.verdict.trusted === false ? L.html('verdictUntrusted') : L.html('verdictVerified');
}

function firstPage(m: ReportModel, L: Labels): string {
  const tool = `custody ${m.toolVersion}`;
  return `<section id="summary">
<h1>${L.html('title')}</h1>
<p class="case-line">${L.html('case')} <strong>${e(m.case.id)}</strong>${m.case.title ? ` — ${e(m.case.title)}` : ''}</p>
<div class="verdict ${m.verdict.ok ? 'ok' : 'bad'}" id="verdict">${verdictText(m, L)}${
    m.verdict.problem ? `<br><span class="small">${e(m.verdict.problem)}</span>` : ''
  }</div>
<dl class="facts">
<dt>${L.html('case')}</dt><dd>${e(m.case.id)}</dd>
<dt>${L.html('caseTitle')}</dt><dd>${opt(m.case.title, L)}</dd>
<dt>${L.html('authority')}</dt><dd id="authority">${opt(m.case.authority, L)}</dd>
<dt>${L.html('bundle')}</dt><dd><span class="mono">${dataText(m.bundle.name, L)}</span> (${e(m.bundle.file)}${m.bundle.sizeBytes !== undefined ? `, ${e(formatBytes(m.bundle.sizeBytes, L))}` : ''})</dd>
<dt>${L.html('bundleDigest')}</dt><dd class="mono nb" id="digest">${dataText(m.bundle.digest, L)}</dd>
<dt>${L.html('sealedBy')}</dt><dd>${who(m.sealer, L)}${m.sealedAt ? `, ${utcTime(m.sealedAt, L)}` : ''}</dd>
<dt>${L.html('sealerFingerprint')}</dt><dd>${hexText(m.sealer.fingerprint, L)}</dd>
<dt>${L.html('currentCustodian')}</dt><dd id="custodian">${custodianText(m, L)}</dd>
<dt>${L.html('reportMade')}</dt><dd>${L.htmlWith('reportMadeBy', { time: utcTime(m.generatedAt, L), tool: e(tool) })}</dd>
</dl>
<h2>${L.html('items')}</h2>
${summaryItems(m, L)}
<p class="small">${L.html('summaryNote')}</p>
</section>`;
}

function timeline(m: ReportModel, L: Labels): string {
  const heads: LabelKey[] = ['seq', 'action', 'when', 'by', 'to', 'where', 'why', 'authority', 'condition', 'receiverVerification', 'recordSignature'];
  return `<section id="timeline-section">
<h2>${L.html('timeline')}</h2>
<table id="timeline"><colgroup><col class="c-seq"><col class="c-action"><col class="c-when"><col class="c-party"><col class="c-party"><col><col><col><col><col class="c-ver"><col class="c-sig"></colgroup>
<thead><tr>${heads.map((h) => `<th>${L.html(h)}</th>`).join('')}</tr></thead><tbody>
${m.records.map((r) => recordRow(r, L)).join('\n')}
</tbody></table>
</section>`;
}

function signatureSide(title: LabelKey, p: ReportParty | undefined, rec: ReportRecord | undefined, L: Labels): string {
  const field = (k: LabelKey, v: string, cls = ''): string => `<div class="field${cls}"><span class="lbl">${L.html(k)}</span> <span class="val">${v}</span></div>`;
  return `<div class="side">
<h4>${L.html(title)}</h4>
${field('name', p ? dataText(p.name, L) : '')}
${field('role', p ? opt(p.role, L) : '')}
${field('organisation', p ? opt(p.org, L) : '')}
${field('fingerprint', p ? hexText(p.fingerprint, L) : '', ' fp')}
${field('recordedAt', rec ? utcTime(rec.at, L) : p ? L.html('notRecorded') : '')}
${rec?.verification ? field('receiverVerification', verificationText(rec.verification, L)) : ''}
<div class="hand"><div class="line">${L.html('handSignature')}</div><div class="line">${L.html('date')}</div></div>
</div>`;
}

function signatureBlock(h: Handover, L: Labels): string {
  const to = h.transfer;
  return `<div class="handover">
<h3>${L.html('handover', { n: h.n })} — ${actionText('transfer', L)} #${to.seq}${to.reason ? `: ${e(to.reason)}` : ''}</h3>
<div class="sides">
${signatureSide('releasedBy', h.releasedBy, to, L)}
${signatureSide('receivedBy', h.receivedBy, h.receive, L)}
</div>
</div>`;
}

function signatures(m: ReportModel, L: Labels): string {
  const blocks = handovers(m).map((h) => signatureBlock(h, L));
  blocks.push(`<div class="handover blank">
<h3>${L.html('nextHandover')}</h3>
<div class="sides">${signatureSide('releasedBy', undefined, undefined, L)}${signatureSide('receivedBy', undefined, undefined, L)}</div>
</div>`);
  return `<section id="signatures">
<h2>${L.html('signatures')}</h2>
${blocks.join('\n')}
</section>`;
}

const SEIZURE_LABEL: Record<SeizureKey, LabelKey> = {
  seized_at: 'seizedAt',
  seized_by: 'seizedBy',
  seized_from: 'seizedFrom',
  location: 'seizureLocation',
  tool: 'acquisitionTool',
  write_blocker: 'writeBlocker',
};

function acquisitionBlock(it: ReportItem, L: Labels): string {
  const { seizure, other } = splitMeta(it.meta);
  const rows = (Object.keys(SEIZURE_LABEL) as SeizureKey[]).map((k) => {
    const v = seizure[k];
    const shown = v === undefined ? `<span class="muted">${L.html('notRecorded')}</span>` : k === 'seized_at' ? writtenTime(v) : e(v);
    return `<dt>${L.html(SEIZURE_LABEL[k])}</dt><dd>${shown}</dd>`;
  });
  if (it.source !== undefined) rows.push(`<dt>${L.html('sealedFrom')}</dt><dd class="mono">${e(it.source)}</dd>`);
  const others = other.length ? `<dt>${L.html('otherFacts')}</dt><dd>${other.map(([k, v]) => `${e(k)}: ${e(v)}`).join('; ')}</dd>` : '';
  const acq = Object.entries(it.acquisition ?? {});
  const image = acq.length
    ? `<h4>${L.html('imageAcquisition')}</h4><dl class="facts acq">${acq.map(([k, v]) => `<dt class="mono">${e(k)}</dt><dd>${/^[0-9a-f]{32,}$/i.test(v) ? hexText(v, L) : e(v)}</dd>`).join('')}</dl>`
    : '';
  return `<div class="acquisition" data-item="${e(it.id)}">
<h3>${L.html('item')} <span class="mono">${e(it.id)}</span>${it.description ? ` — ${e(it.description)}` : ''}</h3>
<dl class="facts">${rows.join('')}${others}</dl>
${image}
</div>`;
}

function custodians(m: ReportModel, L: Labels): string {
  return `<section id="custodians-section">
<h2>${L.html('custodians')}</h2>
<table id="custodians"><thead><tr><th>${L.html('name')}</th><th>${L.html('organisation')}</th><th>${L.html('role')}</th><th>${L.html('fingerprintLong')}</th></tr></thead><tbody>
${uniqueParties(m)
  .map((p) => `<tr><td>${dataText(p.name, L)}</td><td>${opt(p.org, L)}</td><td>${opt(p.role, L)}</td><td>${hexText(p.fingerprint, L)}</td></tr>`)
  .join('\n')}
</tbody></table>
</section>`;
}

function checks(m: ReportModel, L: Labels): string {
  const items = m.verdict.results
    ? m.verdict.results.map((c) => `<li><span class="${c.ok ? 'ok' : 'bad'}">${L.html(c.ok ? 'checkOk' : 'checkFailed')}</span> — ${e(c.check)}: ${e(c.detail)}</li>`)
    : m.verdict.checks.map((c) => `<li>${e(c)}</li>`);
  return `<section id="checks">
<h2>${L.html('checks')}</h2>
<ul>${items.join('')}</ul>
<p class="small">${L.html('stockTools')}</p>
</section>`;
}

function appendix(m: ReportModel, L: Labels, files: 'all' | 'none'): string {
  if (files === 'none') return `<section id="appendix"><h2>${L.html('appendix')}</h2><p>${L.html('filesLeftOut')}</p></section>`;
  const algs = m.algorithms ?? Object.keys(m.items.find((it) => it.files.length)?.files[0]?.hashes ?? {});
  // One line per file where the page is wide enough; hashes wrap between each other, never inside one.
  const rows: string[] = [];
  for (const it of m.items) {
    for (const f of it.files) {
      const hs = algs.map((a) => f.hashes[a]).filter((h): h is string => h !== undefined);
      rows.push(`<tr><td class="p">${e(f.path)}</td><td class="num nb">${f.size}</td><td class="h">${hs.map((h) => `<span>${e(h)}</span>`).join(' ')}</td></tr>`);
    }
  }
  return `<section id="appendix" class="list">
<h2>${L.html('appendix')}</h2>
<table id="files"><thead><tr><th>${L.html('file')}</th><th>${L.html('size')}</th><th>${algs.map(e).join(' · ')}</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
</section>`;
}

const FONT_SERIF = `"Noto Serif", "DejaVu Serif", "Liberation Serif", "Noto Serif CJK JP", "Noto Sans CJK JP", "Noto Naskh Arabic", "Noto Sans Arabic", "DejaVu Sans", serif`;
const FONT_SANS = `"Noto Sans", "DejaVu Sans", "Liberation Sans", "Noto Sans CJK JP", "Noto Sans Arabic", sans-serif`;
const FONT_MONO = `"DejaVu Sans Mono", "Liberation Mono", "Noto Sans Mono CJK JP", monospace`;

function css(m: ReportModel, L: Labels): string {
  return `
  body { font: 10pt/1.3 ${FONT_SERIF}; margin: 2em auto; max-width: 1150px; color: #111; }
  h1 { font: bold 17pt/1.2 ${FONT_SANS}; margin: 0 0 .2em; }
  h2 { font: bold 12.5pt/1.2 ${FONT_SANS}; border-bottom: 1px solid #999; margin: 1.2em 0 .4em; }
  h3 { font: bold 10.5pt/1.2 ${FONT_SANS}; margin: .8em 0 .3em; } h4 { font: bold 9.5pt ${FONT_SANS}; margin: .2em 0 .3em; }
  .l2 { font-style: italic; font-weight: normal; } .l2::before { content: " / "; font-style: normal; }
  th .l2, h4 .l2 { display: block; } th .l2::before, h4 .l2::before { content: none; }
  .bi dl.facts { grid-template-columns: 24em 1fr; }
  table { border-collapse: collapse; width: 100%; margin: .4em 0; }
  th, td { border: 1px solid #999; padding: 3px 5px; vertical-align: top; text-align: left; }
  th { background: #eee; font-family: ${FONT_SANS}; font-size: 8.5pt; }
  .mono, .h, .p { font-family: ${FONT_MONO}; }
  .nb, .h span { white-space: nowrap; word-break: keep-all; overflow-wrap: normal; hyphens: none; }
  .small { font-size: 8pt; } .num { text-align: right; } .muted { color: #666; font-style: italic; }
  .verdict { padding: .5em 1em; border: 2px solid; font: bold 13pt ${FONT_SANS}; margin: .6em 0; }
  .verdict.ok { border-color: #1a7f37; color: #1a7f37; } .verdict.bad { border-color: #b00020; color: #b00020; }
  .ok { color: #1a7f37; font-weight: bold; } .bad { color: #b00020; font-weight: bold; }
  dl.facts { display: grid; grid-template-columns: 15em 1fr; gap: 2px 1em; margin: .4em 0; } dt { font-weight: bold; } dd { margin: 0; }
  dl.acq { grid-template-columns: 20em 1fr; font-size: 9pt; }
  #items td:nth-child(3) { font-size: 8.5pt; }
  #timeline { table-layout: fixed; font-size: 8.5pt; } #timeline td { overflow-wrap: anywhere; }
  #timeline .c-seq { width: 2.4em; } #timeline .c-action { width: 8.5em; } #timeline .c-when { width: 16em; }
  #timeline .c-party { width: 11em; } #timeline .c-ver { width: 8.5em; } #timeline .c-sig { width: 6.5em; }
  #timeline .key { font-size: 7pt; }
  #timeline td.when { overflow-wrap: normal; }
  .handover { border: 1px solid #999; padding: .3em .8em .6em; margin: .6em 0; break-inside: avoid; }
  .sides { display: grid; grid-template-columns: 1fr 1fr; gap: 2em; }
  .field { margin: .15em 0; } .field .lbl { font: bold 8.5pt ${FONT_SANS}; } .field .lbl .l2 { font-weight: normal; }
  .field.fp .val { display: block; font-size: 8.5pt; }
  .hand { display: grid; grid-template-columns: 2fr 1fr; gap: 1.5em; margin-top: 2.2em; }
  .hand .line { border-top: 1px solid #111; padding-top: .2em; font-size: 8.5pt; }
  .acquisition { break-inside: avoid; }
  #checks ul { margin: .2em 0; padding-left: 1.5em; font-size: 8.5pt; line-height: 1.25; }
  #files { font-size: 6.8pt; line-height: 1.2; } #files th, #files td { padding: 1px 3px; }
  #files td.p { overflow-wrap: anywhere; word-break: break-all; }
  #summary { break-after: page; }
  @page { size: A4 landscape; margin: 12mm 12mm 15mm;
    @bottom-left { content: ${cssString(L.langs.map((l) => fill(l.labels.footerCase, { id: m.case.id === UNKNOWN ? l.labels.unknown : m.case.id })).join(' / '))}; font: 8pt ${FONT_SANS}; color: #333; }
    @bottom-right { content: ${L.pageCounter()}; font: 8pt ${FONT_SANS}; color: #333; } }
  @media print {
    body { margin: 0; max-width: none; font-size: 9.5pt; }
    tr, .verdict, .handover { break-inside: avoid; } h2, h3 { break-after: avoid; }
    #appendix.list { break-before: page; }
  }
`;
}

export function renderForm(m: ReportModel, o: FormOptions = {}): string {
  const L = new Labels(o.langs ?? parseLangs('en'));
  const lang = L.langs[0]!.code;
  return `<!DOCTYPE html>
<html lang="${e(lang)}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${e(L.text('title'))} — ${e(L.text('case'))} ${e(m.case.id)} — ${e(m.bundle.name)}</title>
<style>${css(m, L)}</style></head>
<body${L.langs.length > 1 ? ' class="bi"' : ''}>
${firstPage(m, L)}
${timeline(m, L)}
${signatures(m, L)}
<section id="seizure">
<h2>${L.html('seizure')}</h2>
${m.items.map((it) => acquisitionBlock(it, L)).join('\n') || `<p>${L.html('noItems')}</p>`}
</section>
${custodians(m, L)}
${checks(m, L)}
${appendix(m, L, o.files ?? 'all')}
</body></html>
`;
}
