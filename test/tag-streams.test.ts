/**
 * The pieces that let verify read the big tag files as streams: the compact
 * name set (a million member names), the scanner that splits
 * custody/manifest.json into its `files` elements whatever the chunking, with
 * brackets, quotes and escapes inside strings, and the line checks of the
 * manifests and the piece list, whose usual lines are read as bytes and must
 * give exactly what reading every line as text gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NameSet } from '../src/bundle/name-set.js';
import { FilesScanner } from '../src/bundle/manifest-stream.js';
import { LineSplitter, ManifestLinesCheck, PiecesCheck, lineText } from '../src/bundle/tag-streams.js';
import { PayloadTable } from '../src/bundle/payload-table.js';
import { encodeManifestPath } from '../src/bundle/manifests.js';
import { piecesText } from '../src/bundle/pieces.js';

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
      const s = new LineSplitter('m', false, (l) => got.push(lineText('m', l)));
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
    expect(() => lineText('m', Uint8Array.of(0x61, 0xff))).toThrow(/m: not valid UTF-8/);
  });
});

describe('the manifest and piece-list line checks', () => {
  const PIECE = 4;
  // Names with what the byte reading hands to the text reading: '%', CR and LF (percent-encoded), non-ASCII, U+2028.
  const name = fc.string({ unit: fc.constantFrom('a', 'b', 'Z', '0', '-', ' ', '.', '/', '%', '\n', '\r', 'é', '\u2028'), minLength: 1, maxLength: 6 });
  const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
  const member = fc.record({ name, size: fc.integer({ min: 0, max: 13 }), md5: hex(32), pieces: fc.array(hex(64), { minLength: 4, maxLength: 4 }) });
  // Edits of one line: what a hostile or damaged bundle holds.
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.string({ unit: fc.constantFrom('a', 'f', 'A', '0', '9', ' ', '-', '%', '2', '5', 'é', '\u2028', '/'), maxLength: 90 }) }),
    fc.record({ kind: fc.constant('char' as const), at: fc.nat(), pos: fc.nat(), ch: fc.constantFrom('A', 'g', ' ', '-', '0', '%', 'é', '\u2028', '1') }),
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('dup' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('swap' as const), at: fc.nat() }),
  );
  type Edit = { kind: 'replace'; at: number; text: string } | { kind: 'char'; at: number; pos: number; ch: string } | { kind: 'drop' | 'dup' | 'swap'; at: number };

  function apply(text: string, edits: Edit[]): string {
    const lines = text.split('\n').slice(0, -1);
    for (const e of edits) {
      if (lines.length === 0) break;
      const i = e.at % lines.length;
      if (e.kind === 'replace') lines[i] = e.text;
      else if (e.kind === 'char') lines[i] = lines[i]!.slice(0, e.pos % (lines[i]!.length + 1)) + e.ch + lines[i]!.slice((e.pos % (lines[i]!.length + 1)) + 1);
      else if (e.kind === 'drop') lines.splice(i, 1);
      else if (e.kind === 'dup') lines.splice(i, 0, lines[i]!);
      else if (i + 1 < lines.length) [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!];
    }
    return lines.map((l) => `${l}\n`).join('');
  }

  function table(members: { path: string; size: number; md5: string; pieces: string[] }[], full: boolean): PayloadTable {
    const t = new PayloadTable(true);
    for (const m of members) {
      const n = Math.ceil(m.size / PIECE);
      t.add(m.path, 'x', m.size, full ? { md5: m.md5 } : {}, { pieceSize: PIECE, hashes: m.pieces.slice(0, n), merkleRoot: m.pieces[0]! });
    }
    return t;
  }

  function feed<T extends { push(c: Uint8Array): void; end(): void }>(check: T, text: string, size: number): T {
    const bytes = enc.encode(text);
    for (const c of chunked(bytes, size)) check.push(c);
    check.end();
    return check;
  }

  it('read as bytes, every manifest and piece list gives what reading each line as text gives (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(member, { selector: (m) => m.name, maxLength: 8 }),
        fc.array(edit, { maxLength: 3 }),
        fc.array(edit, { maxLength: 3 }),
        fc.integer({ min: 1, max: 200 }),
        fc.boolean(),
        (ms, manifestEdits, pieceEdits, size, full) => {
          const members = ms.map((m) => ({ ...m, path: `data/${m.name}` }));
          const manifest = apply(
            [...members]
              .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
              .map((m) => `${m.md5}  ${encodeManifestPath(m.path)}\n`)
              .join(''),
            manifestEdits as Edit[],
          );
          const pieces = apply(piecesText(PIECE, members.map((m) => ({ path: m.path, size: m.size, hashes: m.pieces.slice(0, Math.ceil(m.size / PIECE)) }))), pieceEdits as Edit[]);
          const outcome = (readBytes: boolean) => {
            const t = table(members, full);
            const m = feed(new ManifestLinesCheck(t, 'md5', 'manifest-md5.txt', full, readBytes), manifest, size);
            const p = feed(new PiecesCheck(t, PIECE, readBytes), pieces, size);
            return {
              manifest: { error: m.parseError?.message, ok: m.ok, firstBad: m.firstBad, firstExtra: m.firstExtra, lines: m.lineCount },
              stated: members.map((_, i) => t.digestHex('md5', i)),
              pieces: { error: p.parseError?.message, firstDiff: p.firstDiff, lines: p.lineCount },
              perMember: members.map((_, i) => [p.matches(i), p.listed(i), p.firstBadPiece(i)]),
            };
          };
          expect(outcome(true)).toEqual(outcome(false));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('read as bytes, each odd form of a piece-list line gives what reading it as text gives', () => {
    const h = 'ab'.repeat(32);
    const members = [{ path: 'data/a', size: 9, md5: '0'.repeat(32), pieces: [h, h, h, h] }];
    const variants = [
      `${h}  0-3  data/a`, // as sealed
      `${h}  00-3  data/a`,
      `${h}  0-03  data/a`,
      `${h}  01-3  data/a`,
      `${h}  0-3 Xdata/a`,
      `${h}  0-3   data/a`,
      `${h}  0-3  `,
      `${h}  0-  data/a`,
      `${h}  -3  data/a`,
      `${h}  0 3  data/a`,
      `${h} 0-3  data/a`,
      `${h}  ${'9'.repeat(15)}-${'9'.repeat(15)}  data/a`,
      `${h}  ${'9'.repeat(16)}-3  data/a`,
      `${h}  0-${'1'.repeat(16)}  data/a`,
      `${h}  0-${'1'.repeat(17)}  data/a`,
      `${h.toUpperCase()}  0-3  data/a`,
      `${h.slice(1)}  0-3  data/a`,
    ];
    for (const v of variants) {
      const outcome = (readBytes: boolean) => {
        const p = feed(new PiecesCheck(table(members, false), PIECE, readBytes), `${v}\n${h}  4-7  data/a\n${h}  8-8  data/a\n`, 1 << 10);
        return [p.parseError?.message, p.firstDiff, p.matches(0), p.listed(0), p.firstBadPiece(0)];
      };
      expect(outcome(true), v).toEqual(outcome(false));
    }
  });

  it('a manifest whose lines are all as sealed passes, and one changed hex digit is the mismatch it is', () => {
    const members = ['a', 'b', 'c'].map((n, i) => ({ path: `data/${n}`, size: 5, md5: String(i).repeat(32), pieces: [String(i).repeat(64), 'f'.repeat(64)] }));
    const text = members.map((m) => `${m.md5}  ${m.path}\n`).join('');
    const t = table(members, true);
    expect(feed(new ManifestLinesCheck(t, 'md5', 'manifest-md5.txt', true), text, 7).ok).toBe(true);
    const bad = feed(new ManifestLinesCheck(table(members, true), 'md5', 'manifest-md5.txt', true), text.replace(`${'1'.repeat(32)}`, `${'1'.repeat(31)}2`), 7);
    expect(bad.firstBad).toEqual({ index: 1, kind: 'mismatch' });
    const p = feed(new PiecesCheck(table(members, true), PIECE), piecesText(PIECE, members.map((m) => ({ path: m.path, size: 5, hashes: m.pieces }))), 5);
    expect([p.parseError, p.firstDiff, p.matches(0), p.matches(2)]).toEqual([undefined, undefined, true, true]);
  });
});
