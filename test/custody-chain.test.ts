/** The chain rules of DESIGN §4: a good chain, then each rule broken once, each with its own reason. */
import { describe, expect, it } from 'vitest';
import { checkChain, checkRecords, rejudgeChain, type ChainInput, type ChainVerdict } from '../src/custody/chain.js';
import { signerFromSeed, type Signer } from '../src/custody/identity.js';
import { signEnvelope } from '../src/custody/dsse.js';
import {
  buildRecordPayload,
  makeRecord,
  parseRecordPayload,
  partyFromIdentity,
  payloadDigest,
  recordMemberName,
  type RecordAction,
  type RecordPredicate,
} from '../src/custody/record.js';
import { keyId } from '../src/custody/ed25519.js';
import { toBase64 } from '../src/custody/encoding.js';

const sealer = signerFromSeed(new Uint8Array(32).fill(11), { name: 'Ana Examiner', org: 'Police Lab', role: 'examiner' });
const lab = signerFromSeed(new Uint8Array(32).fill(12), { name: 'Rui Receiver', org: 'Foreign Lab' });
const courier = signerFromSeed(new Uint8Array(32).fill(13), { name: 'Carl Courier' });
const mallory = signerFromSeed(new Uint8Array(32).fill(14), { name: 'Mallory' });

const NAME = 'case-2026-041';
const DIGEST = 'ab'.repeat(32);
const T = (m: number) => `2026-11-27T14:${String(m).padStart(2, '0')}:00.000Z`;

interface Rec {
  member: string;
  bytes: Uint8Array;
  payload: Uint8Array;
}

/** Builds a list of records, chaining prev automatically unless a step overrides it. */
function chain(
  steps: {
    signer: Signer;
    action: RecordAction;
    by?: Signer;
    to?: Signer;
    seq?: number;
    prev?: string | null;
    at?: string;
    digest?: string;
    member?: string;
    raw?: (payloadText: string) => string;
  }[],
): Rec[] {
  const out: Rec[] = [];
  steps.forEach((s, i) => {
    const seq = s.seq ?? i;
    const predicate: RecordPredicate = {
      seq,
      prev: s.prev !== undefined ? s.prev : i === 0 ? null : payloadDigest(out[i - 1]!.payload),
      action: s.action,
      at: s.at ?? T(i),
      by: partyFromIdentity((s.by ?? s.signer).identity),
      ...(s.to ? { to: partyFromIdentity(s.to.identity) } : {}),
      ...(s.action === 'transfer' ? { reason: 'MLA request 2026/17' } : {}),
    };
    let payload = buildRecordPayload({ bundleName: NAME, bundleDigest: s.digest ?? DIGEST, predicate });
    if (s.raw) payload = new TextEncoder().encode(s.raw(new TextDecoder().decode(payload)));
    out.push({ member: s.member ?? recordMemberName(seq, s.action), bytes: signEnvelope(payload, s.signer), payload });
  });
  return out;
}

function input(records: Rec[], over: Partial<ChainInput> = {}): ChainInput {
  return {
    bundleName: NAME,
    bundleDigest: DIGEST,
    envelopes: records.map(({ member, bytes }) => ({ member, bytes })),
    sealerPublicKey: sealer.identity.publicKey,
    trusted: [sealer.identity.publicKey],
    strictTrust: false,
    ...over,
  };
}

const good = () =>
  chain([
    { signer: sealer, action: 'seal' },
    { signer: sealer, action: 'transfer', to: lab },
    { signer: lab, action: 'receive' },
    { signer: lab, action: 'transfer', to: courier },
    { signer: courier, action: 'receive' },
  ]);

