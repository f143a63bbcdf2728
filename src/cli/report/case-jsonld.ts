/**
 * The report's facts as CASE 1.4 / UCO 1.4 JSON-LD, the exchange format that
 * forensic tools and case-management systems read: the bundle, its digest and
 * every evidence file as uco-observable objects with hash facets; each seal,
 * transfer and receive as a case-investigation:InvestigativeAction (performer,
 * instrument = custody and its version, location, start time, object,
 * result); every authority as a case-investigation:Authorization; each record's
 * outcome as a case-investigation:ProvenanceRecord, linked to the previous
 * action, so the chain of custody reads as a chain in the graph too. The
 * seizure and acquisition facts given at sealing become actions of their own.
 *
 * A pure function of the report model. Identifiers are derived from the
 * bundle digest, so two exports of the same bundle name the same objects and
 * merge. Threat it guards against: the document must say no more than the
 * verified model does — a record whose signature failed is exported with its
 * failure as the action's status and result, never as a clean hand-over.
 */
import { createHash } from 'node:crypto';
import { SIGNER_NOT_VERIFIED, UNKNOWN } from '../../ops/report/build-model.js';
import { splitMeta } from './custody-state.js';
import type { ReportFile, ReportItem, ReportModel, ReportParty, ReportRecord } from '../../ops/report/model.js';

const UCO = 'https://ontology.unifiedcyberontology.org/uco/';

export const CASE_CONTEXT = {
  'case-investigation': 'https://ontology.caseontology.org/case/investigation/',
  'uco-action': `${UCO}action/`,
  'uco-core': `${UCO}core/`,
  'uco-identity': `${UCO}identity/`,
  'uco-location': `${UCO}location/`,
  'uco-observable': `${UCO}observable/`,
  'uco-role': `${UCO}role/`,
  'uco-tool': `${UCO}tool/`,
  'uco-types': `${UCO}types/`,
  xsd: 'http://www.w3.org/2001/XMLSchema#',
} as const;

/** UCO's HashNameVocab spelling of custody's algorithm names. */
const HASH_METHOD: Record<string, string> = { md5: 'MD5', sha1: 'SHA1', sha256: 'SHA256', sha512: 'SHA512', 'sha3-256': 'SHA3-256', blake3: 'BLAKE3' };

type Node = Record<string, unknown> & { '@id': string };
const ref = (n: Node | string): { '@id': string } => ({ '@id': typeof n === 'string' ? n : n['@id'] });
/** A description property only when there is something to say (an empty list is noise in the graph). */
const desc = (lines: string[]): { 'uco-core:description'?: string[] } => (lines.length ? { 'uco-core:description': lines } : {});
const dateTime = (v: string): { '@type': string; '@value': string } => ({ '@type': 'xsd:dateTime', '@value': v });
const hexBinary = (v: string): { '@type': string; '@value': string } => ({ '@type': 'xsd:hexBinary', '@value': v });

/** xsd:dateTime wants a full date-time with an optional zone; examiners type all sorts. */
function asDateTime(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?$/.test(s) && !Number.isNaN(Date.parse(s)) ? s.replace(/T(\d\d:\d\d)(?=Z|[+-]|$)/, 'T$1:00') : undefined;
}

export interface CaseJsonLdOptions {
  /** The IRI prefix of every object (default: a URN naming the bundle digest). */
  base?: string;
}

