/**
 * The pieces that let verify read the big tag files as streams: the compact
 * name set (a million member names), and the scanner that splits
 * custody/manifest.json into its `files` elements whatever the chunking, with
 * brackets, quotes and escapes inside strings.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NameSet } from '../src/bundle/name-set.js';
import { FilesScanner } from '../src/bundle/manifest-stream.js';
import { LineSplitter } from '../src/bundle/tag-streams.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function* chunked(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

function scan(text: string, size: number): { head?: unknown; elements: unknown[]; whole?: unknown } {
  const out: { head?: unknown; elements: unknown[]; whole?: unknown } = { elements: [] };
  const s = new FilesScanner(
    (b) => (out.head = JSON.parse(dec.decode(b))),
    (b) => out.elements.push(JSON.parse(dec.decode(b))),
    (b) => (out.whole = JSON.parse(dec.decode(b))),
  );
  for (const c of chunked(enc.encode(text), size)) s.push(c);
  s.end();
  return out;
}

describe('NameSet', () => {
  it('finds every name it holds and no other, whatever the names (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ maxLength: 12 }), { maxLength: 300 }), fc.string({ maxLength: 12 }), (names, other) => {
        const s = new NameSet();
        names.forEach((n, i) => expect(s.addNew(enc.encode(n), i & 1)).toBe(i));
        names.forEach((n, i) => {
          expect(s.find(enc.encode(n))).toBe(i);
          expect(s.flags(i)).toBe(i & 1);
          expect(s.addNew(enc.encode(n), 0)).toBe(~i);
        });
        if (!names.includes(other)) expect(s.find(enc.encode(other))).toBe(-1);
      }),
    );
  });
});

describe('FilesScanner', () => {
  const doc = {
    a: 1,
    items: [{ id: 'x', note: 'a "files": [1,2] } ] in a string \\ with \u00e9' }],
    files: [{ path: 'data/x/[a]{b}', s: 'q\\"}]' }, { path: 'data/x/,', n: [1, [2, { k: ']' }]] }, 7],
  };
  for (const size of [1, 3, 64, 1 << 20]) {
    it(`splits the files elements and keeps the rest whole, in chunks of ${size} bytes`, () => {
      const r = scan(JSON.stringify(doc, null, 2), size);
      expect(r.head).toEqual({ ...doc, files: [] });
      expect(r.elements).toEqual(doc.files);
      expect(r.whole).toBeUndefined();
    });
  }
  it('splits any files array exactly as JSON.parse reads it, whatever the strings hold and however it is cut (property)', () => {
    // Strings made of the characters the scanner watches (quotes, backslashes, brackets, commas) and others.
    const tricky = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', ',', ':', 'a', 'é', '\u2028', '\n'), maxLength: 40 });
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, tricky, fc.integer(), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(tricky, tie('v'), { maxKeys: 3 })),
    })).v;
    fc.assert(
      fc.property(fc.array(value, { maxLength: 8 }), tricky, fc.integer({ min: 1, max: 97 }), fc.boolean(), (files, note, size, pretty) => {
        const d = { note, files };
        const r = scan(pretty ? JSON.stringify(d, null, 1) : JSON.stringify(d), size);
        expect(r.head).toEqual({ note, files: [] });
        expect(r.elements).toEqual(JSON.parse(JSON.stringify(files)));
      }),
      { numRuns: 500 },
    );
  });

  it('a string of escaped backslashes as long as an element may be, and escapes cut at every chunk boundary', () => {
    const text = `{"files":[{"p":"${'\\\\'.repeat(30_000)}\\""},1]}`;
    for (const size of [1, 2, 3, 1 << 22]) expect(scan(text, size).elements).toEqual([{ p: `${'\\'.repeat(30_000)}"` }, 1]);
  });

  it('an empty files array, and files written without a plain key (the whole document is parsed at once)', () => {
    expect(scan('{"a":1,"files":[]}', 2)).toEqual({ head: { a: 1, files: [] }, elements: [] });
    expect(scan('{"fil\\u0065s":[1]}', 2).whole).toEqual({ files: [1] });
  });
  it('refuses a field after files, an empty element and a document cut short', () => {
    expect(() => scan('{"files":[1],"b":2}', 4)).toThrow(/a field follows "files"/);
    expect(() => scan('{"files":[1,,2]}', 4)).toThrow(/empty element/);
    expect(() => scan('{"files":[1,', 4)).toThrow(/unexpected end/);
  });
});

describe('LineSplitter', () => {
  it('gives the same lines whatever the chunking, and refuses what strictLines refuses', () => {
    for (const size of [1, 5, 100]) {
      const got: string[] = [];
      const s = new LineSplitter('m', false, (l) => got.push(l));
      for (const c of chunked(enc.encode('ab\ncd é\nx\n'), size)) s.push(c);
      s.end();
      expect(got).toEqual(['ab', 'cd é', 'x']);
    }
    const bad = (t: string) => () => {
      const s = new LineSplitter('m', false, () => {});
      s.push(enc.encode(t));
      s.end();
    };
    expect(bad('a\n\nb\n')).toThrow(/line 2 is empty/);
    expect(bad('a\r\n')).toThrow(/carriage return/);
    expect(bad('a')).toThrow(/does not end with a newline/);
    expect(bad('')).toThrow(/empty/);
    expect(bad(`${'x'.repeat(8192)}\n`)).toThrow(/line 1 is longer than 8192 bytes/);
  });
});