describe('a good chain', () => {
  it('verifies, and says who holds custody', () => {
    const v = checkChain(input(good()));
    expect(v.error).toBeUndefined();
    expect(v.ok).toBe(true);
    expect(v.records.map((r) => [r.seq, r.action, r.ok])).toEqual([
      [0, 'seal', true],
      [1, 'transfer', true],
      [2, 'receive', true],
      [3, 'transfer', true],
      [4, 'receive', true],
    ]);
    expect(v.custodian?.keyid).toBe(courier.identity.keyid);
    expect(v.pendingTransfer).toBeUndefined();
    expect(v.sealerTrusted).toBe(true);
    expect(v.untrustedSigners.map((u) => u.name)).toEqual(['Rui Receiver', 'Rui Receiver', 'Carl Courier']);
    expect(v.records[1]!.predicate?.reason).toBe('MLA request 2026/17');
  });

  it('reports a pending transfer; members may carry the bag-name prefix', () => {
    const recs = good().slice(0, 2).map((r) => ({ ...r, member: `${NAME}/${r.member}` }));
    const v = checkChain(input(recs));
    expect(v.ok).toBe(true);
    expect(v.custodian?.keyid).toBe(sealer.identity.keyid);
    expect(v.pendingTransfer).toMatchObject({ seq: 1, to: { keyid: lab.identity.keyid, name: 'Rui Receiver' } });
  });

  it('makeRecord signs with the signer and refuses a "by" that is someone else', () => {
    const predicate: RecordPredicate = { seq: 0, prev: null, action: 'seal', at: T(0), by: partyFromIdentity(sealer.identity) };
    const r = makeRecord(sealer, { bundleName: NAME, bundleDigest: DIGEST, predicate });
    expect(checkChain(input([{ member: recordMemberName(0, 'seal'), ...r, bytes: r.envelope }])).ok).toBe(true);
    expect(() => makeRecord(lab, { bundleName: NAME, bundleDigest: DIGEST, predicate })).toThrow(/by/);
    expect(parseRecordPayload(r.payload).predicate).toEqual(predicate);
  });
});

