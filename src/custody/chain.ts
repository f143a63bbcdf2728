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
import { openEnvelope, pae, PAYLOAD_TYPE } from './dsse.js';
import { sameKey, type Identity } from './identity.js';
import {
  ACTIONS,
  identityFromParty,
  parseRecordPayload,
  payloadDigest,
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
  /** trust store + --trust */
  trusted: Uint8Array[];
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

export interface RecordVerdict {
  member: string;
  seq: number;
  action: string;
  ok: boolean;
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
  /** the first failure */
  error?: CustodyError;
}

const MEMBER_RE = /^custody\/chain\/(\d{4})-([a-z]+)\.dsse\.json$/;

function memberParts(member: string, bundleName: string): { seq: number; action: string } | null {
  const rel = member.startsWith(`${bundleName}/`) ? member.slice(bundleName.length + 1) : member;
  const m = MEMBER_RE.exec(rel);
  if (!m || !ACTIONS.includes(m[2] as RecordAction)) return null;
  return { seq: Number(m[1]), action: m[2]! };
}

const nnnn = (n: number): string => String(n).padStart(4, '0');

function bareIdentity(pub: Uint8Array, name: string): Identity {
  return { name, publicKey: pub, keyid: keyId(pub), fingerprint: fingerprint(pub) };
}

function describe(id: Identity): string {
  return `${id.name} (key id ${id.keyid})`;
}

export function checkChain(input: ChainInput): ChainVerdict {
  const records: RecordVerdict[] = [];
  const verdict: ChainVerdict = { ok: false, records, sealerTrusted: false, untrustedSigners: [] };
  const isTrusted = (k: Uint8Array): boolean => input.trusted.some((t) => sameKey(t, k));

  const weak = weakKeyReason(input.sealerPublicKey);
  if (weak !== null) {
    verdict.error = new CustodyError('WEAK_KEY', `refusing the sealer's key: ${weak}`);
    return verdict;
  }
  if (input.envelopes.length === 0) {
    verdict.error = new CustodyError('MALFORMED_BUNDLE', 'the bundle has no custody records (custody/chain/0000-seal.dsse.json is missing)', {
      member: 'custody/chain/0000-seal.dsse.json',
    });
    return verdict;
  }

  let custodian: Identity | undefined;
  let pending: { seq: number; to: Identity } | undefined;
  let prevPayload: Uint8Array | undefined;
  let prevAt: string | undefined;

  for (let i = 0; i < input.envelopes.length; i++) {
    const { member, bytes } = input.envelopes[i]!;
    const named = memberParts(member, input.bundleName);
    const rv: RecordVerdict = { member, seq: named?.seq ?? i, action: named?.action ?? 'unknown', ok: false, payloadSha256: '' };
    records.push(rv);
    const fail = (code: ErrorCode, message: string): ChainVerdict => {
      rv.code = code;
      rv.message = message;
      verdict.error ??= new CustodyError(code, message, { member });
      if (custodian) verdict.custodian = custodian;
      if (pending) verdict.pendingTransfer = pending;
      return verdict;
    };
    const what = `record ${nnnn(i)}`;

    if (!named) return fail('CHAIN_ERROR', `${member}: a record member must be named custody/chain/NNNN-<seal|transfer|receive>.dsse.json`);

    let env;
    try {
      env = openEnvelope(bytes, `${what} (${member})`);
    } catch (e) {
      const ce = e instanceof CustodyError ? e : new CustodyError('MALFORMED_BUNDLE', String(e));
      return fail(ce.code, ce.message);
    }
    rv.payloadSha256 = sha256Hex(env.payload);
    if (env.payloadType !== PAYLOAD_TYPE) return fail('MALFORMED_BUNDLE', `${what}: payloadType is ${JSON.stringify(env.payloadType)}, expected ${PAYLOAD_TYPE}`);

    // Which key must have signed is decided by the chain so far, not by the record.
    let signer: Identity | undefined;
    if (i === 0) {
      const sealer = bareIdentity(input.sealerPublicKey, 'the sealer');
      if (env.keyid !== sealer.keyid) {
        return fail('CHAIN_ERROR', `the seal record is signed by key id ${env.keyid}, not by the key that signed the tagmanifest (key id ${sealer.keyid})`);
      }
      signer = sealer;
    } else {
      signer = [pending?.to, custodian].find((k): k is Identity => k !== undefined && k.keyid === env.keyid);
      if (!signer) {
        if (pending && named.action !== 'transfer') {
          return fail('CHAIN_ERROR', `receive by someone other than the named recipient: ${what} is signed by key id ${env.keyid}, but transfer ${nnnn(pending.seq)} named ${describe(pending.to)}`);
        }
        if (!pending && named.action === 'receive') {
          return fail('CHAIN_ERROR', `receive without a pending transfer: ${what} is signed by key id ${env.keyid} and no transfer names it`);
        }
        return fail('CHAIN_ERROR', `transfer by someone other than the current custodian: ${what} is signed by key id ${env.keyid}, but the custodian is ${describe(custodian!)}`);
      }
    }
    if (!verifyEd25519(env.sig, pae(env.payloadType, env.payload), signer.publicKey)) {
      return fail('SIGNATURE_ERROR', `the signature of ${what} does not verify with key id ${signer.keyid}`);
    }

    // Only now is the payload parsed.
    let parsed;
    let by: Identity;
    try {
      parsed = parseRecordPayload(env.payload);
      by = identityFromParty(parsed.predicate.by);
    } catch (e) {
      const ce = e instanceof CustodyError ? e : new CustodyError('MALFORMED_BUNDLE', String(e));
      return fail(ce.code, `${what}: ${ce.message}`);
    }
    const pred = parsed.predicate;
    rv.predicate = pred;
    rv.seq = pred.seq;
    rv.action = pred.action;
    if (!sameKey(by, signer)) {
      return fail('SIGNATURE_ERROR', `${what} names ${describe(by)} in "by", but its envelope is signed by key id ${signer.keyid}`);
    }
    rv.signer = by;
    if (parsed.subjectDigest !== input.bundleDigest) {
      return fail('CHAIN_ERROR', `${what} is about bundle sha256:${parsed.subjectDigest}, not this bundle (sha256:${input.bundleDigest})`);
    }
    if (parsed.subjectName !== input.bundleName) {
      return fail('CHAIN_ERROR', `${what} names bundle ${JSON.stringify(parsed.subjectName)}, not ${JSON.stringify(input.bundleName)}`);
    }
    if (pred.seq !== i) {
      return fail('CHAIN_ERROR', pred.seq < i ? `${what} repeats seq ${pred.seq} (expected ${i})` : `seq gap: expected ${i}, found ${pred.seq}`);
    }
    if (named.seq !== pred.seq || named.action !== pred.action) {
      return fail('CHAIN_ERROR', `member ${member} does not match its record (seq ${pred.seq}, ${pred.action}): expected custody/chain/${nnnn(pred.seq)}-${pred.action}.dsse.json`);
    }
    if (i === 0) {
      if (pred.action !== 'seal') return fail('CHAIN_ERROR', `the first record must be a seal, found ${pred.action}`);
      if (pred.prev !== null) return fail('CHAIN_ERROR', 'the seal record must have prev null');
    } else {
      const expected = payloadDigest(prevPayload!);
      if (pred.prev !== expected) return fail('CHAIN_ERROR', `wrong prev in ${what}: ${String(pred.prev)}, expected ${expected} (the previous record's payload)`);
      if (pred.action === 'seal') return fail('CHAIN_ERROR', `${what} is a seal; only record 0000 may be`);
    }
    if (prevAt !== undefined && pred.at < prevAt) {
      return fail('CHAIN_ERROR', `${what} is dated ${pred.at}, earlier than the previous record (${prevAt})`);
    }
    if (input.baggingDate !== undefined && pred.at.slice(0, 10) < input.baggingDate) {
      return fail('CHAIN_ERROR', `${what} is dated ${pred.at}, before the bundle was sealed (Bagging-Date ${input.baggingDate})`);
    }
    if (input.now !== undefined && Date.parse(pred.at) > input.now.getTime() + MAX_CLOCK_SKEW_MS) {
      return fail('CHAIN_ERROR', `${what} is dated ${pred.at}, more than ${MAX_CLOCK_SKEW_MS / 60000} minutes after this machine's clock (${input.now.toISOString()})`);
    }

    if (pred.action === 'seal') {
      custodian = by;
    } else if (pred.action === 'transfer') {
      if (pending) return fail('CHAIN_ERROR', `transfer while transfer ${nnnn(pending.seq)} to ${describe(pending.to)} is still pending (not received)`);
      if (!custodian || !sameKey(by, custodian)) {
        return fail('CHAIN_ERROR', `transfer by someone other than the current custodian: ${what} is by ${describe(by)}`);
      }
      let to: Identity;
      try {
        to = identityFromParty(pred.to!);
      } catch (e) {
        const ce = e instanceof CustodyError ? e : new CustodyError('MALFORMED_BUNDLE', String(e));
        return fail(ce.code, `${what} "to": ${ce.message}`);
      }
      pending = { seq: pred.seq, to };
    } else {
      if (!pending) return fail('CHAIN_ERROR', `receive without a pending transfer in ${what}`);
      if (!sameKey(by, pending.to)) {
        return fail('CHAIN_ERROR', `receive by someone other than the named recipient: ${what} is by ${describe(by)}, transfer ${nnnn(pending.seq)} named ${describe(pending.to)}`);
      }
      custodian = by;
      pending = undefined;
    }

    // Trust: the sealer must be trusted; later custodians are introduced by the transfer that names them.
    const trusted = isTrusted(signer.publicKey);
    rv.trusted = trusted;
    if (i === 0) verdict.sealerTrusted = trusted;
    if (!trusted) verdict.untrustedSigners.push({ seq: pred.seq, keyid: by.keyid, name: by.name });
    if (!trusted && !input.allowUntrusted && (i === 0 || input.strictTrust)) {
      // Not structural: record the failure and keep checking the rest of the chain.
      const msg =
        i === 0
          ? `the sealer's key ${describe(by)} is not trusted (fingerprint ${by.fingerprint}); confirm it out of band, then custody trust add or --trust`
          : `signer of ${what}, ${describe(by)}, is not in the trust store (--strict-trust)`;
      rv.code = 'UNTRUSTED_KEY';
      rv.message = msg;
      verdict.error ??= new CustodyError('UNTRUSTED_KEY', msg, { member });
    } else {
      rv.ok = true;
    }
    prevPayload = env.payload;
    prevAt = pred.at;
  }

  if (custodian) verdict.custodian = custodian;
  if (pending) verdict.pendingTransfer = pending;
  verdict.ok = verdict.error === undefined;
  return verdict;
}
