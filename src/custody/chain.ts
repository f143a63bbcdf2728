/**
 * The chain-of-custody rules of DESIGN §4 as one pure function, shared by
 * seal, transfer, receive, verify and log: no file system, no clock, no
 * ledger. Given the record envelopes of a bundle (in tar order), the key that
 * signed the tagmanifest and the trusted keys, it says for each record ok or
 * the exact reason, and who holds custody at the end.
 *
 * Threat model: the bundle comes from someone we do not trust. So the key
 * that must have signed a record is decided by the chain so far (the sealer,
 * the current custodian, or the recipient named by a pending transfer) —
 * never by the record itself — and a payload is parsed only after that key's
 * signature over it verified.
 */
import { sha256Hex } from '../core/digest.js';
import { CustodyError, type ErrorCode } from '../core/errors.js';
import { fingerprint, keyId, verifyEd25519, weakKeyReason } from './ed25519.js';
import { openEnvelope, pae, PAYLOAD_TYPE, type OpenedEnvelope } from './dsse.js';
import { sameKey, type Identity } from './identity.js';
import {
  ACTIONS,
  identityFromParty,
  parseRecordPayload,
  payloadDigest,
  parseRecordMemberName,
  recordMemberName,
  recordNumber,
  type ParsedStatement,
  type RecordAction,
  type RecordPredicate,
} from './record.js';

export interface ChainInput {
  bundleName: string;
  /** lowercase hex SHA-256 of tagmanifest-sha256.txt */
  bundleDigest: string;
  /** the record members in tar order */
  envelopes: { member: string; bytes: Uint8Array }[];
  /** the key that signed the tagmanifest */
  sealerPublicKey: Uint8Array;
  /** trust store + --trust keys + the verifier's own keys */
  trusted: Uint8Array[];
  /** Fingerprints given as trust anchors (64 lowercase hex, as read out): a key whose fingerprint is one is trusted. */
  trustedFingerprints?: string[];
  /** every signer must be trusted, not only the sealer */
  strictTrust: boolean;
  /**
   * Check everything but trust: an untrusted sealer (or signer, with
   * strictTrust) does not fail the verdict; `sealerTrusted` and
   * `untrustedSigners` still say who was not trusted.
   */
  allowUntrusted?: boolean;
  /**
   * The verifier's clock: a record dated more than MAX_CLOCK_SKEW_MS after it
   * is refused (a record dated 2099 would block every later hand-over until
   * the clocks caught up). Omitted: no check against the clock.
   */
  now?: Date;
  /** bag-info.txt's Bagging-Date (YYYY-MM-DD, UTC): no record may be dated before the day the bundle was sealed. */
  baggingDate?: string;
}

/** How far ahead of the verifier's clock a record may be dated (clocks drift; minutes, not days). */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

/**
 * Stable ids of the chain rules (what `--json`, scripts and the verifier
 * page rely on), in the order each record is checked.
 */
export const CHAIN_RULES = [
  'chain.sealer', // the sealer's key is strong
  'chain.records', // there is a seal record
  'chain.member', // the member is named custody/chain/NNNN-<action>.dsse.json and matches its record
  'chain.envelope', // one DSSE envelope, exactly the bytes custody writes, the in-toto payload type
  'chain.signer', // signed by the key the chain says must sign: the sealer, the custodian, the named recipient
  'chain.signature', // that key's Ed25519 signature over the PAE, and "by" names that key
  'chain.payload', // a Statement v1 with a custody predicate, strictly parsed
  'chain.subject', // about this bundle (digest and name)
  'chain.seq', // numbered in sequence
  'chain.prev', // linked to the previous record's payload
  'chain.time', // not earlier than the previous record, nor before Bagging-Date, nor ahead of the clock
  'chain.custody', // seal first; transfer by the custodian, none pending; receive by the named recipient
  'chain.trust', // the sealer trusted (every signer with strictTrust)
] as const;
export type ChainRule = (typeof CHAIN_RULES)[number];

export interface RecordVerdict {
  member: string;
  seq: number;
  action: string;
  ok: boolean;
  /** The rule this record broke. */
  rule?: ChainRule;
  code?: ErrorCode;
  message?: string;
  /** only once the signature verified and the payload parsed */
  predicate?: RecordPredicate;
  /** hex SHA-256 of the payload bytes ('' when the envelope could not be read) */
  payloadSha256: string;
  /** the key that signed it (verified) */
  signer?: Identity;
  /** whether the signer is among the trusted keys */
  trusted?: boolean;
}

