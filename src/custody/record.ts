/**
 * Custody records (DESIGN §4): an in-toto Statement v1 whose predicate says
 * who did what with the bundle, wrapped in a DSSE envelope.
 */
import { sha256Hex } from '../core/digest.js';
import { CustodyError } from '../core/errors.js';
import { checkText } from '../core/text.js';
import { keyId } from './ed25519.js';
import { fromBase64Strict, toBase64, utf8 } from './encoding.js';
import { checkLabel, makeIdentity, sameKey, type Identity, type Signer } from './identity.js';
import { signEnvelope } from './dsse.js';
import { asObject, onlyKeys, parseStrictJson } from './strict-json.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'urn:custody:record:v1';
export const ACTIONS = ['seal', 'transfer', 'receive'] as const;
export type RecordAction = (typeof ACTIONS)[number];

export interface PartyJson {
  name: string;
  org?: string;
  role?: string;
  keyid: string;
  /** base64 of the raw 32-byte key */
  publicKey: string;
}

/** What the receiver found when it verified the bundle before accepting custody. */
export interface VerificationSummary {
  verified: boolean;
  /** whether the sealer's key was in the receiver's trust store (or given with --trust) */
  trusted: boolean;
  code?: string;
  message?: string;
  tool?: string;
}

export interface RecordPredicate {
  seq: number;
  prev: string | null;
  action: RecordAction;
  at: string;
  by: PartyJson;
  to?: PartyJson;
  reason?: string;
  authority?: string;
  location?: string;
  condition?: string;
  note?: string;
  verification?: VerificationSummary;
}

const TEXT_FIELDS = ['reason', 'authority', 'location', 'condition', 'note'] as const;
const PREDICATE_KEYS = ['seq', 'prev', 'action', 'at', 'by', 'to', ...TEXT_FIELDS, 'verification'];

export function partyFromIdentity(id: Identity): PartyJson {
  const p: PartyJson = { name: id.name } as PartyJson;
  if (id.org !== undefined) p.org = id.org;
  if (id.role !== undefined) p.role = id.role;
  p.keyid = id.keyid;
  p.publicKey = toBase64(id.publicKey);
  return p;
}

/** A party met in a record; weak keys there are bad evidence (WEAK_KEY). */
export function identityFromParty(p: PartyJson): Identity {
  return makeIdentity(fromBase64Strict(p.publicKey, 'party publicKey', 'MALFORMED_BUNDLE', 32), p, 'evidence');
}

/** A record's number as the chain shows it: four digits (0000 is the seal). */
export function recordNumber(seq: number): string {
  return String(seq).padStart(4, '0');
}

/** The one naming of chain records: `custody/chain/NNNN-<action>.dsse.json` inside the bag. */
export function recordMemberName(seq: number, action: RecordAction): string {
  return `custody/chain/${recordNumber(seq)}-${action}.dsse.json`;
}

const MEMBER_NAME = /^custody\/chain\/(\d{4})-(seal|transfer|receive)\.dsse\.json$/;

/** The seq and action a record member's name (relative to the bag root) gives, or undefined when it is not one. */
export function parseRecordMemberName(rel: string): { seq: number; action: RecordAction } | undefined {
  const m = MEMBER_NAME.exec(rel);
  return m ? { seq: Number(m[1]), action: m[2] as RecordAction } : undefined;
}

/** The name of a receive record kept beside a read-only bundle: `<bundle>.NNNN-receive.dsse.json`. */
export function receiptMemberName(seq: number): string {
  return `${recordNumber(seq)}-receive.dsse.json`;
}

export function recordTime(date: Date = new Date()): string {
  return date.toISOString();
}

export function payloadDigest(payload: Uint8Array): string {
  return `sha256:${sha256Hex(payload)}`;
}

function orderedPredicate(p: RecordPredicate): Record<string, unknown> {
  // A fixed key order: the bytes are what is signed, and readers see a stable layout.
  const out: Record<string, unknown> = { seq: p.seq, prev: p.prev, action: p.action, at: p.at, by: partyOrdered(p.by) };
  if (p.to !== undefined) out.to = partyOrdered(p.to);
  for (const k of TEXT_FIELDS) if (p[k] !== undefined) out[k] = p[k];
  if (p.verification !== undefined) {
    const v = p.verification;
    const ov: Record<string, unknown> = { verified: v.verified, trusted: v.trusted };
    for (const k of ['code', 'message', 'tool'] as const) if (v[k] !== undefined) ov[k] = v[k];
    out.verification = ov;
  }
  return out;
}

function partyOrdered(p: PartyJson): PartyJson {
  const out = { name: p.name } as PartyJson;
  if (p.org !== undefined) out.org = p.org;
  if (p.role !== undefined) out.role = p.role;
  out.keyid = p.keyid;
  out.publicKey = p.publicKey;
  return out;
}

export interface RecordInput {
  bundleName: string;
  bundleDigest: string;
  predicate: RecordPredicate;
}

/** The in-toto Statement v1 bytes (DESIGN §4). Validated as a verifier would, so we never sign what we would refuse. */
export function buildRecordPayload(input: RecordInput): Uint8Array {
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: input.bundleName, digest: { sha256: input.bundleDigest } }],
    predicateType: PREDICATE_TYPE,
    predicate: orderedPredicate(input.predicate),
  };
  const bytes = utf8(JSON.stringify(statement));
  try {
    parseRecordPayload(bytes);
  } catch (e) {
    throw new CustodyError('INTERNAL', `refusing to sign an invalid record: ${(e as Error).message}`);
  }
  return bytes;
}

