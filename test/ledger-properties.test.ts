/** Property tests (fast-check): records round-trip byte for byte, imports are idempotent, forks are caught, case ids stay safe. */
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustodyError } from '../src/core/errors.js';
import { isValidCaseId, openLedger, type Ledger, type RecordInput } from '../src/ledger/index.js';
import { tempDir } from './helpers/cli.js';
import { randomDigest, sealInput } from './helpers/ledger-fixtures.js';

let ledger: Ledger;
beforeAll(() => {
  ledger = openLedger(path.join(tempDir(), 'home'));
});
afterAll(() => ledger.close());

const bytes = fc.uint8Array({ minLength: 1, maxLength: 300 });
const chainArb = fc
  .array(fc.record({ payload: bytes, envelope: bytes, keyid: fc.stringMatching(/^[0-9a-f]{16}$/) }), { minLength: 1, maxLength: 8 })
  .map((rs) =>
    rs.map(
      (r, seq): RecordInput => ({
        seq,
        action: seq === 0 ? 'seal' : seq % 2 === 1 ? 'transfer' : 'receive',
        payload: r.payload,
        envelope: r.envelope,
        signerKeyid: r.keyid,
        at: new Date(Date.UTC(2026, 0, 1, 0, seq)).toISOString(),
      }),
    ),
  );

describe('ledger properties', () => {
  it('any chain imported in any order reads back byte for byte in seq order; re-importing any subset adds nothing', () => {
    fc.assert(
      fc.property(chainArb, fc.func(fc.integer()), fc.nat(), (chain, shuffleKey, cut) => {
        const digest = randomDigest();
        const shuffled = [...chain].sort((a, b) => shuffleKey(a.seq) - shuffleKey(b.seq));
        const base = sealInput({ bundleDigest: digest });
        expect(ledger.importBundle({ ...base, records: shuffled }).recordsAdded).toBe(chain.length);
        const prefix = chain.slice(0, 1 + (cut % chain.length));
        expect(ledger.importBundle({ ...base, records: prefix })).toEqual({ bundleAdded: false, recordsAdded: 0 });
        const back = ledger.records({ bundleDigest: digest });
        expect(back.map((r) => r.seq)).toEqual(chain.map((r) => r.seq));
        back.forEach((r, i) => {
          expect(Buffer.from(r.payload).equals(Buffer.from(chain[i]!.payload))).toBe(true);
          expect(Buffer.from(r.envelope).equals(Buffer.from(chain[i]!.envelope))).toBe(true);
          expect(r.signerKeyid).toBe(chain[i]!.signerKeyid);
        });
        const last = chain[chain.length - 1]!.action;
        expect(ledger.getBundle(digest)?.state).toBe({ seal: 'sealed', transfer: 'in transit', receive: 'received' }[last]);
      }),
      { numRuns: 60 },
    );
  });

  it('changing any byte of any stored payload is refused as a fork and changes nothing', () => {
    fc.assert(
      fc.property(chainArb, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (chain, which, at, xor) => {
        const digest = randomDigest();
        const base = sealInput({ bundleDigest: digest });
        ledger.importBundle({ ...base, records: chain });
        const i = which % chain.length;
        const payload = new Uint8Array(chain[i]!.payload);
        payload[at % payload.length]! ^= xor;
        const forked = chain.map((r, j) => (j === i ? { ...r, payload } : r));
        let code: string | undefined;
        try {
          ledger.importBundle({ ...base, records: forked });
        } catch (e) {
          code = (e as CustodyError).code;
        }
        expect(code).toBe('CHAIN_ERROR');
        expect(ledger.records({ bundleDigest: digest }).map((r) => Buffer.from(r.payload).toString('hex'))).toEqual(
          chain.map((r) => Buffer.from(r.payload).toString('hex')),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('a valid case id is a single safe path component with no space, control character or leading dash/dot', () => {
    const unit = fc.constantFrom('a', 'Z', '0', '9', '.', '-', '_', ':', '/', '\\', ' ', '\n', '\u0000', '\u001b', 'é', '..');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 140 }), (id) => {
        if (!isValidCaseId(id)) return;
        expect(path.basename(path.join('/cases', id))).toBe(id);
        expect(path.dirname(path.join('/cases', id))).toBe('/cases');
        expect(id).not.toMatch(/^[-.]|[\s/\\\u0000-\u001f\u007f]|[^\x21-\x7e]/);
      }),
      { numRuns: 3000 },
    );
    fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/), (id) => isValidCaseId(id)));
  });
});
