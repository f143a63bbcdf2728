/**
 * Hostile tar byte strings, one function per case, for the strict reader's
 * tests and for bundle-level tests (verify/extract must refuse the same).
 * Headers are built raw (the real writer refuses to write these) and get a
 * correct checksum unless the case is about the checksum.
 *
 * `HOSTILE_CASES` lists every case with the error code and a pattern of the
 * rule the refusal must name.
 */
import { encodeHeader } from '../../src/bundle/tar-header.js';

const enc = new TextEncoder();
export type Bytes = Uint8Array;

export function concat(...parts: Bytes[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const bytesOf = (v: string | Bytes): Bytes => (typeof v === 'string' ? enc.encode(v) : v);

/** Zero-fills a field, then writes `value` into it. */
export function setField(b: Bytes, off: number, len: number, value: string | Bytes): void {
  b.fill(0, off, off + len);
  b.set(bytesOf(value).subarray(0, len), off);
}

/** Recomputes the header checksum (GNU spelling: 6 octal digits, NUL, space). */
export function fixChecksum(b: Bytes): Bytes {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  setField(b, 148, 8, `${sum.toString(8).padStart(6, '0')}\u0000 `);
  return b;
}

/** A raw ustar header: any name bytes (<= 100), any typeflag; `patch` edits before the checksum. */
export function header(name: string | Bytes, size: number, typeflag = '0', patch?: (b: Bytes) => void): Bytes {
  const b = encodeHeader({ name: 'x', size, type: 'file' }).slice();
  setField(b, 0, 100, name);
  b[156] = typeflag.charCodeAt(0);
  patch?.(b);
  return fixChecksum(b);
}

export function padded(data: Bytes): Bytes {
  return concat(data, new Uint8Array((512 - (data.length % 512)) % 512));
}

/** Header + data + zero padding. */
export function member(name: string | Bytes, data: string | Bytes = '', typeflag = '0', patch?: (b: Bytes) => void): Bytes {
  const d = bytesOf(data);
  return concat(header(name, d.length, typeflag, patch), padded(d));
}

export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = enc.encode(body).length + 1;
  while (String(len).length + enc.encode(body).length !== len) len++;
  return `${len}${body}`;
}

/** A pax header ('x' local, 'g' global) holding the given records. */
export function pax(records: [string, string][], typeflag = 'x'): Bytes {
  return member('././@PaxHeader', records.map(([k, v]) => paxRecord(k, v)).join(''), typeflag);
}

export const END = (): Bytes => new Uint8Array(1024);
export const okFile = (): Bytes => member('ok.txt', 'hello\n');
/** A valid archive, for contrast. */
export const validArchive = (): Bytes => concat(member('dir/', '', '5'), okFile(), member('dir/a.bin', new Uint8Array(700).fill(7)), END());

const withOk = (...parts: Bytes[]): Bytes => concat(okFile(), ...parts, END());

// ---- names
export const absoluteName = () => withOk(member('/etc/passwd', 'x'));
export const dotDotName = () => withOk(member('a/../../escape.txt', 'x'));
export const dotComponent = () => withOk(member('./a.txt', 'x'));
export const emptyComponent = () => withOk(member('a//b.txt', 'x'));
export const backslashName = () => withOk(member('a\\..\\b.txt', 'x'));
export const driveLetterName = () => withOk(member('C:/Windows/x', 'x'));
export const emptyName = () => withOk(member('', 'x'));
export const controlCharName = () => withOk(member('a\u001b[31mb.txt', 'x'));
export const nonNfcName = () => withOk(member('cafe\u0301.txt', 'x'));
export const invalidUtf8Name = () => withOk(member(new Uint8Array([0x61, 0xff, 0x62]), 'x'));
export const duplicateName = () => withOk(member('ok.txt', 'evil\n'));
/** Not hostile: names that differ only in case or normalisation are different names (the evidence's own). */
export const caseOnlyPair = () => withOk(member('OK.TXT', 'other\n'));
export const duplicateFileAndDir = () => withOk(member('ok.txt/', '', '5'));
export const memberInsideFile = () => withOk(member('ok.txt/inner', 'x'));
export const fileWithSlash = () => withOk(member('f.txt/', 'x'));
// ---- types
export const hardLink = () => withOk(header('h.txt', 0, '1', (b) => setField(b, 157, 100, 'ok.txt')));
export const symlink = () => withOk(header('s.txt', 0, '2', (b) => setField(b, 157, 100, '/etc/passwd')));
export const charDevice = () => withOk(header('tty', 0, '3'));
export const blockDevice = () => withOk(header('sda', 0, '4'));
export const fifo = () => withOk(header('pipe', 0, '6'));
export const contiguousFile = () => withOk(member('c.bin', 'x', '7'));
export const gnuSparse = () => withOk(member('sparse.img', 'x', 'S'));
export const gnuLongName = () => withOk(member('././@LongLink', `${'n'.repeat(150)}\u0000`, 'L'), member('short', 'x'));
export const gnuLongLink = () => withOk(member('././@LongLink', 'target\u0000', 'K'), member('short', 'x'));
export const unknownType = () => withOk(member('q.bin', 'x', 'Q'));
export const globalPax = () => withOk(pax([['path', 'evil.txt']], 'g'), member('b.txt', 'x'));
export const directoryWithSize = () => withOk(member('d/', 'xyz', '5'));
export const linknameOnFile = () => withOk(member('l.txt', 'x', '0', (b) => setField(b, 157, 100, 'ok.txt')));
// ---- pax
export const paxPathMismatch = () => withOk(pax([['path', 'evil.txt']]), member('b.txt', 'x'));
export const paxPathTraversal = () => withOk(pax([['path', '../evil.txt']]), member('', 'x'));
export const paxSizeMismatch = () => withOk(pax([['size', '1']]), member('b.txt', 'xyz'));
export const paxLinkpath = () => withOk(pax([['linkpath', '/etc/passwd']]), member('b.txt', 'x'));
export const paxUnknownKey = () => withOk(pax([['GNU.sparse.map', '0,1']]), member('b.txt', 'x'));
export const paxDuplicateKey = () => withOk(pax([['path', 'b.txt'], ['path', 'b.txt']]), member('b.txt', 'x'));
export const paxBadRecord = () => withOk(member('././@PaxHeader', '99 path=b.txt\n', 'x'), member('b.txt', 'x'));
export const paxNotFollowed = () => withOk(pax([['path', 'b.txt']]));
export const paxTwice = () => withOk(pax([['path', 'b.txt']]), pax([['path', 'b.txt']]), member('b.txt', 'x'));
/** A pax record whose length field runs for 900,000 digits before its space (once a stack overflow in the parser). */
export const paxLongLengthField = () => {
  const data = new Uint8Array(900_000).fill(0x31);
  data[899_990] = 0x20;
  return withOk(member('././@PaxHeader', data, 'x'), member('b.txt', 'x'));
};
/** A 800 KB pax path of 400,000 components (once made the name bookkeeping quadratic: verify hung). */
export const paxDeepPath = () => {
  const p = `${'a/'.repeat(400_000)}b.txt`;
  return withOk(pax([['path', p]]), member(p.slice(0, 100), 'x'));
};
/** 400 members, each 2,000 folders deep under its own root: the folder bookkeeping took 1.8 GB for these 2 MB. */
export const manyDeepNames = () =>
  withOk(
    ...Array.from({ length: 400 }, (_, i) => {
      const p = `x${i}/${'a/'.repeat(2000)}b`;
      return concat(pax([['path', p]]), member(p.slice(0, 100), ''));
    }),
  );
export const paxAbsurdSize = () => withOk(header('././@PaxHeader', 1 << 30, 'x'));
// ---- header fields
export const badChecksum = () => {
  const m = member('b.txt', 'x');
  m[0] = 0x63; // "c.txt" with b.txt's checksum
  return withOk(m);
};
export const badMagic = () => withOk(member('b.txt', 'x', '0', (b) => setField(b, 257, 8, 'ustar\u0000xx')));
export const badOctalSize = () => withOk(member('b.txt', 'x', '0', (b) => setField(b, 124, 12, '0000000000x\u0000')));
export const emptySizeField = () => withOk(member('b.txt', '', '0', (b) => setField(b, 124, 12, '')));
export const negativeSize = () => withOk(header('b.txt', 0, '0', (b) => b.fill(0xff, 124, 136)));
export const absurdSize = () => withOk(header('b.txt', 0, '0', (b) => ((b[124] = 0x80), b.fill(0xff, 125, 136))));
export const bytesAfterNameNul = () => withOk(member('b.txt\u0000hidden', 'x'));
export const headerPaddingNonZero = () => withOk(member('b.txt', 'x', '0', (b) => (b[505] = 1)));
export const gnuExtensionFields = () =>
  withOk(member('b.txt', 'x', '0', (b) => (setField(b, 257, 8, 'ustar  \u0000'), setField(b, 345, 12, '14000000000'))));
// ---- framing
export const nonZeroPadding = () => {
  const m = member('b.txt', 'abc');
  m[512 + 3] = 0x41; // first padding byte
  return withOk(m);
};
export const missingEndMarker = () => concat(okFile());
export const truncatedInData = () => concat(okFile(), header('b.txt', 5000), new Uint8Array(100).fill(1));
export const truncatedInHeader = () => concat(okFile(), header('b.txt', 1).subarray(0, 300));
export const truncatedEndMarker = () => concat(okFile(), new Uint8Array(512 + 100));
export const dataAfterEnd = () => concat(okFile(), END(), enc.encode('appended after the end'));
export const dataAfterZeroPadding = () => concat(okFile(), END(), new Uint8Array(8192), new Uint8Array([1]));
export const memberAfterSingleZeroBlock = () => concat(okFile(), new Uint8Array(512), member('hidden.txt', 'x'), END());
export const nonZeroInEndBlocks = () => {
  const e = END();
  e[1023] = 1;
  return concat(okFile(), e);
};

export interface HostileCase {
  id: string;
  bytes: () => Bytes;
  code: 'UNSAFE_BUNDLE' | 'MALFORMED_BUNDLE';
  rule: RegExp;
  /** The member the error must name, when the refusal is about one. */
  member?: string;
}

const U = 'UNSAFE_BUNDLE' as const;
const M = 'MALFORMED_BUNDLE' as const;

export const HOSTILE_CASES: HostileCase[] = [
  { id: 'absoluteName', bytes: absoluteName, code: U, rule: /absolute name/, member: '/etc/passwd' },
  { id: 'dotDotName', bytes: dotDotName, code: U, rule: /'\.\.' path component/, member: 'a/../../escape.txt' },
  { id: 'dotComponent', bytes: dotComponent, code: U, rule: /'\.' path component/ },
  { id: 'emptyComponent', bytes: emptyComponent, code: U, rule: /empty path component/ },
  { id: 'backslashName', bytes: backslashName, code: U, rule: /backslash/ },
  { id: 'driveLetterName', bytes: driveLetterName, code: U, rule: /drive-letter/ },
  { id: 'emptyName', bytes: emptyName, code: U, rule: /empty name/ },
  { id: 'controlCharName', bytes: controlCharName, code: U, rule: /control character/ },
  { id: 'invalidUtf8Name', bytes: invalidUtf8Name, code: U, rule: /UTF-8/ },
  { id: 'duplicateName', bytes: duplicateName, code: U, rule: /duplicate name/, member: 'ok.txt' },
  { id: 'duplicateFileAndDir', bytes: duplicateFileAndDir, code: U, rule: /duplicate name/ },
  { id: 'memberInsideFile', bytes: memberInsideFile, code: U, rule: /which is a regular file/ },
  { id: 'fileWithSlash', bytes: fileWithSlash, code: U, rule: /regular file whose name ends with '\/'/ },
  { id: 'hardLink', bytes: hardLink, code: U, rule: /hard link is not allowed/ },
  { id: 'symlink', bytes: symlink, code: U, rule: /symbolic link is not allowed/ },
  { id: 'charDevice', bytes: charDevice, code: U, rule: /character device/ },
  { id: 'blockDevice', bytes: blockDevice, code: U, rule: /block device/ },
  { id: 'fifo', bytes: fifo, code: U, rule: /FIFO/ },
  { id: 'contiguousFile', bytes: contiguousFile, code: U, rule: /contiguous file/ },
  { id: 'gnuSparse', bytes: gnuSparse, code: U, rule: /sparse/ },
  { id: 'gnuLongName', bytes: gnuLongName, code: U, rule: /GNU long name/ },
  { id: 'gnuLongLink', bytes: gnuLongLink, code: U, rule: /GNU long link/ },
  { id: 'unknownType', bytes: unknownType, code: U, rule: /unknown member type/ },
  { id: 'globalPax', bytes: globalPax, code: U, rule: /global pax header/ },
  { id: 'directoryWithSize', bytes: directoryWithSize, code: U, rule: /directory with a non-zero size/ },
  { id: 'linknameOnFile', bytes: linknameOnFile, code: U, rule: /link name on a member/ },
  { id: 'paxPathMismatch', bytes: paxPathMismatch, code: U, rule: /pax path .* disagrees/ },
  { id: 'paxPathTraversal', bytes: paxPathTraversal, code: U, rule: /'\.\.' path component/ },
  { id: 'paxSizeMismatch', bytes: paxSizeMismatch, code: U, rule: /pax size 1 disagrees/ },
  { id: 'paxLinkpath', bytes: paxLinkpath, code: U, rule: /linkpath/ },
  { id: 'paxUnknownKey', bytes: paxUnknownKey, code: U, rule: /pax key "GNU\.sparse\.map" is not supported/ },
  { id: 'paxDuplicateKey', bytes: paxDuplicateKey, code: U, rule: /duplicate pax key/ },
  { id: 'paxBadRecord', bytes: paxBadRecord, code: U, rule: /malformed pax record/ },
  { id: 'paxDeepPath', bytes: paxDeepPath, code: U, rule: /name longer than 4096 bytes/ },
  { id: 'manyDeepNames', bytes: manyDeepNames, code: U, rule: /more than 256 path components/ },
  { id: 'paxLongLengthField', bytes: paxLongLengthField, code: U, rule: /malformed pax record length/ },
  { id: 'paxNotFollowed', bytes: paxNotFollowed, code: U, rule: /pax header not followed by a member/ },
  { id: 'paxTwice', bytes: paxTwice, code: U, rule: /two pax headers/ },
  { id: 'paxAbsurdSize', bytes: paxAbsurdSize, code: U, rule: /absurd pax header size/ },
  { id: 'badChecksum', bytes: badChecksum, code: U, rule: /checksum mismatch/ },
  { id: 'badMagic', bytes: badMagic, code: U, rule: /magic/ },
  { id: 'badOctalSize', bytes: badOctalSize, code: U, rule: /size field is not a valid octal number/ },
  { id: 'emptySizeField', bytes: emptySizeField, code: U, rule: /size field is empty/ },
  { id: 'negativeSize', bytes: negativeSize, code: U, rule: /negative size/ },
  { id: 'absurdSize', bytes: absurdSize, code: U, rule: /absurd size/ },
  { id: 'bytesAfterNameNul', bytes: bytesAfterNameNul, code: U, rule: /after the NUL terminator of the name/ },
  { id: 'headerPaddingNonZero', bytes: headerPaddingNonZero, code: U, rule: /header padding/ },
  { id: 'gnuExtensionFields', bytes: gnuExtensionFields, code: U, rule: /GNU extension fields/ },
  { id: 'nonZeroPadding', bytes: nonZeroPadding, code: U, rule: /non-zero bytes in the padding after member "b.txt"/, member: 'b.txt' },
  { id: 'missingEndMarker', bytes: missingEndMarker, code: M, rule: /without the end-of-archive marker/ },
  { id: 'truncatedInData', bytes: truncatedInData, code: M, rule: /truncated inside member "b.txt"/, member: 'b.txt' },
  { id: 'truncatedInHeader', bytes: truncatedInHeader, code: M, rule: /truncated inside a header/ },
  { id: 'truncatedEndMarker', bytes: truncatedEndMarker, code: M, rule: /truncated in the end-of-archive marker/ },
  { id: 'dataAfterEnd', bytes: dataAfterEnd, code: U, rule: /data after the end-of-archive marker/ },
  { id: 'dataAfterZeroPadding', bytes: dataAfterZeroPadding, code: U, rule: /data after the end-of-archive marker at offset 10240/ },
  { id: 'memberAfterSingleZeroBlock', bytes: memberAfterSingleZeroBlock, code: U, rule: /end-of-archive blocks/ },
  { id: 'nonZeroInEndBlocks', bytes: nonZeroInEndBlocks, code: U, rule: /end-of-archive blocks/ },
];
