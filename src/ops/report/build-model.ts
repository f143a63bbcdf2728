/**
 * Verify verdict + what the bundle says about itself → the report's plain
 * data (ReportModel). Pure: no file system, no clock (the caller passes the
 * time and file facts), so a test can build a model from a verdict directly.
 *
 * A report is made for bundles that do NOT verify too — a court must see the
 * failure — so every input may be missing: a bundle whose tar could not be
 * read has no manifest and no chain, a record whose signature failed has no
 * trustworthy predicate. What the bundle claims is shown only where the
 * verdict read it; a record that did not verify shows who it CLAIMS to be by
 * only with the verdict's reason next to it.
 */
import { fromBase64Strict } from '../../custody/encoding.js';
import { fingerprint } from '../../custody/ed25519.js';
import type { PartyJson } from '../../custody/record.js';
import { imageFacts } from '../../bundle/custody-manifest.js';
import type { BundleVerdict } from '../../bundle/verify.js';
import type { ManifestFile, ManifestItem } from '../../bundle/custody-manifest.js';
import type { ReportModel, ReportParty, ReportRecord } from './model.js';

export interface ReportFacts {
  /** The bundle file as the user named it. */
  file: string;
  sizeBytes?: number;
  generatedAt: string;
  toolVersion: string;
}

/** Stand-ins for what the bundle does not say; the renderers show them in the reader's language. */
export const UNKNOWN = '(unknown)';
export const SIGNER_NOT_VERIFIED = '(signer not verified)';

function partyOf(p: PartyJson | undefined): ReportParty | undefined {
  if (!p) return undefined;
  let fp = UNKNOWN;
  try {
    fp = fingerprint(fromBase64Strict(p.publicKey, 'party publicKey', 'MALFORMED_BUNDLE', 32));
  } catch {
    /* the verdict already says why the record is bad */
  }
  const out: ReportParty = { name: p.name, keyid: p.keyid, fingerprint: fp };
  if (p.org !== undefined) out.org = p.org;
  if (p.role !== undefined) out.role = p.role;
  return out;
}

const nobody: ReportParty = { name: SIGNER_NOT_VERIFIED, keyid: UNKNOWN, fingerprint: UNKNOWN };

/** The verdict's headline: what a reader must see first. */
export function verdictHeadline(v: BundleVerdict): string {
  if (!v.ok) return 'NOT VERIFIED';
  if (v.sealer && !v.sealer.trusted) return "VERIFIED — but the sealer's key is NOT trusted (accepted with --allow-untrusted)";
  return 'VERIFIED';
}

/**
 * The imaging tool's own record of the acquisition (an E01's header: examiner,
 * case and evidence number, dates, tool, stored hashes), when the manifest
 * carries one for the item, flattened to dotted keys for display. Any JSON
 * shape is accepted; only strings, numbers and booleans are shown.
 */
function acquisitionOf(it: ManifestItem): { acquisition?: Record<string, string> } {
  const acq = (it as ManifestItem & { acquisition?: unknown }).acquisition;
  if (acq === undefined || acq === null || typeof acq !== 'object') return {};
  const out: Record<string, string> = {};
  const walk = (v: unknown, key: string, depth: number): void => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
    else if (v && typeof v === 'object' && depth < 4) {
      for (const [k, sub] of Object.entries(v as Record<string, unknown>)) walk(sub, key ? `${key}.${k}` : k, depth + 1);
    }
  };
  walk(acq, '', 0);
  return Object.keys(out).length ? { acquisition: out } : {};
}

export function buildReportModel(v: BundleVerdict, facts: ReportFacts): ReportModel {
  const m = v.manifest;
  const records: ReportRecord[] = (v.chain?.records ?? []).map((r) => {
    const p = r.predicate;
    const rec: ReportRecord = {
      seq: p?.seq ?? r.seq,
      action: p?.action ?? r.action,
      at: p?.at ?? UNKNOWN,
      by: partyOf(p?.by) ?? nobody,
      signatureOk: r.ok,
    };
    const to = partyOf(p?.to);
    if (to) rec.to = to;
    for (const k of ['reason', 'authority', 'location', 'condition', 'note'] as const) {
      const val = p?.[k];
      if (val !== undefined) rec[k] = val;
    }
    if (p?.verification) rec.verification = { ...p.verification };
    if (!r.ok) rec.problem = r.message ?? r.code ?? 'does not verify';
    return rec;
  });

  const sealer: ReportParty = m
    ? {
        name: m.sealer.name,
        keyid: m.sealer.keyid,
        fingerprint: m.sealer.fingerprint,
        ...(m.sealer.org === undefined ? {} : { org: m.sealer.org }),
        ...(m.sealer.role === undefined ? {} : { role: m.sealer.role }),
      }
    : v.sealer
      ? { name: v.sealer.name ?? UNKNOWN, keyid: v.sealer.keyid, fingerprint: v.sealer.fingerprint }
      : { ...nobody, name: UNKNOWN };

  const verdict: ReportModel['verdict'] = {
    ok: v.ok,
    headline: verdictHeadline(v),
    checks: v.checks.map((c) => `${c.ok ? 'ok' : 'FAILED'} — ${c.check}: ${c.detail}`),
    results: v.checks.map((c) => ({ ok: c.ok, check: c.check, detail: c.detail })),
  };
  if (v.sealer) verdict.trusted = v.sealer.trusted;
  if (v.error) verdict.problem = v.error.message;

  // One pass over the files (a bundle may hold a million): filtering per item would be items × files.
  const filesByItem = new Map<string, ManifestFile[]>();
  for (const f of m?.files ?? []) {
    const list = filesByItem.get(f.item);
    if (list) list.push(f);
    else filesByItem.set(f.item, [f]);
  }

  const model: ReportModel = {
    generatedAt: facts.generatedAt,
    toolVersion: facts.toolVersion,
    bundle: {
      name: v.bagName ?? UNKNOWN,
      digest: v.bundleDigest ?? UNKNOWN,
      file: facts.file,
      ...(facts.sizeBytes === undefined ? {} : { sizeBytes: facts.sizeBytes }),
    },
    verdict,
    case: m ? { ...m.case } : { id: v.caseId ?? UNKNOWN },
    sealer,
    items: (m?.items ?? []).map((it) => ({
      id: it.id,
      ...(it.description === undefined ? {} : { description: it.description }),
      meta: { ...it.meta },
      kind: it.kind,
      source: it.source,
      ...(it.image ? { acquisition: imageFacts(it.image) } : acquisitionOf(it)),
      files: (filesByItem.get(it.id) ?? []).map((f) => ({ path: f.path, size: f.size, hashes: { ...f.hashes } })),
    })),
    records,
  };
  if (m) {
    model.sealedAt = m.sealedAt;
    model.sealTool = { ...m.tool };
    model.algorithms = [...m.algorithms];
  }
  return model;
}