export interface ChainVerdict {
  ok: boolean;
  records: RecordVerdict[];
  /** who holds custody after the last good record */
  custodian?: Identity;
  /** a transfer not yet received */
  pendingTransfer?: { seq: number; to: Identity };
  sealerTrusted: boolean;
  /** signers not among the trusted keys (informational unless the rules make it an error) */
  untrustedSigners: { seq: number; keyid: string; name: string }[];
  /** the first failure, and the rule it broke */
  error?: CustodyError;
  rule?: ChainRule;
}

function memberParts(member: string, bundleName: string): { seq: number; action: string } | undefined {
  return parseRecordMemberName(member.startsWith(`${bundleName}/`) ? member.slice(bundleName.length + 1) : member);
}

const nnnn = recordNumber;

function bareIdentity(pub: Uint8Array, name: string): Identity {
  return { name, publicKey: pub, keyid: keyId(pub), fingerprint: fingerprint(pub) };
}

function describe(id: Identity): string {
  return `${id.name} (key id ${id.keyid})`;
}

/** Who holds custody so far, and what the next record links to: the state the record steps share. */
interface ChainState {
  readonly input: ChainInput;
  readonly verdict: ChainVerdict;
  custodian?: Identity;
  pending?: { seq: number; to: Identity };
  prevPayload?: Uint8Array;
  prevAt?: string;
}

/** One record being checked: what the steps established so far. */
interface RecordCheck {
  readonly i: number;
  readonly what: string;
  readonly member: string;
  readonly bytes: Uint8Array;
  readonly rv: RecordVerdict;
  named?: { seq: number; action: string };
  env?: OpenedEnvelope;
  signer?: Identity;
  by?: Identity;
  parsed?: ParsedStatement;
}

/** A broken rule: recorded on the record and, if it is the first, as the chain's error. Returns false (stop). */
function broken(s: ChainState, r: RecordCheck, rule: ChainRule, code: ErrorCode, message: string): false {
  r.rv.rule = rule;
  r.rv.code = code;
  r.rv.message = message;
  if (s.verdict.error === undefined) {
    s.verdict.error = new CustodyError(code, message, { member: r.member });
    s.verdict.rule = rule;
  }
  return false;
}

const asCustodyError = (e: unknown): CustodyError => (e instanceof CustodyError ? e : new CustodyError('MALFORMED_BUNDLE', String(e)));

export function checkChain(input: ChainInput): ChainVerdict {
  return judgeTrust(checkRecords(input).verdict, input);
}

/**
 * A chain checked by every rule but trust: the rules that depend only on the
 * records, the sealer's key, the bundle and (when `input.now` is given) the
 * clock. Records that pass them are `ok`; who is trusted is decided later
 * (judgeTrust), by the one trust rule checkChain applies too.
 */
export interface CheckedRecords {
  readonly input: ChainInput;
  readonly verdict: ChainVerdict;
}

export function checkRecords(input: ChainInput): CheckedRecords {
  const verdict: ChainVerdict = { ok: false, records: [], sealerTrusted: false, untrustedSigners: [] };
  const weak = weakKeyReason(input.sealerPublicKey);
  if (weak !== null) {
    verdict.error = new CustodyError('WEAK_KEY', `refusing the sealer's key: ${weak}`);
    verdict.rule = 'chain.sealer';
    return { input, verdict };
  }
  if (input.envelopes.length === 0) {
    verdict.error = new CustodyError('MALFORMED_BUNDLE', 'the bundle has no custody records (custody/chain/0000-seal.dsse.json is missing)', {
      member: 'custody/chain/0000-seal.dsse.json',
    });
    verdict.rule = 'chain.records';
    return { input, verdict };
  }
  const s: ChainState = { input, verdict };
  for (let i = 0; i < input.envelopes.length; i++) {
    const { member, bytes } = input.envelopes[i]!;
    const rv: RecordVerdict = { member, seq: i, action: 'unknown', ok: false, payloadSha256: '' };
    verdict.records.push(rv);
    const r: RecordCheck = { i, what: `record ${nnnn(i)}`, member, bytes, rv };
    const ok =
      checkMemberName(s, r) &&
      openRecordEnvelope(s, r) &&
      checkSigner(s, r) &&
      checkSignature(s, r) &&
      parsePayload(s, r) &&
      checkSubject(s, r) &&
      checkSequence(s, r) &&
      checkLink(s, r) &&
      checkTime(s, r) &&
      applyCustody(s, r);
    if (!ok) break;
    rv.ok = true;
    s.prevPayload = r.env!.payload;
    s.prevAt = r.parsed!.predicate.at;
  }
  if (s.custodian) verdict.custodian = s.custodian;
  if (s.pending) verdict.pendingTransfer = s.pending;
  verdict.ok = verdict.error === undefined;
  return { input, verdict };
}

