/** Pure bag-format pieces: writers and their strict parsers (no tar, no keys). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bagInfoText, parseBagInfo, checkBagitTxt, BAGIT_TXT_TEXT, type BagInfo } from '../src/bundle/bag-info.js';
import { manifestText, parseManifest, encodeManifestPath, decodeManifestPath } from '../src/bundle/manifests.js';
import { piecesText, parsePieces, pieceRange, expectedPieceCount } from '../src/bundle/pieces.js';
import { custodyManifestBytes, parseCustodyManifest, type CustodyManifest } from '../src/bundle/custody-manifest.js';
import { itemIdFromName, isValidId, parsePayloadPath, componentProblem, bagNameFromOut, tagFilesInOrder } from '../src/bundle/layout.js';
import { CustodyError } from '../src/core/errors.js';

const enc = (s: string) => new TextEncoder().encode(s);

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof CustodyError ? e.code : `not a CustodyError: ${String(e)}`;
  }
  return undefined;
}

const info: BagInfo = {
  sourceOrganization: 'Police Lab',
  contactName: 'Ann Examiner',
  caseId: 'CASE-1',
  baggingDate: '2026-11-27',
  payloadBytes: 12345,
  payloadFiles: 3,
  softwareAgent: 'custody 0.1.0',
  algorithms: ['md5', 'sha1', 'sha256'],
  pieceSize: 65536,
};

describe('bagit.txt and bag-info.txt', () => {
  it('round-trips bag-info', () => {
    const text = bagInfoText(info);
    expect(text).toContain('Payload-Oxum: 12345.3\n');
    expect(text).toContain('Custody-Algorithms: md5,sha1,sha256\n');
    expect(parseBagInfo(enc(text))).toEqual(info);
  });

  it('accepts only the BagIt 1.0 declaration it writes', () => {
    expect(() => checkBagitTxt(enc(BAGIT_TXT_TEXT))).not.toThrow();
    expect(code(() => checkBagitTxt(enc(BAGIT_TXT_TEXT.replace('1.0', '0.97'))))).toBe('MALFORMED_BUNDLE');
  });

  it('refuses a line break smuggled into a value when writing', () => {
    expect(code(() => bagInfoText({ ...info, contactName: 'Ann\nCustody-Piece-Size: 0' }))).toBe('USAGE');
  });

  const good = bagInfoText(info);
  const hostile: [string, string][] = [
    ['duplicate label', good + 'Custody-Piece-Size: 0\n'],
    ['unknown label', good + 'X-Other: 1\n'],
    ['folded continuation line', good.replace('Ann Examiner\n', 'Ann\n  Examiner\n')],
    ['CRLF', good.replace(/\n/g, '\r\n')],
    ['no final newline', good.slice(0, -1)],
    ['missing algorithms', good.replace(/Custody-Algorithms.*\n/, '')],
    ['no sha256', good.replace('md5,sha1,sha256', 'md5,sha1')],
    ['unknown algo', good.replace('md5,sha1,sha256', 'sha256,crc32')],
    ['repeated algo', good.replace('md5,sha1,sha256', 'sha256,sha256')],
    ['tiny piece size', good.replace('65536', '1')],
    ['bad oxum', good.replace('12345.3', '12345')],
    ['leading zero number', good.replace('12345.3', '012345.3')],
    ['other bundle version', good.replace('Custody-Bundle-Version: 1', 'Custody-Bundle-Version: 2')],
    ['empty', ''],
  ];
  it.each(hostile)('refuses bag-info with %s', (_why, text) => {
    expect(code(() => parseBagInfo(enc(text)))).toBe('MALFORMED_BUNDLE');
  });

  it('refuses invalid UTF-8', () => {
    const bytes = new Uint8Array([...enc(good.slice(0, 20)), 0xff, ...enc(good.slice(20))]);
    expect(code(() => parseBagInfo(bytes))).toBe('MALFORMED_BUNDLE');
  });
});

describe('manifests', () => {
  it('writes sorted sha256sum-style lines with percent-encoded names', () => {
    const t = manifestText([
      { path: 'data/b/x', digest: 'b'.repeat(64) },
      { path: 'data/a/100%.txt', digest: 'a'.repeat(64) },
    ]);
    expect(t).toBe(`${'a'.repeat(64)}  data/a/100%25.txt\n${'b'.repeat(64)}  data/b/x\n`);
    expect(parseManifest(enc(t), 'sha256', 'manifest-sha256.txt').map((e) => e.path)).toEqual(['data/a/100%.txt', 'data/b/x']);
  });

  it('round-trips any names (property)', () => {
    const name = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\n') || true);
    fc.assert(
      fc.property(fc.uniqueArray(name, { maxLength: 12 }), fc.constantFrom('md5', 'sha1', 'sha256', 'sha512'), (names, algo) => {
        const len = { md5: 32, sha1: 40, sha256: 64, sha512: 128 }[algo]!;
        const entries = names.map((n, i) => ({ path: `data/${n}`, digest: i.toString(16).padStart(len, '0') }));
        const parsed = parseManifest(enc(manifestText(entries)), algo, 'm', true);
        expect(new Map(parsed.map((e) => [e.path, e.digest]))).toEqual(new Map(entries.map((e) => [e.path, e.digest])));
        for (const n of names) expect(decodeManifestPath(encodeManifestPath(n), 'm')).toBe(n);
      }),
    );
  });

  const line = (h: string, p: string) => `${h}  ${p}\n`;
  const h = 'a'.repeat(64);
  it.each([
    ['unsorted', line(h, 'data/b') + line(h, 'data/a')],
    ['duplicate', line(h, 'data/a') + line(h, 'data/a')],
    ['uppercase hex', line('A'.repeat(64), 'data/a')],
    ['short digest', line('a'.repeat(63), 'data/a')],
    ['one space', `${h} data/a\n`],
    ['tab', `${h}\tdata/a\n`],
    ['bad escape', line(h, 'data/%41')],
    ['binary-mode star', `${h} *data/a\n`],
    ['empty (payload files exist)', ''],
  ])('refuses a manifest that is %s', (_w, text) => {
    expect(code(() => parseManifest(enc(text), 'sha256', 'manifest-sha256.txt'))).toBe('MALFORMED_BUNDLE');
  });
});

describe('pieces', () => {
  it('gives inclusive byte ranges, last piece short', () => {
    expect(pieceRange(4096, 10000, 0)).toEqual([0, 4095]);
    expect(pieceRange(4096, 10000, 2)).toEqual([8192, 9999]);
    expect(expectedPieceCount(4096, 10000)).toBe(3);
    expect(expectedPieceCount(4096, 0)).toBe(0);
    expect(expectedPieceCount(0, 10000)).toBe(0);
  });

  it('round-trips the pieces file', () => {
    const t = piecesText(4096, [
      { path: 'data/z/f', size: 5000, hashes: ['1'.repeat(64), '2'.repeat(64)] },
      { path: 'data/a/e', size: 0, hashes: [] },
    ]);
    expect(t).toBe(`${'1'.repeat(64)}  0-4095  data/z/f\n${'2'.repeat(64)}  4096-4999  data/z/f\n`);
    expect(parsePieces(enc(t))).toEqual([
      { digest: '1'.repeat(64), range: [0, 4095], path: 'data/z/f' },
      { digest: '2'.repeat(64), range: [4096, 4999], path: 'data/z/f' },
    ]);
    expect(piecesText(0, [{ path: 'data/z/f', size: 5000, hashes: [] }])).toBe('');
  });

  it('refuses a malformed line', () => {
    expect(code(() => parsePieces(enc(`${'1'.repeat(64)}  0-  data/z/f\n`)))).toBe('MALFORMED_BUNDLE');
  });
});

describe('names', () => {
  it('derives item ids and bag names from file names', () => {
    expect(itemIdFromName('disk 01.E01')).toBe('disk_01.E01');
    expect(itemIdFromName('..hidden')).toBe('hidden');
    expect(itemIdFromName('Ünïcode')).toBe('n_code');
    expect(itemIdFromName('...')).toBe('item');
    expect(bagNameFromOut('case 42.tar')).toBe('case_42');
    expect(isValidId('a')).toBe(true);
    expect(isValidId('-a')).toBe(false);
    expect(isValidId('a.')).toBe(false);
    fc.assert(fc.property(fc.string(), (s) => isValidId(itemIdFromName(s))));
  });

  it('refuses unsafe path components, and keeps NFD names as they are', () => {
    for (const c of ['', '.', '..', 'a\\b', 'a\u0007', 'a\u001bb']) {
      expect(componentProblem(c), JSON.stringify(c)).toBeDefined();
    }
    for (const c of ['a\nb', 'a\rb', 'a\tb']) expect(componentProblem(c), JSON.stringify(c)).toBeUndefined();
    expect(componentProblem('é')).toBeUndefined();
    expect(componentProblem('e\u0301')).toBeUndefined();
    expect(parsePayloadPath('data/item/dir/f.txt')).toEqual({ item: 'item', path: 'dir/f.txt' });
    for (const p of ['data/item', 'other/item/f', 'data/../f', 'data/item/../f', 'data/-x/f', 'data/item//f']) {
      expect(code(() => parsePayloadPath(p)), p).toBe('UNSAFE_BUNDLE');
    }
  });

  it('lists the tag files in member order', () => {
    expect(tagFilesInOrder(['md5', 'sha256'])).toEqual([
      'bagit.txt',
      'bag-info.txt',
      'manifest-md5.txt',
      'manifest-sha256.txt',
      'custody/manifest.json',
      'custody/pieces-sha256.txt',
      'custody/sealer.pem',
      'custody/sealer.minisign.pub',
      'VERIFY.txt',
    ]);
  });
});

describe('custody/manifest.json', () => {
  const m: CustodyManifest = {
    custodyBundleVersion: 1,
    bundleName: 'case42',
    case: { id: 'CASE-42', authority: 'Court' },
    sealedAt: '2026-11-27T14:03:00.000Z',
    tool: { name: 'custody', version: '0.1.0' },
    algorithms: ['sha256'],
    pieceSize: 4096,
    sealer: { name: 'Ann', keyid: 'a'.repeat(16), fingerprint: 'a'.repeat(64), publicKey: 'AAAA' },
    items: [{ id: 'disk', kind: 'directory', source: '/evidence/disk', meta: { serial: 'S1' }, emptyDirectories: ['empty'] }],
    files: [{ path: 'data/disk/f', item: 'disk', size: 1, mtime: '2026-01-01T00:00:00.000Z', hashes: { sha256: 'b'.repeat(64) }, pieces: { count: 1, merkleRoot: 'c'.repeat(64) } }],
  };

  it('round-trips', () => {
    expect(parseCustodyManifest(custodyManifestBytes(m))).toEqual(m);
  });

  const mutate = (f: (d: any) => void) => {
    const d = JSON.parse(JSON.stringify(m));
    f(d);
    return enc(JSON.stringify(d));
  };
  it.each([
    ['an extra field', mutate((d) => (d.extra = 1))],
    ['a missing hash', mutate((d) => delete d.files[0].hashes.sha256)],
    ['an extra hash', mutate((d) => (d.files[0].hashes.md5 = 'a'.repeat(32)))],
    ['a file of an unknown item', mutate((d) => (d.files[0].item = 'other'))],
    ['a traversal path', mutate((d) => (d.files[0].path = 'data/disk/../../x'))],
    ['a negative size', mutate((d) => (d.files[0].size = -1))],
    ['a duplicate item', mutate((d) => d.items.push(d.items[0]))],
    ['a traversal empty dir', mutate((d) => (d.items[0].emptyDirectories = ['..']))],
    ['a non-string meta', mutate((d) => (d.items[0].meta.serial = 5))],
  ])('refuses %s', (_w, bytes) => {
    expect(code(() => parseCustodyManifest(bytes))).toBe('MALFORMED_BUNDLE');
  });

  it('refuses duplicate JSON keys', () => {
    const t = new TextDecoder().decode(custodyManifestBytes(m)).replace('"bundleName": "case42"', '"bundleName": "case42", "bundleName": "x"');
    expect(code(() => parseCustodyManifest(enc(t)))).toBe('MALFORMED_BUNDLE');
  });
});