export function makeRecord(signer: Signer, input: RecordInput): { payload: Uint8Array; envelope: Uint8Array } {
  const by = identityFromParty(input.predicate.by);
  if (!sameKey(by, signer.identity)) throw new CustodyError('INTERNAL', 'a record must be signed by the key named in its "by" field');
  const payload = buildRecordPayload(input);
  return { payload, envelope: signEnvelope(payload, signer) };
}

// ---- reading (after the signature has verified) ----

export interface ParsedStatement {
  subjectName: string;
  subjectDigest: string;
  predicate: RecordPredicate;
}

const bad = (message: string): never => {
  throw new CustodyError('MALFORMED_BUNDLE', message);
};

/** Free text may hold line breaks and tabs (printed with continuation marks); nothing else that rewrites a terminal. */
function text(v: unknown, what: string): string {
  return checkText(v, what, 'MALFORMED_BUNDLE', { multiline: true });
}

function party(v: unknown, what: string): PartyJson {
  const o = asObject(v, what);
  onlyKeys(o, ['name', 'org', 'role', 'keyid', 'publicKey'], what, 'MALFORMED_BUNDLE');
  const p = { name: checkLabel(o.name, `${what}.name`, 'MALFORMED_BUNDLE') } as PartyJson;
  if (o.org !== undefined) p.org = checkLabel(o.org, `${what}.org`, 'MALFORMED_BUNDLE');
  if (o.role !== undefined) p.role = checkLabel(o.role, `${what}.role`, 'MALFORMED_BUNDLE');
  const pub = fromBase64Strict(o.publicKey, `${what}.publicKey`, 'MALFORMED_BUNDLE', 32);
  if (o.keyid !== keyId(pub)) throw new CustodyError('CHAIN_ERROR', `${what}.keyid does not match ${what}.publicKey`);
  p.keyid = o.keyid;
  p.publicKey = o.publicKey as string;
  return p;
}

function verification(v: unknown): VerificationSummary {
  const o = asObject(v, 'predicate.verification');
  onlyKeys(o, ['verified', 'trusted', 'code', 'message', 'tool'], 'predicate.verification', 'MALFORMED_BUNDLE');
  if (typeof o.verified !== 'boolean' || typeof o.trusted !== 'boolean') bad('predicate.verification needs verified and trusted (booleans)');
  const out: VerificationSummary = { verified: o.verified as boolean, trusted: o.trusted as boolean };
  for (const k of ['code', 'message', 'tool'] as const) if (o[k] !== undefined) out[k] = text(o[k], `predicate.verification.${k}`);
  return out;
}

/** Parses a Statement strictly (unknown fields refused). Only call on payload bytes whose signature verified. */
export function parseRecordPayload(payload: Uint8Array): ParsedStatement {
  const st = asObject(parseStrictJson(payload, 'record payload'), 'record payload');
  onlyKeys(st, ['_type', 'subject', 'predicateType', 'predicate'], 'statement', 'MALFORMED_BUNDLE');
  if (st._type !== STATEMENT_TYPE) bad(`statement _type is not ${STATEMENT_TYPE}`);
  if (st.predicateType !== PREDICATE_TYPE) bad(`predicateType is not ${PREDICATE_TYPE}`);
  if (!Array.isArray(st.subject) || st.subject.length !== 1) bad('statement must have exactly one subject');
  const subj = asObject((st.subject as unknown[])[0], 'subject');
  onlyKeys(subj, ['name', 'digest'], 'subject', 'MALFORMED_BUNDLE');
  const digest = asObject(subj.digest, 'subject.digest');
  onlyKeys(digest, ['sha256'], 'subject.digest', 'MALFORMED_BUNDLE');
  if (typeof subj.name !== 'string' || typeof digest.sha256 !== 'string') bad('subject needs a name and a sha256 digest');

  const p = asObject(st.predicate, 'predicate');
  onlyKeys(p, PREDICATE_KEYS, 'predicate', 'MALFORMED_BUNDLE');
  if (typeof p.seq !== 'number' || !Number.isSafeInteger(p.seq) || p.seq < 0 || p.seq > 9999) bad('predicate.seq must be an integer 0..9999');
  if (p.prev !== null && (typeof p.prev !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(p.prev))) bad('predicate.prev must be null or sha256:<64 hex>');
  if (!ACTIONS.includes(p.action as RecordAction)) bad('predicate.action must be seal, transfer or receive');
  if (typeof p.at !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(p.at) || Number.isNaN(Date.parse(p.at)) || new Date(p.at).toISOString() !== p.at) {
    bad('predicate.at must be a UTC time like 2026-11-27T14:03:00.000Z');
  }
  const pred: RecordPredicate = {
    seq: p.seq as number,
    prev: p.prev as string | null,
    action: p.action as RecordAction,
    at: p.at as string,
    by: party(p.by, 'predicate.by'),
  };
  if (p.to !== undefined) pred.to = party(p.to, 'predicate.to');
  if (pred.action === 'transfer' && pred.to === undefined) bad('a transfer record must name "to"');
  if (pred.action !== 'transfer' && pred.to !== undefined) bad(`a ${pred.action} record must not name "to"`);
  for (const k of TEXT_FIELDS) if (p[k] !== undefined) pred[k] = text(p[k], `predicate.${k}`);
  if (p.verification !== undefined) {
    if (pred.action !== 'receive') bad('only a receive record carries a verification result');
    pred.verification = verification(p.verification);
  }
  return { subjectName: subj.name as string, subjectDigest: digest.sha256 as string, predicate: pred };
}
