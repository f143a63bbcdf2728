/**
 * Renders the chain-of-custody form as one self-contained HTML file: inline
 * CSS, no scripts, no network (an exhibit must print the same in ten years and
 * must not phone home when a court clerk opens it). Every value from the bundle
 * is HTML-escaped: bundle fields are attacker-controlled text.
 */
import type { ReportModel, ReportParty, ReportRecord } from './model.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const e = escapeHtml;

function party(p: ReportParty | undefined): string {
  if (!p) return '—';
  const who = [p.name, p.role, p.org].filter((x): x is string => !!x && x.length > 0).map(e).join(', ');
  return `${who}<br><span class="mono small">key ${e(p.keyid)}</span>`;
}

function opt(v: string | undefined): string {
  return v && v.length > 0 ? e(v) : '—';
}

function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(2)} ${units[i]} (${n} bytes)`;
}

function recordRow(r: ReportRecord): string {
  const sig = r.signatureOk
    ? '<span class="ok">verified</span>'
    : `<span class="bad">NOT verified</span>${r.problem ? `<br><span class="small">${e(r.problem)}</span>` : ''}`;
  return `<tr>
  <td class="num">${r.seq}</td><td>${e(r.action)}</td><td class="mono small">${e(r.at)}</td>
  <td>${party(r.by)}</td><td>${party(r.to)}</td>
  <td>${opt(r.location)}</td><td>${opt(r.reason)}</td><td>${opt(r.authority)}</td><td>${opt(r.condition)}${r.note ? `<br><span class="small">${e(r.note)}</span>` : ''}</td>
  <td>${sig}</td>