describe('each rule broken once', () => {
  const messages = new Set<string>();
  const expectBroken = (v: ReturnType<typeof checkChain>, code: string, re: RegExp, at: number) => {
    expect(v.ok).toBe(false);
    expect(v.error?.code).toBe(code);
    expect(v.error?.message).toMatch(re);
    const bad = v.records.find((r) => !r.ok)!;
    expect(bad.seq).toBe(at);
    expect(bad.code).toBe(code);
    const kind = v.error!.message.replace(/[0-9a-f]{16,}/g, '').replace(/\d+/g, '');
    expect(messages.has(kind), `message reused: ${kind}`).toBe(false);
    messages.add(kind);
  };

  it('no records at all', () => {
    const v = checkChain(input([]));
    expect(v.error?.code).toBe('MALFORMED_BUNDLE');
    expect(v.error?.message).toMatch(/no custody records/);
  });

  it('seq gap', () => {
    const v = checkChain(input(chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'transfer', to: lab, seq: 2 }])));
    expectBroken(v, 'CHAIN_ERROR', /seq gap: expected 1, found 2/, 2);
  });

  it('seq repeat', () => {
    const recs = chain([
      { signer: sealer, action: 'seal' },
      { signer: sealer, action: 'transfer', to: lab },
      { signer: lab, action: 'receive', seq: 1 },
    ]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /repeats seq 1/, 1);
  });

  it('wrong prev', () => {
    const recs = chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'transfer', to: lab, prev: `sha256:${'00'.repeat(32)}` }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /wrong prev in record 0001/, 1);
  });

  it('a seal with a prev', () => {
    const recs = chain([{ signer: sealer, action: 'seal', prev: `sha256:${'00'.repeat(32)}` }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /seal record must have prev null/, 0);
  });

  it('subject is not the bundle digest (a record lifted from another bundle)', () => {
    const recs = chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'transfer', to: lab, digest: 'cd'.repeat(32) }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /is about bundle sha256:cdcd.*not this bundle/, 1);
  });

  it('subject names another bundle', () => {
    const recs = chain([{ signer: sealer, action: 'seal', raw: (t) => t.replace(`"name":"${NAME}"`, '"name":"other"') }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /names bundle "other"/, 0);
  });

  it('a time earlier than the previous record', () => {
    const recs = chain([{ signer: sealer, action: 'seal', at: T(30) }, { signer: sealer, action: 'transfer', to: lab, at: T(29) }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /dated .* earlier than the previous record/, 1);
  });

  it('receive by someone other than the named recipient', () => {
    const recs = chain([
      { signer: sealer, action: 'seal' },
      { signer: sealer, action: 'transfer', to: lab },
      { signer: mallory, action: 'receive' },
    ]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /receive by someone other than the named recipient: record 0002 is signed by key id/, 2);
  });

  it('receive signed by the sender instead of the recipient', () => {
    const recs = chain([
      { signer: sealer, action: 'seal' },
      { signer: sealer, action: 'transfer', to: lab },
      { signer: sealer, action: 'receive' },
    ]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /receive by someone other than the named recipient: record 0002 is by Ana/, 2);
  });

  it('transfer by someone other than the current custodian', () => {
    const recs = chain([{ signer: sealer, action: 'seal' }, { signer: mallory, action: 'transfer', to: mallory }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /transfer by someone other than the current custodian: record 0001 is signed by key id/, 1);
  });

  it('a second transfer while one is pending (the old custodian hands it to someone else)', () => {
    const recs = chain([
      { signer: sealer, action: 'seal' },
      { signer: sealer, action: 'transfer', to: lab },
      { signer: sealer, action: 'transfer', to: mallory },
    ]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /transfer while transfer 0001 to Rui Receiver .* is still pending/, 2);
  });

  it('receive without a pending transfer', () => {
    const recs = chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'receive' }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /receive without a pending transfer in record 0001/, 1);
  });

  it('receive by a stranger with no transfer at all', () => {
    const recs = chain([{ signer: sealer, action: 'seal' }, { signer: mallory, action: 'receive' }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /receive without a pending transfer: record 0001 is signed by key id .* no transfer names it/, 1);
  });

  it('the seal record is signed by a key other than the tagmanifest signer', () => {
    const recs = chain([{ signer: mallory, action: 'seal' }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /seal record is signed by key id .* not by the key that signed the tagmanifest/, 0);
  });

  it('the first record is not a seal', () => {
    const recs = chain([{ signer: sealer, action: 'transfer', to: lab }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /first record must be a seal/, 0);
  });

  it('a seal after the first record', () => {
    const recs = chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'seal' }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /only record 0000 may be/, 1);
  });

  it('member name does not match the record', () => {
    const recs = chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'transfer', to: lab, member: 'custody/chain/0001-receive.dsse.json' }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /member custody\/chain\/0001-receive.dsse.json does not match its record/, 1);
  });

  it('a member outside the naming scheme', () => {
    const recs = chain([{ signer: sealer, action: 'seal', member: 'custody/chain/seal.json' }]);
    expectBroken(checkChain(input(recs)), 'CHAIN_ERROR', /must be named custody\/chain\/NNNN/, 0);
  });

  it('a signature that does not verify', () => {
    const recs = chain([{ signer: sealer, action: 'seal' }]);
    const doc = JSON.parse(new TextDecoder().decode(recs[0]!.bytes));
    const sig = Buffer.from(doc.signatures[0].sig, 'base64');
    sig[5]! ^= 0x40;
    doc.signatures[0].sig = sig.toString('base64');
    recs[0]!.bytes = new TextEncoder().encode(`${JSON.stringify(doc)}\n`); // the form custody writes: only the signature or payload differs
    expectBroken(checkChain(input(recs)), 'SIGNATURE_ERROR', /signature of record 0000 does not verify/, 0);
  });

  it('a payload changed after signing', () => {
    const recs = chain([{ signer: sealer, action: 'seal' }]);
    const doc = JSON.parse(new TextDecoder().decode(recs[0]!.bytes));
    doc.payload = toBase64(new TextEncoder().encode(Buffer.from(doc.payload, 'base64').toString().replace('Ana', 'Eve')));
    recs[0]!.bytes = new TextEncoder().encode(`${JSON.stringify(doc)}\n`); // the form custody writes: only the signature or payload differs
    const v = checkChain(input(recs));
    expect(v.error?.code).toBe('SIGNATURE_ERROR');
  });

  it('the envelope keyid is not the key named in "by"', () => {
    const recs = chain([{ signer: sealer, action: 'seal', by: lab }]);
    expectBroken(checkChain(input(recs)), 'SIGNATURE_ERROR', /names Rui Receiver .* in "by", but its envelope is signed by key id/, 0);
  });

  it('a payload with a duplicate key is refused after its signature verifies', () => {
    const recs = chain([{ signer: sealer, action: 'seal', raw: (t) => t.replace('"action":"seal"', '"action":"seal","action":"seal"') }]);
    expectBroken(checkChain(input(recs)), 'MALFORMED_BUNDLE', /duplicate key "action"/, 0);
  });

  it('a transfer to a weak (small-order) key', () => {
    const weak = new Uint8Array(32);
    weak[0] = 1; // the identity point
    const recs = chain([
      { signer: sealer, action: 'seal' },
      {
        signer: sealer,
        action: 'transfer',
        to: lab,
        raw: (t) => t.replace(`"keyid":"${lab.identity.keyid}","publicKey":"${toBase64(lab.identity.publicKey)}"`, `"keyid":"${keyId(weak)}","publicKey":"${toBase64(weak)}"`),
      },
    ]);
    expectBroken(checkChain(input(recs)), 'WEAK_KEY', /"to": refusing public key: it is a point of small order/, 1);
  });

  it('an untrusted sealer', () => {
    const v = checkChain(input(good(), { trusted: [] }));
    expectBroken(v, 'UNTRUSTED_KEY', /sealer's key Ana Examiner .* is not trusted/, 0);
    // trust is not structural: the rest of the chain was still checked
    expect(v.records).toHaveLength(5);
    expect(v.records.slice(1).every((r) => r.ok)).toBe(true);
  });

  it('--allow-untrusted: the chain is checked, the verdict says the sealer is untrusted', () => {
    const v = checkChain(input(good(), { trusted: [], allowUntrusted: true }));
    expect(v.ok).toBe(true);
    expect(v.sealerTrusted).toBe(false);
    expect(v.untrustedSigners.map((u) => u.seq)).toEqual([0, 1, 2, 3, 4]);
    const broken = chain([{ signer: sealer, action: 'seal' }, { signer: mallory, action: 'transfer', to: mallory }]);
    expect(checkChain(input(broken, { trusted: [], allowUntrusted: true })).error?.code).toBe('CHAIN_ERROR');
  });

  it('--strict-trust: a later signer not in the trust store', () => {
    const v = checkChain(input(good(), { strictTrust: true, trusted: [sealer.identity.publicKey, lab.identity.publicKey] }));
    expectBroken(v, 'UNTRUSTED_KEY', /signer of record 0004, Carl Courier .* is not in the trust store \(--strict-trust\)/, 4);
    expect(checkChain(input(good(), { strictTrust: true, trusted: [sealer, lab, courier].map((s) => s.identity.publicKey) })).ok).toBe(true);
  });

  it('a small-order sealer key with the (identity, 0) signature is refused', () => {
    const identityKey = new Uint8Array(32);
    identityKey[0] = 1;
    const sig = new Uint8Array(64);
    sig[0] = 1; // R = identity, S = 0: "verifies" any message under the identity key in lenient verifiers
    const payload = new TextEncoder().encode('{}');
    const envelope = new TextEncoder().encode(
      JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: toBase64(payload), signatures: [{ keyid: keyId(identityKey), sig: toBase64(sig) }] }),
    );
    const v = checkChain({ ...input([]), envelopes: [{ member: recordMemberName(0, 'seal'), bytes: envelope }], sealerPublicKey: identityKey, trusted: [identityKey] });
    expect(v.ok).toBe(false);
    expect(v.error?.code).toBe('WEAK_KEY');
  });
});

