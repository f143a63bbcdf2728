/**
 * parseStrictJson answers from JSON.parse when it can prove the strict
 * parser would give the same value: these tests hold the two to the same
 * outcome (the same value, or the same refusal in the same words) on texts
 * made to hit every reason to refuse — duplicate keys, ':' in keys and
 * strings, \u escapes and lone surrogates, nesting around the limit, numbers
 * around 400 characters and out of range, a BOM, and random damage.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseStrictJson, parseStrictJsonSlowly } from '../src/custody/strict-json.js';

/** A text that tells apart -0 and 0, key order, own keys named __proto__ and prototypes. */
function canonical(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? 'n:-0' : `n:${v}`;
  if (typeof v === 'string') return `s:${JSON.stringify(v)}`;
  if (v === null || typeof v !== 'object') return `${typeof v}:${String(v)}`;
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (Object.getPrototypeOf(v) !== Object.prototype) return 'object with another prototype';
  return `{${Object.keys(v)
    .map((k) => `${JSON.stringify(k)}=${canonical((v as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

function outcome(f: () => unknown): string {
  try {
    return `value ${canonical(f())}`;
  } catch (e) {
    return `refused ${(e as Error).message}`;
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Both parsers on a text, as a string and as its UTF-8 bytes. */
function expectSame(text: string): void {
  expect(outcome(() => parseStrictJson(text))).toBe(outcome(() => parseStrictJsonSlowly(text)));
  const bytes = Buffer.from(text, 'utf8');
  let decoded: string | undefined;
  try {
    decoded = decoder.decode(bytes);
  } catch {
    decoded = undefined;
  }
  const slow = decoded === undefined ? 'refused document is not valid UTF-8' : outcome(() => parseStrictJsonSlowly(decoded));
  expect(outcome(() => parseStrictJson(bytes))).toBe(slow);
}

const KEYS = ['a', 'b', 'a:b', ':', '', '__proto__', 'x\\u003a', '\\u0061', '\\ud800', 'é', '\\n', '::', 'constructor', '0', '1'];
const NUMBERS = [
  '0',
  '-0',
  '1.5',
  '1e400',
  '-1e400',
  '1e-400',
  '01',
  '1.',
  '-',
  `1${'0'.repeat(399)}`,
  `1${'0'.repeat(400)}`,
  `0.${'0'.repeat(397)}1`,
  `0.${'0'.repeat(398)}1`,
  `0.${'0'.repeat(399)}1`,
  `1${'0'.repeat(300)}e-300`,
];
const STRINGS = ['"x"', '"a:b"', '":"', '"\\u0041"', '"\\u003a"', '"\\udc00"', '"\\ud83d\\ude00"', '"\uD83D\uDE00"', '"\uD800"', '"\t"', '"\\/"', `"${'9'.repeat(450)}"`, '"e"'];
const WORDS = ['true', 'false', 'null', 'nul', 'truex'];

const jsonText = fc.letrec<{ value: string; object: string; array: string; scalar: string }>((tie) => ({
  scalar: fc.oneof(fc.constantFrom(...NUMBERS), fc.constantFrom(...STRINGS), fc.constantFrom(...WORDS), fc.integer().map(String), fc.double({ noNaN: true }).map((d) => JSON.stringify(d))),
  value: fc.oneof({ maxDepth: 4, depthIdentifier: 'v' }, tie('scalar'), tie('object'), tie('array')),
  object: fc
    .array(fc.tuple(fc.constantFrom(...KEYS), tie('value'), fc.constantFrom('', ' ', '\n  ')), { maxLength: 5 })
    .map((pairs) => `{${pairs.map(([k, v, ws]) => `${ws}"${k}"${ws}:${ws}${v}`).join(',')}}`),
  array: fc.array(tie('value'), { maxLength: 4 }).map((vs) => `[${vs.join(', ')}]`),
}));

/** Nesting around the parser's limit of 64, with an empty or a scalar innermost value. */
const nested = fc
  .tuple(fc.integer({ min: 60, max: 68 }), fc.constantFrom('[]', '{}', '1', '"x"', '{"a":1}'), fc.boolean())
  .map(([n, inner, objects]) => (objects ? `${'{"k":'.repeat(n)}${inner}${'}'.repeat(n)}` : `${'['.repeat(n)}${inner}${']'.repeat(n)}`));

/** A text with one character removed, replaced or inserted. */
const damaged = fc
  .tuple(jsonText.value, fc.nat(), fc.constantFrom('delete', 'replace', 'insert'), fc.constantFrom(':', '"', ',', '}', ']', '\\', '\uFEFF', 'e', '0', ' ', '\u0000'))
  .map(([text, at, how, c]) => {
    const i = text.length === 0 ? 0 : at % text.length;
    if (how === 'delete') return text.slice(0, i) + text.slice(i + 1);
    if (how === 'replace') return text.slice(0, i) + c + text.slice(i + 1);
    return text.slice(0, i) + c + text.slice(i);
  });

describe('parseStrictJson answers from JSON.parse only where the strict parser agrees', () => {
  it('gives the same value or the same refusal on generated texts (property)', () => {
    fc.assert(fc.property(jsonText.value, (text) => expectSame(text)), { numRuns: 3000 });
  });

  it('gives the same value or the same refusal around the nesting limit (property)', () => {
    fc.assert(fc.property(nested, (text) => expectSame(text)), { numRuns: 300 });
  });

  it('gives the same value or the same refusal on damaged texts (property)', () => {
    fc.assert(fc.property(damaged, (text) => expectSame(text)), { numRuns: 3000 });
  });

  it('refuses a duplicate key whatever a string in the document says', () => {
    for (const text of ['{"a":1,"a":1}', '{"a":"x:y","a":"x:y"}', '{"o":{"a:b":1,"a:b":2},"s":"::"}', '{"__proto__":1,"__proto__":2}', '[{"k":[{"z":0,"z":0}]}]']) {
      expect(() => parseStrictJson(text)).toThrow(/duplicate key/);
      expectSame(text);
    }
  });

  it('reads numbers of up to 400 characters and refuses longer ones, as the strict parser does', () => {
    const at400 = `0.${'0'.repeat(397)}1`;
    const at401 = `0.${'0'.repeat(398)}1`;
    expect(at400).toHaveLength(400);
    expect(parseStrictJson(`[${at400}]`)).toEqual([Number(at400)]);
    expect(() => parseStrictJson(`[${at401}]`)).toThrow(/expected ',' or '\]'/);
    // The same characters inside a string are a string.
    expect(parseStrictJson(`{"s":"${at401}"}`)).toEqual({ s: at401 });
    for (const text of [`[${at400}]`, `[${at401}]`, `{"s":"${at401}","n":${at400}}`, `${' '.repeat(500)}[${at401}]`]) expectSame(text);
  });

  it('keeps a key named __proto__ as an own field, never as the prototype', () => {
    const v = parseStrictJson('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
