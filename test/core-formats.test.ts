/** Hash list writers and the --check parsers (pure functions). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAlgoList, parseSize } from '../src/core/algorithms.js';
import { formatHashdeep, parseHashdeep } from '../src/core/formats/hashdeep.js';
import { parseJsonReference, toJsonFiles } from '../src/core/formats/json.js';
import { compareDigests, detectFormat, parseReference } from '../src/core/formats/reference.js';
import type { FileHash } from '../src/core/formats/result.js';
import { formatSums, parseSums, sumsAlgo } from '../src/core/formats/sums.js';
import { formatDfxml } from '../src/core/formats/dfxml.js';
import { progressLine } from '../src/cli/progress.js';

const H = {
  md5: '900150983cd24fb0d6963f7d28e17f72',
  sha1: 'a9993e364706816aba3e25717850c26c9cd0d89d',
  sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
};
const file = (p: string): FileHash => ({ path: p, size: 3, digests: { ...H } });

describe('algorithm and size parsing', () => {
  it('parses algorithm lists and refuses unknown, empty and duplicate names', () => {
    expect(parseAlgoList('md5,SHA-256,sha3-256,blake3')).toEqual(['md5', 'sha256', 'sha3-256', 'blake3']);
    for (const bad of ['', 'md5,', 'crc32', 'md5,md5']) expect(() => parseAlgoList(bad)).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
  it('parses sizes exactly', () => {
    expect(parseSize('64MiB')).toBe(64 << 20);
    expect(parseSize('1GiB')).toBe(1 << 30);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('0')).toBe(0);
    expect(parseSize('2k')).toBe(2048);
    expect(parseSize('1MB')).toBe(1_000_000);
    for (const bad of ['', '1.5MiB', '-1', 'MiB', '10 parsecs', '99999999999TiB']) expect(() => parseSize(bad)).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});

describe('sums', () => {
  it('chooses sha256 when computed, else the single algorithm, else refuses', () => {
    expect(sumsAlgo(['md5', 'sha1', 'sha256'])).toBe('sha256');
    expect(sumsAlgo(['blake3'])).toBe('blake3');
    expect(() => sumsAlgo(['md5', 'sha1'])).toThrow(/ambiguous/);
  });
  it('escapes names holding a line break or backslash the coreutils way, and reads them back', () => {
    const lines = formatSums([file('a b'), file('x\ny'), file('c\\d')], 'sha256');
    expect(lines).toEqual([`${H.sha256}  a b`, `\\${H.sha256}  x\\ny`, `\\${H.sha256}  c\\\\d`]);
    expect(parseSums(lines.join('\n') + '\n').map((e) => e.path)).toEqual(['a b', 'x\ny', 'c\\d']);
  });
  it('reads GNU text/binary and BSD tagged lines; digest length gives the algorithm', () => {
    const text = [`${H.md5}  a`, `${H.sha1} *b`, `SHA256 (c d) = ${H.sha256.toUpperCase()}`, '', '# comment'].join('\r\n');
    expect(parseSums(text)).toEqual([
      { path: 'a', digests: { md5: H.md5 } },
      { path: 'b', digests: { sha1: H.sha1 } },
      { path: 'c d', digests: { sha256: H.sha256 } },
    ]);
    expect(parseSums(`${H.sha256}  f`, 'blake3')).toEqual([{ path: 'f', digests: { blake3: H.sha256 } }]);
  });
  it('refuses lines that are not checksum lines', () => {
    for (const bad of ['hello', `${H.md5.slice(1)}  a`, `${H.md5}a`, `SHA256 (a) = ${H.md5}`]) {
      expect(() => parseSums(bad)).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('line 1') }));
    }
  });
  it('property: any printable-or-not name round-trips', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: 'binary' }), (name) => {
        fc.pre(!name.includes('\0'));
        expect(parseSums(formatSums([file(name)], 'md5').join('\n'))[0]!.path).toBe(name);
      }),
    );
  });
});

describe('hashdeep', () => {
  it('writes HASHDEEP-1.0 with the name last (commas allowed) and reads it back', () => {
    const lines = formatHashdeep([file('/e/a,b.txt')], ['sha256', 'md5'], '/e', 'custody hash');
    expect(lines.slice(0, 2)).toEqual(['%%%% HASHDEEP-1.0', '%%%% size,md5,sha256,filename']);
    expect(lines.at(-1)).toBe(`3,${H.md5},${H.sha256},/e/a,b.txt`);
    expect(parseHashdeep(lines.join('\n'))).toEqual([{ path: '/e/a,b.txt', size: 3, digests: { md5: H.md5, sha256: H.sha256 } }]);
  });
  it('refuses algorithms hashdeep does not know and names that would forge a record', () => {
    expect(() => formatHashdeep([file('a')], ['blake3'], '/', 'x')).toThrow(/only md5, sha1 and sha256/);
    expect(() => formatHashdeep([file('a\n3,x,y')], ['md5'], '/', 'x')).toThrow(/cannot hold/);
  });
  it('reads hashdeep lists with columns it cannot compute (tiger) by skipping them', () => {
    const text = `%%%% HASHDEEP-1.0\n%%%% size,tiger,md5,filename\n## x\n3,abcd,${H.md5},f\n`;
    expect(parseHashdeep(text)).toEqual([{ path: 'f', size: 3, digests: { md5: H.md5 } }]);
  });
});

describe('json and format detection', () => {
  it('round-trips custody hash JSON and refuses malformed documents', () => {
    const doc = JSON.stringify({ ok: true, files: toJsonFiles([file('a')]) });
    expect(parseJsonReference(doc)).toEqual([{ path: 'a', size: 3, digests: H }]);
    for (const bad of ['{', '{"files":1}', '{"files":[{"path":"a","hashes":{"md5":"zz"}}]}', '{"files":[{"hashes":{}}]}', '{"files":[{"path":"a","hashes":{}}]}']) {
      expect(() => parseJsonReference(bad)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
  });
  it('detects the format from the first bytes', () => {
    expect(detectFormat('%%%% HASHDEEP-1.0\n')).toBe('hashdeep');
    expect(detectFormat('\uFEFF {"files":[]}')).toBe('json');
    expect(detectFormat(`${H.md5}  a\n`)).toBe('sums');
    expect(() => parseReference('\n')).toThrow(/lists no files/);
  });
  it('compares size and every listed algorithm', () => {
    expect(compareDigests({ path: 'a', size: 3, digests: { md5: H.md5 } }, { size: 3, digests: H })).toEqual([]);
    expect(compareDigests({ path: 'a', size: 4, digests: { md5: H.sha1.slice(0, 32) } }, { size: 3, digests: H })!.map((d) => d.what)).toEqual(['size', 'md5']);
  });
});

describe('dfxml', () => {
  it('escapes names and writes byte runs for pieces', () => {
    const f: FileHash = { path: 'a<&>"b', size: 5, digests: { md5: H.md5 }, pieces: { pieceSize: 4, hashes: [H.sha256, H.sha256], merkleRoot: H.sha256 } };
    const xml = formatDfxml([f], { version: '1', commandLine: 'c', startTime: 't' }).join('\n');
    expect(xml).toContain('<filename>a&lt;&amp;&gt;&quot;b</filename>');
    expect(xml).toContain('<byte_run file_offset="4" len="1">');
  });
});

describe('progress line', () => {
  it('shows percent, bytes, rate and ETA; without a total only bytes and rate', () => {
    expect(progressLine('hashing', 512 << 20, 1 << 30, 1000)).toBe('hashing 50.0%  512.0 MiB/1.0 GiB  512.0 MiB/s  ETA 00:01');
    expect(progressLine('hashing', 1 << 20, undefined, 2000)).toBe('hashing 1.0 MiB  512.0 KiB/s');
  });
});