function expectChainError(v: ReturnType<typeof checkChain>, code: string, re: RegExp, at: number): void {
  expect(v.ok).toBe(false);
  expect(v.error?.code).toBe(code);
  expect(v.error?.message).toMatch(re);
  expect(v.records.find((r) => !r.ok)?.seq).toBe(at);
}

describe('dates a forger could choose', () => {
  it('refuses a record dated more than the allowed skew after the verifier clock, naming both dates', () => {
    const recs = chain([
      { signer: sealer, action: 'seal' },
      { signer: sealer, action: 'transfer', to: lab, at: '2099-01-01T00:00:00.000Z' },
    ]);
    const now = new Date('2026-11-28T00:00:00.000Z');
    expectChainError(checkChain(input(recs, { now })), 'CHAIN_ERROR', /record 0001 is dated 2099-01-01T00:00:00.000Z, more than 10 minutes after this machine's clock \(2026-11-28T00:00:00.000Z\)/, 1);
    // within the skew, and without a clock, it is accepted
    expect(checkChain(input(recs, { now: new Date('2098-12-31T23:55:00.000Z') })).ok).toBe(true);
    expect(checkChain(input(recs)).ok).toBe(true);
  });

  it('refuses a record dated before the day the bundle was sealed (Bagging-Date)', () => {
    const recs = chain([{ signer: sealer, action: 'seal' }]); // dated 2026-11-27
    expectChainError(checkChain(input(recs, { baggingDate: '2026-11-28' })), 'CHAIN_ERROR', /record 0000 is dated 2026-11-27T14:00:00.000Z, before the bundle was sealed \(Bagging-Date 2026-11-28\)/, 0);
    expect(checkChain(input(recs, { baggingDate: '2026-11-27' })).ok).toBe(true);
  });
});

describe('free text a record may carry', () => {
  it('refuses bidi controls and line separators in a signed reason, keeps line breaks', () => {
    for (const bad of ['pay\u202Egnp.exe', 'a\u2028b', 'x\u009b2J', 'a\u001b[2Kb']) {
      const recs = chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'transfer', to: lab, raw: (t) => t.replace('MLA request 2026/17', JSON.stringify(bad).slice(1, -1)) }]);
      expectChainError(checkChain(input(recs)), 'MALFORMED_BUNDLE', /predicate\.reason contains a (bidi control|control character)/, 1);
    }
    const ok = chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'transfer', to: lab, raw: (t) => t.replace('MLA request 2026/17', 'line one\\nline two') }]);
    expect(checkChain(input(ok)).ok).toBe(true);
  });
});