export function buildCaseJsonLd(m: ReportModel, o: CaseJsonLdOptions = {}): Record<string, unknown> {
  // A bundle whose digest could not be read gets names of its own, never ones another broken bundle would share.
  const unread = `unread-${createHash('sha256').update(`${m.bundle.file}\0${m.generatedAt}`).digest('hex').slice(0, 32)}`;
  const base = o.base ?? `urn:custody:${m.bundle.digest === UNKNOWN ? unread : m.bundle.digest}:`;
  const graph: Node[] = [];
  const ids = new Set<string>();

  /** A stable UUID-shaped id for `kind` + `key` within this bundle (the CASE convention kb:<kind>-<uuid>). */
  function id(kind: string, key: string): string {
    const h = createHash('sha256').update(`${m.bundle.digest}\0${kind}\0${key}`).digest('hex');
    const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
    return `kb:${kind}-${uuid}`;
  }
  function add(n: Node): Node {
    if (!ids.has(n['@id'])) {
      ids.add(n['@id']);
      graph.push(n);
    }
    return n;
  }
  function hashes(owner: string, h: Record<string, string>): Node[] {
    return Object.entries(h).map(([alg, hex]) => ({
      '@id': id('hash', `${owner}\0${alg}`),
      '@type': 'uco-types:Hash',
      'uco-types:hashMethod': HASH_METHOD[alg] ?? alg.toUpperCase(),
      'uco-types:hashValue': hexBinary(hex),
    }));
  }
  function relationship(source: Node, target: Node, kind: string, observable = true): Node {
    return add({
      '@id': id('relationship', `${source['@id']}\0${kind}\0${target['@id']}`),
      '@type': observable ? 'uco-observable:ObservableRelationship' : 'uco-core:Relationship',
      'uco-core:source': ref(source),
      'uco-core:target': ref(target),
      'uco-core:kindOfRelationship': kind,
      'uco-core:isDirectional': true,
    });
  }

  // ---- who: every key holder as an identity, with its role and organisation
  const identities = new Map<string, Node>();
  function identity(p: ReportParty): Node {
    const known = identities.get(p.fingerprint);
    if (known) return known;
    const n = add({
      '@id': id('identity', p.fingerprint),
      '@type': 'uco-identity:Identity',
      'uco-core:name': p.name === SIGNER_NOT_VERIFIED ? 'signer not verified' : p.name,
      ...desc([`Ed25519 key id ${p.keyid}`, `Ed25519 public key fingerprint (SHA-256) ${p.fingerprint}`]),
    });
    identities.set(p.fingerprint, n);
    if (p.org) {
      const org = add({ '@id': id('organization', p.org), '@type': 'uco-identity:Organization', 'uco-core:name': p.org });
      relationship(n, org, 'Member_Of', false);
    }
    if (p.role) {
      const role = add({ '@id': id('role', p.role), '@type': 'uco-role:Role', 'uco-core:name': p.role });
      relationship(n, role, 'Has_Role', false);
    }
    return n;
  }
  const byName = new Map<string, Node>();
  function namedPerson(name: string): Node {
    return byName.get(name) ?? (byName.set(name, add({ '@id': id('identity', `name\0${name}`), '@type': 'uco-identity:Identity', 'uco-core:name': name })), byName.get(name)!);
  }
  function location(name: string | undefined): Node | undefined {
    return name ? add({ '@id': id('location', name), '@type': 'uco-location:Location', 'uco-core:name': name }) : undefined;
  }
  function tool(name: string, version: string | undefined, type = 'chain of custody'): Node {
    return add({
      '@id': id('tool', `${name}\0${version ?? ''}`),
      '@type': 'uco-tool:Tool',
      'uco-core:name': name,
      'uco-tool:toolType': type,
      ...(version ? { 'uco-tool:version': version } : {}),
    });
  }
  const authorizations = new Map<string, Node>();
  function authorization(text: string | undefined): Node | undefined {
    if (!text) return undefined;
    const known = authorizations.get(text);
    if (known) return known;
    const n = add({ '@id': id('authorization', text), '@type': 'case-investigation:Authorization', 'uco-core:name': text, 'case-investigation:authorizationIdentifier': [text] });
    authorizations.set(text, n);
    return n;
  }

  // ---- what: the bundle, its digest, the items and their files
  const bundle = add({
    '@id': id('file', 'bundle'),
    '@type': 'uco-observable:File',
    'uco-core:name': m.bundle.name,
    ...desc(['custody bundle: a BagIt 1.0 bag in a tar archive, with signed custody records']),
    'uco-core:hasFacet': [
      {
        '@id': id('file-facet', 'bundle'),
        '@type': 'uco-observable:FileFacet',
        'uco-observable:fileName': m.bundle.file,
        ...(m.bundle.sizeBytes === undefined ? {} : { 'uco-observable:sizeInBytes': m.bundle.sizeBytes }),
      },
    ],
  });
  if (m.bundle.digest !== UNKNOWN) {
    const tag = add({
      '@id': id('file', 'tagmanifest'),
      '@type': 'uco-observable:File',
      ...desc(['the bundle digest: SHA-256 of tagmanifest-sha256.txt, which the seal signs and every custody record names']),
      'uco-core:hasFacet': [
        { '@id': id('file-facet', 'tagmanifest'), '@type': 'uco-observable:FileFacet', 'uco-observable:fileName': 'tagmanifest-sha256.txt', 'uco-observable:filePath': `${m.bundle.name}/tagmanifest-sha256.txt` },
        { '@id': id('content-data-facet', 'tagmanifest'), '@type': 'uco-observable:ContentDataFacet', 'uco-observable:hash': hashes('tagmanifest', { sha256: m.bundle.digest }) },
      ],
    });
    relationship(tag, bundle, 'Contained_Within');
  }

  function fileNode(f: ReportFile): Node {
    const name = f.path.split('/').pop() ?? f.path;
    const ext = /\.([^.]+)$/.exec(name)?.[1];
    return add({
      '@id': id('file', f.path),
      '@type': 'uco-observable:File',
      'uco-core:hasFacet': [
        {
          '@id': id('file-facet', f.path),
          '@type': 'uco-observable:FileFacet',
          'uco-observable:fileName': name,
          'uco-observable:filePath': f.path,
          'uco-observable:sizeInBytes': f.size,
          ...(ext ? { 'uco-observable:extension': ext } : {}),
        },
        { '@id': id('content-data-facet', f.path), '@type': 'uco-observable:ContentDataFacet', 'uco-observable:sizeInBytes': f.size, 'uco-observable:hash': hashes(f.path, f.hashes) },
      ],
    });
  }

  const itemNodes = new Map<string, Node>();
  for (const it of m.items) {
    const { other } = splitMeta(it.meta);
    const lines = [...(it.description ? [it.description] : []), ...other.map(([k, v]) => `${k}: ${v}`), ...Object.entries(it.acquisition ?? {}).map(([k, v]) => `acquisition ${k}: ${v}`)];
    const item = add({
      '@id': id(it.kind === 'directory' ? 'directory' : 'evidence-item', it.id),
      '@type': it.kind === 'directory' ? 'uco-observable:Directory' : 'uco-observable:ObservableObject',
      'uco-core:name': it.id,
      ...desc(lines),
    });
    itemNodes.set(it.id, item);
    relationship(item, bundle, 'Contained_Within');
    for (const f of it.files) relationship(fileNode(f), item, 'Contained_Within');
  }
  const evidence = [bundle, ...itemNodes.values()];

  // ---- the seizure and acquisition, as the examiner recorded them at sealing
  const seizureActions: Node[] = [];
  for (const it of m.items) seizureActions.push(...seizureOf(it, itemNodes.get(it.id)!));
  function seizureOf(it: ReportItem, item: Node): Node[] {
    const { seizure } = splitMeta(it.meta);
    const out: Node[] = [];
    const where = location(seizure.location);
    if (seizure.seized_at || seizure.seized_by || seizure.seized_from || seizure.location) {
      const at = asDateTime(seizure.seized_at);
      out.push(
        add({
          '@id': id('investigative-action', `seizure\0${it.id}`),
          '@type': 'case-investigation:InvestigativeAction',
          'uco-core:name': 'seizure',
          ...desc([
            ...(seizure.seized_at && !at ? [`seized at ${seizure.seized_at}`] : []),
            ...(seizure.seized_from ? [`seized from ${seizure.seized_from}`] : []),
          ]),
          ...(seizure.seized_by ? { 'uco-action:performer': ref(namedPerson(seizure.seized_by)) } : {}),
          ...(where ? { 'uco-action:location': [ref(where)] } : {}),
          ...(at ? { 'uco-action:startTime': dateTime(at) } : {}),
          'uco-action:result': [ref(item)],
        }),
      );
    }
    if (seizure.tool || seizure.write_blocker) {
      const instruments = [
        ...(seizure.tool ? [tool(seizure.tool, undefined, 'acquisition')] : []),
        ...(seizure.write_blocker ? [tool(seizure.write_blocker, undefined, 'write blocker')] : []),
      ];
      out.push(
        add({
          '@id': id('investigative-action', `acquisition\0${it.id}`),
          '@type': 'case-investigation:InvestigativeAction',
          'uco-core:name': 'acquisition',
          'uco-action:instrument': instruments.map(ref),
          'uco-action:result': [ref(item)],
          ...(out[0] ? { 'case-investigation:wasInformedBy': [ref(out[0])] } : {}),
        }),
      );
    }
    return out;
  }

  // ---- the chain: one action and one provenance record per custody record
  const actions: Node[] = [];
  let previous: Node | undefined = seizureActions.at(-1);
  m.records.forEach((r: ReportRecord, i) => {
    const toolNode =
      r.action === 'seal' && m.sealTool
        ? tool(m.sealTool.name, m.sealTool.version)
        : r.verification?.tool
          ? tool(r.verification.tool.split(' ')[0] ?? 'custody', r.verification.tool.split(' ')[1])
          : tool('custody', undefined);
    const results: Node[] = [];
    const prov = add({
      '@id': id('provenance-record', `${r.seq}`),
      '@type': 'case-investigation:ProvenanceRecord',
      'uco-core:name': `custody record ${r.seq}: ${r.action}`,
      ...desc([`custody record ${r.seq} (${r.action}) of bundle ${m.bundle.name}, case ${m.case.id}`, ...(r.to ? [`to ${r.to.name}`] : [])]),
      'case-investigation:exhibitNumber': `${m.case.id}/${m.bundle.name}/${r.seq}`,
      'case-investigation:rootExhibitNumber': [`${m.case.id}/${m.bundle.name}`],
      'uco-core:object': [...evidence, ...(r.to ? [identity(r.to)] : [])].map(ref),
    });
    results.push(prov);
    if (r.verification || !r.signatureOk) {
      const statements: string[] = [];
      if (r.verification) {
        const v = r.verification;
        statements.push(`receiver's verification: ${v.verified ? 'verified' : 'NOT verified'}${v.trusted ? '' : ', sealer not trusted'}`);
        for (const x of [v.code, v.message, v.tool]) if (x) statements.push(x);
      }
      if (!r.signatureOk) statements.push(`this record's signature does NOT verify${r.problem ? `: ${r.problem}` : ''}`);
      results.push(add({ '@id': id('annotation', `record\0${r.seq}`), '@type': 'uco-core:Annotation', 'uco-core:object': [ref(bundle)], 'uco-core:statement': statements }));
    }
    const where = location(r.location);
    const action = add({
      '@id': id('investigative-action', `record\0${r.seq}`),
      '@type': 'case-investigation:InvestigativeAction',
      'uco-core:name': r.action,
      ...desc([
        ...(r.reason ? [`reason: ${r.reason}`] : []),
        ...(r.condition ? [`condition: ${r.condition}`] : []),
        ...(r.note ? [`note: ${r.note}`] : []),
        ...(r.authority ? [`authority: ${r.authority}`] : []),
      ]),
      'uco-action:actionStatus': r.signatureOk ? 'Success' : 'Fail',
      'uco-action:performer': ref(identity(r.by)),
      ...(r.to ? { 'uco-action:participant': [ref(identity(r.to))] } : {}),
      'uco-action:instrument': [ref(toolNode)],
      ...(where ? { 'uco-action:location': [ref(where)] } : {}),
      ...(r.at !== UNKNOWN ? { 'uco-action:startTime': dateTime(r.at) } : {}),
      'uco-action:object': (r.action === 'seal' ? itemNodes.size ? [...itemNodes.values()] : [bundle] : [bundle]).map(ref),
      'uco-action:result': [...(r.action === 'seal' ? [bundle] : []), ...results].map(ref),
      ...(previous ? { 'case-investigation:wasInformedBy': [ref(previous)] } : {}),
    });
    const auth = authorization(r.authority ?? (i === 0 ? m.case.authority : undefined));
    if (auth) relationship(action, auth, 'Authorized_By', false);
    actions.push(action);
    previous = action;
  });

  // ---- this report's own verification
  const verdict = add({
    '@id': id('annotation', `report\0${m.generatedAt}`),
    '@type': 'uco-core:Annotation',
    'uco-core:object': [ref(bundle)],
    'uco-core:statement': [
      m.verdict.headline,
      ...(m.verdict.problem ? [m.verdict.problem] : []),
      ...(m.verdict.results ? m.verdict.results.map((c) => `${c.ok ? 'ok' : 'FAILED'}: ${c.check}: ${c.detail}`) : m.verdict.checks),
    ],
  });
  const verify = add({
    '@id': id('investigative-action', `report\0${m.generatedAt}`),
    '@type': 'case-investigation:InvestigativeAction',
    'uco-core:name': 'verify',
    ...desc(['verification of the bundle for the chain-of-custody report']),
    'uco-action:actionStatus': m.verdict.ok ? 'Success' : 'Fail',
    'uco-action:instrument': [ref(tool('custody', m.toolVersion))],
    'uco-action:startTime': dateTime(m.generatedAt),
    'uco-action:object': [ref(bundle)],
    'uco-action:result': [ref(verdict)],
    ...(previous ? { 'case-investigation:wasInformedBy': [ref(previous)] } : {}),
  });

  authorization(m.case.authority);
  add({
    '@id': id('investigation', m.case.id),
    '@type': 'case-investigation:Investigation',
    'uco-core:name': m.case.id,
    ...desc(m.case.title ? [m.case.title] : []),
    'case-investigation:investigationForm': 'case',
    ...(authorizations.size ? { 'case-investigation:relevantAuthorization': [...authorizations.values()].map(ref) } : {}),
    'uco-core:object': [...seizureActions, ...actions, verify].map(ref),
  });

  return { '@context': { kb: base, ...CASE_CONTEXT }, '@graph': graph };
}
