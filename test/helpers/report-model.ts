/** A report model with every part of the form filled in: three custodians (one with a Japanese name), two hand-overs, seizure facts, an E01 acquisition. */
import type { ReportModel, ReportParty } from '../../src/ops/report/model.js';

export const party = (name: string, org: string, role: string, n: string): ReportParty => ({ name, org, role, keyid: n.repeat(16), fingerprint: n.repeat(64) });

export const examiner = party('Ana Examiner', 'Police Lab A', 'examiner', 'a');
export const foreign = party('山田 太郎', '東京地方検察庁', '検事', 'b');
export const clerk = party('Zoë Ψαλίδη-Иванова', 'Greffe du tribunal', 'greffière', 'c');

export function richModel(files = 3): ReportModel {
  const list = Array.from({ length: files }, (_, i) => ({
    path: `data/phone-export/dcim/IMG_${String(i).padStart(4, '0')}.jpg`,
    size: 1000 + i,
    hashes: { md5: i.toString(16).padStart(32, '1'), sha1: i.toString(16).padStart(40, '2'), sha256: i.toString(16).padStart(64, '3') },
  }));
  return {
    generatedAt: '2026-11-28T09:00:00.000Z',
    toolVersion: '0.1.0',
    bundle: { name: 'case-2026-041', digest: 'd'.repeat(64), file: 'case-2026-041.tar', sizeBytes: 7_340_032 },
    verdict: { ok: true, headline: 'VERIFIED', checks: ['ok — payload: all files match'], trusted: true, results: [{ ok: true, check: 'payload', detail: 'all files match' }] },
    case: { id: 'CASE-2026-041', title: 'Ransomware intrusion', authority: 'Warrant 12/2026, Tribunal judiciaire de Lyon' },
    sealer: examiner,
    sealedAt: '2026-11-27T14:00:00.000Z',
    sealTool: { name: 'custody', version: '0.1.0' },
    algorithms: ['md5', 'sha1', 'sha256'],
    items: [
      {
        id: 'laptop-disk',
        description: 'Internal SSD of the suspect laptop (Samsung 870 EVO)',
        kind: 'file',
        source: '/cases/041/laptop.E01',
        meta: { seized_at: '2026-11-20T09:15:00+01:00', seized_by: 'Insp. Marie Dubois', seized_from: 'Jean Martin, 12 rue de la Paix, Lyon', location: 'Lyon, suspect home office', tool: 'Guymager 0.8.13', write_blocker: 'Tableau T35u', serial: 'S4EVNX0N' },
        acquisition: { examiner: 'Marie Dubois', 'case_number': 'CASE-2026-041', 'evidence_number': 'E1', 'acquiry_date': '2026-11-20T10:02:11+01:00', 'stored.md5': 'f'.repeat(32), 'stored.sha1': 'e'.repeat(40) },
        files: [{ path: 'data/laptop-disk/laptop.E01', size: 7_000_000, hashes: { md5: '1'.repeat(32), sha1: '2'.repeat(40), sha256: '3'.repeat(64) } }],
      },
      { id: 'phone-export', description: 'Photos exported from the phone', kind: 'directory', source: '/cases/041/phone', meta: { make: 'Apple' }, files: list },
    ],
    records: [
      { seq: 0, action: 'seal', at: '2026-11-27T14:00:00.000Z', by: examiner, signatureOk: true, location: 'Police Lab A, Lyon', authority: 'Warrant 12/2026', utcOffset: '+01:00' },
      { seq: 1, action: 'transfer', at: '2026-11-27T15:10:00.000Z', by: examiner, to: foreign, reason: 'MLA request 2026/77 to Japan', authority: 'MLA treaty FR-JP art. 9', location: 'Lyon', signatureOk: true },
      { seq: 2, action: 'receive', at: '2026-11-28T01:20:00.000Z', by: foreign, condition: 'seal intact', location: '東京', signatureOk: true, utcOffset: '+09:00', verification: { verified: true, trusted: true, tool: 'custody 0.1.0' } },
      { seq: 3, action: 'transfer', at: '2026-11-28T02:00:00.000Z', by: foreign, to: clerk, reason: 'return for trial', signatureOk: true },
    ],
  };
}