/**
 * The verdict checkChain(input) gives, from records already checked
 * (checkRecords) for the same bundle without the clock: only trust is judged
 * again. `undefined` when they cannot stand for it: other records, another
 * bundle or sealer key, or a record dated past `input.now` (the clock rule
 * would stop the chain there), so the caller runs checkChain.
 *
 * Receive checks the records once from the headers, before hashing the
 * evidence, and verify reuses that check for the records it reads.
 */
export function rejudgeChain(checked: CheckedRecords, input: ChainInput): ChainVerdict | undefined {
  const c = checked.input;
  if (c.now !== undefined || c.bundleName !== input.bundleName || c.bundleDigest !== input.bundleDigest || c.baggingDate !== input.baggingDate) return undefined;
  if (!sameKey(c.sealerPublicKey, input.sealerPublicKey) || c.envelopes.length !== input.envelopes.length) return undefined;
  for (let i = 0; i < c.envelopes.length; i++) {
    const a = c.envelopes[i]!;
    const b = input.envelopes[i]!;
    if (a.member !== b.member || !sameBytes(a.bytes, b.bytes)) return undefined;
  }
  if (input.now !== undefined) {
    const latest = input.now.getTime() + MAX_CLOCK_SKEW_MS;
    if (checked.verdict.records.some((rv) => rv.predicate !== undefined && Date.parse(rv.predicate.at) > latest)) return undefined;
  }
  return judgeTrust(checked.verdict, input);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * chain.trust over records checked by every other rule (a copy: the checked
 * verdict is left as it was). A trust failure comes before the failure that
 * stopped the chain, as every record checked here precedes it.
 */
function judgeTrust(checked: ChainVerdict, input: ChainInput): ChainVerdict {
  const verdict: ChainVerdict = { ok: false, records: checked.records.map((rv) => ({ ...rv })), sealerTrusted: false, untrustedSigners: [] };
  if (checked.custodian) verdict.custodian = checked.custodian;
  if (checked.pendingTransfer) verdict.pendingTransfer = checked.pendingTransfer;
  for (let i = 0; i < verdict.records.length && verdict.records[i]!.ok; i++) checkTrust(input, verdict, i);
  if (verdict.error === undefined && checked.error !== undefined) {
    verdict.error = checked.error;
    if (checked.rule !== undefined) verdict.rule = checked.rule;
  }
  verdict.ok = verdict.error === undefined;
  return verdict;
}

/** chain.member: named custody/chain/NNNN-<seal|transfer|receive>.dsse.json. */
function checkMemberName(s: ChainState, r: RecordCheck): boolean {
  const named = memberParts(r.member, s.input.bundleName);
  if (!named) return broken(s, r, 'chain.member', 'CHAIN_ERROR', `${r.member}: a record member must be named custody/chain/NNNN-<seal|transfer|receive>.dsse.json`);
  r.named = named;
  r.rv.seq = named.seq;
  r.rv.action = named.action;
  return true;
}

/** chain.envelope: one DSSE envelope, exactly as custody writes it, with the in-toto payload type. */
function openRecordEnvelope(s: ChainState, r: RecordCheck): boolean {
  try {
    r.env = openEnvelope(r.bytes, `${r.what} (${r.member})`);
  } catch (e) {
    const ce = asCustodyError(e);
    return broken(s, r, 'chain.envelope', ce.code, ce.message);
  }
  r.rv.payloadSha256 = sha256Hex(r.env.payload);
  if (r.env.payloadType !== PAYLOAD_TYPE) {
    return broken(s, r, 'chain.envelope', 'MALFORMED_BUNDLE', `${r.what}: payloadType is ${JSON.stringify(r.env.payloadType)}, expected ${PAYLOAD_TYPE}`);
  }
  return true;
}

/** chain.signer: which key must have signed is decided by the chain so far, never by the record. */
function checkSigner(s: ChainState, r: RecordCheck): boolean {
  const env = r.env!;
  if (r.i === 0) {
    const sealer = bareIdentity(s.input.sealerPublicKey, 'the sealer');
    if (env.keyid !== sealer.keyid) {
      return broken(s, r, 'chain.signer', 'CHAIN_ERROR', `the seal record is signed by key id ${env.keyid}, not by the key that signed the tagmanifest (key id ${sealer.keyid})`);
    }
    r.signer = sealer;
    return true;
  }
  const { pending, custodian } = s;
  r.signer = [pending?.to, custodian].find((k): k is Identity => k !== undefined && k.keyid === env.keyid);
  if (r.signer) return true;
  if (pending && r.named!.action !== 'transfer') {
    return broken(s, r, 'chain.signer', 'CHAIN_ERROR', `receive by someone other than the named recipient: ${r.what} is signed by key id ${env.keyid}, but transfer ${nnnn(pending.seq)} named ${describe(pending.to)}`);
  }
  if (!pending && r.named!.action === 'receive') {
    return broken(s, r, 'chain.signer', 'CHAIN_ERROR', `receive without a pending transfer: ${r.what} is signed by key id ${env.keyid} and no transfer names it`);
  }
  return broken(s, r, 'chain.signer', 'CHAIN_ERROR', `transfer by someone other than the current custodian: ${r.what} is signed by key id ${env.keyid}, but the custodian is ${describe(custodian!)}`);
}

/** chain.signature: that key's signature over the PAE of the exact payload bytes. */
function checkSignature(s: ChainState, r: RecordCheck): boolean {
  const env = r.env!;
  if (!verifyEd25519(env.sig, pae(env.payloadType, env.payload), r.signer!.publicKey)) {
    return broken(s, r, 'chain.signature', 'SIGNATURE_ERROR', `the signature of ${r.what} does not verify with key id ${r.signer!.keyid}`);
  }
  return true;
}

/** chain.payload: only now is the payload parsed (strictly), and "by" must name the key that signed. */
function parsePayload(s: ChainState, r: RecordCheck): boolean {
  try {
    r.parsed = parseRecordPayload(r.env!.payload);
    r.by = identityFromParty(r.parsed.predicate.by);
  } catch (e) {
    const ce = asCustodyError(e);
    return broken(s, r, 'chain.payload', ce.code, `${r.what}: ${ce.message}`);
  }
  const pred = r.parsed.predicate;
  r.rv.predicate = pred;
  r.rv.seq = pred.seq;
  r.rv.action = pred.action;
  if (!sameKey(r.by, r.signer!)) {
    return broken(s, r, 'chain.signature', 'SIGNATURE_ERROR', `${r.what} names ${describe(r.by)} in "by", but its envelope is signed by key id ${r.signer!.keyid}`);
  }
  r.rv.signer = r.by;
  return true;
}

/** chain.subject: about this bundle. */
function checkSubject(s: ChainState, r: RecordCheck): boolean {
  const parsed = r.parsed!;
  if (parsed.subjectDigest !== s.input.bundleDigest) {
    return broken(s, r, 'chain.subject', 'CHAIN_ERROR', `${r.what} is about bundle sha256:${parsed.subjectDigest}, not this bundle (sha256:${s.input.bundleDigest})`);
  }
  if (parsed.subjectName !== s.input.bundleName) {
    return broken(s, r, 'chain.subject', 'CHAIN_ERROR', `${r.what} names bundle ${JSON.stringify(parsed.subjectName)}, not ${JSON.stringify(s.input.bundleName)}`);
  }
  return true;
}

/** chain.seq and chain.member: numbered in sequence, under the member name its record implies. */
function checkSequence(s: ChainState, r: RecordCheck): boolean {
  const pred = r.parsed!.predicate;
  if (pred.seq !== r.i) {
    return broken(s, r, 'chain.seq', 'CHAIN_ERROR', pred.seq < r.i ? `${r.what} repeats seq ${pred.seq} (expected ${r.i})` : `seq gap: expected ${r.i}, found ${pred.seq}`);
  }
  if (r.named!.seq !== pred.seq || r.named!.action !== pred.action) {
    return broken(s, r, 'chain.member', 'CHAIN_ERROR', `member ${r.member} does not match its record (seq ${pred.seq}, ${pred.action}): expected ${recordMemberName(pred.seq, pred.action)}`);
  }
  return true;
}

/** chain.prev: the seal links to nothing; every later record to the previous record's payload. */
function checkLink(s: ChainState, r: RecordCheck): boolean {
  const pred = r.parsed!.predicate;
  if (r.i === 0) {
    if (pred.action !== 'seal') return broken(s, r, 'chain.custody', 'CHAIN_ERROR', `the first record must be a seal, found ${pred.action}`);
    if (pred.prev !== null) return broken(s, r, 'chain.prev', 'CHAIN_ERROR', 'the seal record must have prev null');
    return true;
  }
  const expected = payloadDigest(s.prevPayload!);
  if (pred.prev !== expected) return broken(s, r, 'chain.prev', 'CHAIN_ERROR', `wrong prev in ${r.what}: ${String(pred.prev)}, expected ${expected} (the previous record's payload)`);
  if (pred.action === 'seal') return broken(s, r, 'chain.custody', 'CHAIN_ERROR', `${r.what} is a seal; only record 0000 may be`);
  return true;
}

/** chain.time: not earlier than the previous record, not before Bagging-Date, not ahead of the verifier's clock. */
function checkTime(s: ChainState, r: RecordCheck): boolean {
  const at = r.parsed!.predicate.at;
  if (s.prevAt !== undefined && at < s.prevAt) {
    return broken(s, r, 'chain.time', 'CHAIN_ERROR', `${r.what} is dated ${at}, earlier than the previous record (${s.prevAt})`);
  }
  if (s.input.baggingDate !== undefined && at.slice(0, 10) < s.input.baggingDate) {
    return broken(s, r, 'chain.time', 'CHAIN_ERROR', `${r.what} is dated ${at}, before the bundle was sealed (Bagging-Date ${s.input.baggingDate})`);
  }
  const now = s.input.now;
  if (now !== undefined && Date.parse(at) > now.getTime() + MAX_CLOCK_SKEW_MS) {
    return broken(s, r, 'chain.time', 'CHAIN_ERROR', `${r.what} is dated ${at}, more than ${MAX_CLOCK_SKEW_MS / 60000} minutes after this machine's clock (${now.toISOString()})`);
  }
  return true;
}

/** chain.custody: the seal makes its signer custodian; a transfer by the custodian names the next; a receive by exactly that one. */
function applyCustody(s: ChainState, r: RecordCheck): boolean {
  const pred = r.parsed!.predicate;
  const by = r.by!;
  if (pred.action === 'seal') {
    s.custodian = by;
    return true;
  }
  if (pred.action === 'transfer') {
    if (s.pending) return broken(s, r, 'chain.custody', 'CHAIN_ERROR', `transfer while transfer ${nnnn(s.pending.seq)} to ${describe(s.pending.to)} is still pending (not received)`);
    if (!s.custodian || !sameKey(by, s.custodian)) {
      return broken(s, r, 'chain.custody', 'CHAIN_ERROR', `transfer by someone other than the current custodian: ${r.what} is by ${describe(by)}`);
    }
    try {
      s.pending = { seq: pred.seq, to: identityFromParty(pred.to!) };
    } catch (e) {
      const ce = asCustodyError(e);
      return broken(s, r, 'chain.payload', ce.code, `${r.what} "to": ${ce.message}`);
    }
    return true;
  }
  if (!s.pending) return broken(s, r, 'chain.custody', 'CHAIN_ERROR', `receive without a pending transfer in ${r.what}`);
  if (!sameKey(by, s.pending.to)) {
    return broken(s, r, 'chain.custody', 'CHAIN_ERROR', `receive by someone other than the named recipient: ${r.what} is by ${describe(by)}, transfer ${nnnn(s.pending.seq)} named ${describe(s.pending.to)}`);
  }
  s.custodian = by;
  s.pending = undefined;
  return true;
}

/**
 * chain.trust: the sealer must be trusted; later custodians are introduced by
 * the transfer that names them (with strictTrust every signer must be trusted).
 * Not structural: the rest of the chain is still checked.
 */
function checkTrust(input: ChainInput, verdict: ChainVerdict, i: number): void {
  const rv = verdict.records[i]!;
  const by = rv.signer!;
  const what = `record ${nnnn(i)}`;
  const trusted = input.trusted.some((t) => sameKey(t, by.publicKey)) || (input.trustedFingerprints?.includes(by.fingerprint) ?? false);
  rv.trusted = trusted;
  if (i === 0) verdict.sealerTrusted = trusted;
  if (!trusted) verdict.untrustedSigners.push({ seq: rv.predicate!.seq, keyid: by.keyid, name: by.name });
  if (!trusted && !input.allowUntrusted && (i === 0 || input.strictTrust)) {
    const msg =
      i === 0
        ? `the sealer's key ${describe(by)} is not trusted (fingerprint ${by.fingerprint}); confirm it out of band, then custody trust add or --trust`
        : `signer of ${what}, ${describe(by)}, is not in the trust store (--strict-trust)`;
    rv.ok = false;
    rv.rule = 'chain.trust';
    rv.code = 'UNTRUSTED_KEY';
    rv.message = msg;
    if (verdict.error === undefined) {
      verdict.error = new CustodyError('UNTRUSTED_KEY', msg, { member: rv.member });
      verdict.rule = 'chain.trust';
    }
  }
}