describe('stable rule ids', () => {
  it('names the rule each broken record breaks, on the record and on the verdict', () => {
    const cases: [string, Rec[], string][] = [
      ['seq', chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'transfer', to: lab, seq: 2 }]), 'chain.seq'],
      ['prev', chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'transfer', to: lab, prev: `sha256:${'0'.repeat(64)}` }]), 'chain.prev'],
      ['subject', chain([{ signer: sealer, action: 'seal', digest: 'cd'.repeat(32) }]), 'chain.subject'],
      ['signer', chain([{ signer: sealer, action: 'seal' }, { signer: mallory, action: 'transfer', to: lab }]), 'chain.signer'],
      ['time', chain([{ signer: sealer, action: 'seal', at: T(5) }, { signer: sealer, action: 'transfer', to: lab, at: T(1) }]), 'chain.time'],
      ['custody', chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'transfer', to: lab }, { signer: sealer, action: 'transfer', to: courier }]), 'chain.custody'],
      ['member', chain([{ signer: sealer, action: 'seal', member: 'custody/chain/seal.json' }]), 'chain.member'],
    ];
    for (const [what, recs, rule] of cases) {
      const v = checkChain(input(recs));
      expect(v.rule, what).toBe(rule);
      expect(v.records.find((r) => !r.ok)?.rule, what).toBe(rule);
    }
    const untrusted = checkChain(input(good(), { trusted: [] }));
    expect(untrusted.rule).toBe('chain.trust');
    expect(checkChain(input(good())).rule).toBeUndefined();
  });
});