</tr>`;
}

const CSS = `
  body { font: 11pt/1.4 "DejaVu Serif", Georgia, serif; margin: 2em auto; max-width: 1100px; color: #111; }
  h1 { font-size: 18pt; margin: 0 0 .2em; } h2 { font-size: 13pt; border-bottom: 1px solid #999; margin-top: 1.5em; }
  table { border-collapse: collapse; width: 100%; margin: .5em 0; }
  th, td { border: 1px solid #999; padding: 4px 6px; vertical-align: top; text-align: left; }
  th { background: #eee; }
  .mono { font-family: "DejaVu Sans Mono", monospace; word-break: break-all; }
  .small { font-size: 8.5pt; } .num { text-align: right; }
  .verdict { padding: .6em 1em; border: 2px solid; font-weight: bold; font-size: 13pt; margin: 1em 0; }
  .verdict.ok { border-color: #1a7f37; color: #1a7f37; } .verdict.bad { border-color: #b00020; color: #b00020; }
  .ok { color: #1a7f37; font-weight: bold; } .bad { color: #b00020; font-weight: bold; }
  dl { display: grid; grid-template-columns: 14em 1fr; gap: 2px 1em; } dt { font-weight: bold; } dd { margin: 0; }
  #timeline { table-layout: fixed; } #timeline td { overflow-wrap: anywhere; }
  #timeline th:nth-child(1) { width: 2em; } #timeline th:nth-child(2) { width: 5.5em; } #timeline th:nth-child(3) { width: 7.5em; }
  #timeline th:nth-child(10) { width: 6.5em; }
  .sign { margin-top: 2.5em; display: grid; grid-template-columns: 1fr 1fr; gap: 3em; }
  .sign div { border-top: 1px solid #111; padding-top: .3em; }
  @page { size: A4 landscape; margin: 14mm; }
  @media print { body { margin: 0; max-width: none; font-size: 9.5pt; } tr, .verdict { break-inside: avoid; } h2 { break-after: avoid; } }
`;

export function renderReportHtml(m: ReportModel): string {
  const items = m.items
    .map((it) => {
      const meta = Object.entries(it.meta)
        .map(([k, v]) => `${e(k)}: ${e(v)}`)
        .join('; ');
      const files = it.files
        .map(
          (f) =>
            `<tr><td class="mono small">${e(f.path)}</td><td class="num">${e(String(f.size))}</td><td class="mono small">${Object.entries(
              f.hashes,
            )
              .map(([alg, hex]) => `${e(alg)}: ${e(hex)}`)
              .join('<br>')}</td></tr>`,
        )
        .join('\n');
      return `<h3>Item ${e(it.id)}</h3>
<dl><dt>Description</dt><dd>${opt(it.description)}</dd><dt>Source device / acquisition</dt><dd>${meta.length ? meta : '—'}</dd></dl>
<table><thead><tr><th>File</th><th>Size (bytes)</th><th>Hashes</th></tr></thead><tbody>
${files}
</tbody></table>`;
    })
    .join('\n');

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Chain of custody — case ${e(m.case.id)} — ${e(m.bundle.name)}</title>
<style>${CSS}</style></head>
<body>
<h1>Chain of custody form</h1>
<p>Case <strong>${e(m.case.id)}</strong>${m.case.title ? ` — ${e(m.case.title)}` : ''}</p>
<div class="verdict ${m.verdict.ok ? 'ok' : 'bad'}" id="verdict">${e(m.verdict.headline)}${
    m.verdict.problem ? `<br><span class="small">${e(m.verdict.problem)}</span>` : ''
  }</div>
<dl>
<dt>Case</dt><dd>${e(m.case.id)}</dd>
<dt>Title</dt><dd>${opt(m.case.title)}</dd>
<dt>Authority</dt><dd>${opt(m.case.authority)}</dd>
<dt>Bundle</dt><dd class="mono">${e(m.bundle.name)} (${e(m.bundle.file)}${m.bundle.sizeBytes !== undefined ? `, ${e(formatBytes(m.bundle.sizeBytes))}` : ''})</dd>
<dt>Bundle digest (SHA-256)</dt><dd class="mono" id="digest">${e(m.bundle.digest)}</dd>
<dt>Sealed by</dt><dd>${party(m.sealer)}</dd>
<dt>Sealer fingerprint</dt><dd class="mono">${e(m.sealer.fingerprint)}</dd>
<dt>Sealed at</dt><dd>${opt(m.sealedAt)}</dd>
<dt>Report made</dt><dd>${e(m.generatedAt)} by custody ${e(m.toolVersion)}</dd>
</dl>

<h2>Evidence items</h2>
${items || '<p>No items.</p>'}

<h2>Custody timeline</h2>
<table id="timeline"><thead><tr><th>#</th><th>Action</th><th>When (UTC)</th><th>By</th><th>To</th><th>Where</th><th>Why</th><th>Authority</th><th>Condition</th><th>Signature</th></tr></thead><tbody>
${m.records.map(recordRow).join('\n')}
</tbody></table>

<h2>Custodians and key fingerprints</h2>
<table id="custodians"><thead><tr><th>Name</th><th>Organisation</th><th>Role</th><th>Fingerprint (SHA-256 of the Ed25519 public key)</th></tr></thead><tbody>
${uniqueParties(m)
  .map((p) => `<tr><td>${e(p.name)}</td><td>${opt(p.org)}</td><td>${opt(p.role)}</td><td class="mono small">${e(p.fingerprint)}</td></tr>`)
  .join('\n')}
</tbody></table>

<h2>Verification at the time of this report</h2>
<ul>${m.verdict.checks.map((c) => `<li>${e(c)}</li>`).join('')}</ul>
<p class="small">Anyone can repeat these checks offline with the instructions in VERIFY.txt inside the bundle, using tar, sha256sum, openssl and minisign, after confirming the sealer's fingerprint out of band.</p>

<div class="sign"><div>Received by (name, signature, date)</div><div>Witness (name, signature, date)</div></div>
</body></html>
`;
}

function uniqueParties(m: ReportModel): ReportParty[] {
  const seen = new Map<string, ReportParty>();
  for (const p of [m.sealer, ...m.records.flatMap((r) => (r.to ? [r.by, r.to] : [r.by]))]) {
    if (!seen.has(p.fingerprint)) seen.set(p.fingerprint, p);
  }
  return [...seen.values()];
}
