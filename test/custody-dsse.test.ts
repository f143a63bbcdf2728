/** Strict JSON, strict base64 and DSSE envelopes. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseStrictJson } from '../src/custody/strict-json.js';
import { fromBase64Strict } from '../src/custody/encoding.js';
import { openEnvelope, pae, PAYLOAD_TYPE, signEnvelope } from '../src/custody/dsse.js';
import { signerFromSeed } from '../src/custody/identity.js';
import { verifyEd25519 } from '../src/custody/ed25519.js';
import { CustodyError } from '../src/core/errors.js';

const enc = (s: string) => new TextEncoder().encode(s);
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as CustodyError).code;
  }
  return 'no error';
};

describe('parseStrictJson', () => {
  it('agrees with JSON.parse on valid JSON (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v);
        expect(parseStrictJson(text)).toEqual(JSON.parse(text));
        expect(parseStrictJson(enc(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses duplicate keys at any depth', () => {
    expect(() => parseStrictJson('{"a":1,"a":2}')).toThrow(/duplicate key "a"/);
    expect(() => parseStrictJson('{"x":[{"b":1,"b":1}]}')).toThrow(/duplicate key "b"/);
    // the same key spelled with an escape is the same key
    expect(() => parseStrictJson('{"by":1,"b\\u0079":2}')).toThrow(/duplicate/);
  });

  it('refuses what JSON.parse lets through or a different reader would read differently', () => {
    for (const bad of ['\ufeff{}', '{"a":"\\ud800"}', '{"a":1} x', '{"a":01}', "{'a':1}", '[1,]', '{"a":"\u0001"}', '[' .repeat(100) + ']'.repeat(100)]) {
      expect(codeOf(() => parseStrictJson(bad)), bad).toBe('MALFORMED_BUNDLE');
    }
    expect(() => parseStrictJson(Uint8Array.from([0x22, 0xff, 0x22]))).toThrow(/UTF-8/);
  });

  it('a __proto__ key is data, not a prototype', () => {
    const v = parseStrictJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect((v as any).polluted).toBeUndefined();
    expect(Object.keys(v)).toEqual(['__proto__']);
  });
});

describe('fromBase64Strict', () => {
  it('accepts only the canonical spelling', () => {
    expect(fromBase64Strict('AAE=', 'x')).toEqual(Uint8Array.from([0, 1]));
    for (const bad of ['AAF=', 'AAE', 'AA E=', 'AAE==', '-_8=', 'AAE=\n']) {
      expect(codeOf(() => fromBase64Strict(bad, 'x'))).toBe('MALFORMED_BUNDLE');
    }
  });
});

describe('DSSE', () => {
  const signer = signerFromSeed(new Uint8Array(32).fill(2), { name: 'Examiner' });
  const payload = enc('{"hello":"world"}');

  it('PAE is the DSSE v1 encoding', () => {
    // From the DSSE spec protocol.md example: payloadType "http://example.com/HelloWorld", payload "hello world"
    expect(new TextDecoder().decode(pae('http://example.com/HelloWorld', enc('hello world')))).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('sign then open: one signature by the signer over PAE of the exact bytes', () => {
    const env = signEnvelope(payload, signer);
    const o = openEnvelope(env);
    expect(o.payloadType).toBe(PAYLOAD_TYPE);
    expect(o.payload).toEqual(payload);
    expect(o.keyid).toBe(signer.identity.keyid);
    expect(verifyEd25519(o.sig, pae(o.payloadType, o.payload), signer.identity.publicKey)).toBe(true);
    expect(verifyEd25519(o.sig, payload, signer.identity.publicKey)).toBe(false);
  });

  it('refuses two signatures, none, unknown fields, duplicate keys, non-canonical base64', () => {
    const doc = JSON.parse(new TextDecoder().decode(signEnvelope(payload, signer)));
    const variant = (f: (d: any) => void) => {
      const d = structuredClone(doc);
      f(d);
      return enc(JSON.stringify(d));
    };
    expect(codeOf(() => openEnvelope(variant((d) => d.signatures.push(d.signatures[0]))))).toBe('SIGNATURE_ERROR');
    expect(codeOf(() => openEnvelope(variant((d) => (d.signatures = []))))).toBe('SIGNATURE_ERROR');
    expect(codeOf(() => openEnvelope(variant((d) => (d.extra = 1))))).toBe('MALFORMED_BUNDLE');
    expect(codeOf(() => openEnvelope(variant((d) => (d.signatures[0].cert = 'x'))))).toBe('MALFORMED_BUNDLE');
    expect(codeOf(() => openEnvelope(variant((d) => (d.payload = d.payload.replace(/=*$/, '')))))).toBe('MALFORMED_BUNDLE');
    expect(codeOf(() => openEnvelope(variant((d) => (d.signatures[0].sig = d.signatures[0].sig.slice(4)))))).toBe('SIGNATURE_ERROR');
    const text = JSON.stringify(doc).replace('"payloadType"', '"payloadType":"text/plain","payloadType"');
    expect(codeOf(() => openEnvelope(enc(text)))).toBe('MALFORMED_BUNDLE');
  });
});