describe('records checked once, trust and the clock judged again (receive reuses its header check in verify)', () => {
  /** A verdict as callers see it: the error by code, message and details. */
  const plain = (v: ChainVerdict) => ({ ...v, error: v.error && { code: v.error.code, message: v.error.message, details: v.error.details } });
  const chains: [string, Rec[]][] = [
    ['good', good()],
    ['pending transfer', good().slice(0, 4)],
    ['signer broken at 3', chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'transfer', to: lab }, { signer: lab, action: 'receive' }, { signer: mallory, action: 'transfer', to: courier }])],
    ['time broken at 2', chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'transfer', to: lab, at: T(9) }, { signer: lab, action: 'receive', at: T(3) }])],
    ['dated far ahead at 1', chain([{ signer: sealer, action: 'seal' }, { signer: sealer, action: 'transfer', to: lab, at: '2099-01-01T00:00:00.000Z' }, { signer: lab, action: 'receive', at: '2099-01-01T00:00:01.000Z' }])],
    ['no records', []],
  ];
  const policies: [string, Partial<ChainInput>][] = [
    ['sealer trusted', {}],
    ['nobody trusted', { trusted: [] }],
    ['--allow-untrusted', { trusted: [], allowUntrusted: true }],
    ['--strict-trust, courier not trusted', { strictTrust: true, trusted: [sealer.identity.publicKey, lab.identity.publicKey] }],
    ['trusted by fingerprint', { trusted: [], trustedFingerprints: [sealer.identity.fingerprint] }],
    ['a clock in 2026', { now: new Date('2026-11-28T00:00:00.000Z') }],
    ['a clock in 2026, nobody trusted', { trusted: [], now: new Date('2026-11-28T00:00:00.000Z') }],
    ['a clock before the records', { now: new Date('2026-11-27T14:00:00.000Z') }],
  ];

  it('gives exactly the verdict checkChain gives, or nothing when the clock would stop the chain', () => {
    let reused = 0;
    for (const [what, recs] of chains) {
      const checked = checkRecords(input(recs, { trusted: [], allowUntrusted: true }));
      const before = JSON.stringify(plain(checked.verdict));
      for (const [policy, over] of policies) {
        const full = checkChain(input(recs, over));
        const again = rejudgeChain(checked, input(recs, over));
        if (again === undefined) {
          // only when a record is dated past the clock the policy gives
          expect(over.now, `${what}, ${policy}`).toBeDefined();
          expect(full.records.some((r) => r.rule === 'chain.time'), `${what}, ${policy}`).toBe(true);
          continue;
        }
        reused++;
        expect(plain(again), `${what}, ${policy}`).toEqual(plain(full));
      }
      // judging leaves the checked records as they were
      expect(JSON.stringify(plain(checked.verdict))).toBe(before);
    }
    expect(reused).toBeGreaterThan(chains.length * (policies.length - 3));
  });

  it('is not used for other records, another bundle, or records checked against a clock', () => {
    const recs = good();
    const checked = checkRecords(input(recs, { trusted: [], allowUntrusted: true }));
    expect(rejudgeChain(checked, input(recs))).toBeDefined();
    expect(rejudgeChain(checked, input(recs.slice(0, 4)))).toBeUndefined();
    const swapped = [...recs];
    swapped[2] = { ...recs[2]!, bytes: Uint8Array.from(recs[2]!.bytes, (b, i) => (i === 40 ? b ^ 1 : b)) };
    expect(rejudgeChain(checked, input(swapped))).toBeUndefined();
    expect(rejudgeChain(checked, input(recs, { bundleDigest: 'cd'.repeat(32) }))).toBeUndefined();
    expect(rejudgeChain(checked, input(recs, { bundleName: 'case-2026-042' }))).toBeUndefined();
    expect(rejudgeChain(checked, input(recs, { sealerPublicKey: lab.identity.publicKey }))).toBeUndefined();
    expect(rejudgeChain(checked, input(recs, { baggingDate: '2026-11-27' }))).toBeUndefined();
    const withClock = checkRecords(input(recs, { now: new Date('2026-11-28T00:00:00.000Z') }));
    expect(rejudgeChain(withClock, input(recs))).toBeUndefined();
  });
});
