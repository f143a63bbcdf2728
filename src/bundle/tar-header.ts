/**
 * The 512-byte ustar header, encoded and strictly decoded by hand.
 *
 * Why not tar-stream's header codec: its decoder is lenient by design
 * (garbage in numeric fields parses to something, bytes after a name's NUL
 * are ignored, unknown formats can be let through) and its encoder refuses
 * non-ASCII names. A strict reader must see the raw bytes, so both sides
 * live here, and the writer and the reader share one definition.
 *
 * Layout (POSIX.1-1988 ustar): name 0/100, mode 100/8, uid 108/8, gid 116/8,
 * size 124/12, mtime 136/12, chksum 148/8, typeflag 156, linkname 157/100,
 * magic 257/6, version 263/2, uname 265/32, gname 297/32, devmajor 329/8,
 * devminor 337/8, prefix 345/155, pad 500/12.
 */
import { CustodyError } from '../core/errors.js';

export const BLOCK = 512;
/** Two zero blocks end a tar archive. */
export const END_OF_ARCHIVE: Uint8Array = new Uint8Array(2 * BLOCK);
/** Largest member size we accept: beyond this a JS number loses integers. */
export const MAX_MEMBER_SIZE = Number.MAX_SAFE_INTEGER;
/** Local pax headers are a few names long; a huge one is an attack on memory. */
export const MAX_PAX_SIZE = 1 << 20;

const OCTAL_SIZE_LIMIT = 8 ** 11; // 11 octal digits: 8 GiB
const enc = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

export interface HeaderFields {
  name: string;
  size: number;
  type: 'file' | 'dir';
  mode?: number;
  /** Seconds since the epoch; DESIGN §3 wants 0 (file times live in the manifest). */
  mtime?: number;
}

function putString(buf: Uint8Array, bytes: Uint8Array, off: number): void {
  buf.set(bytes, off);
}

function putOctal(buf: Uint8Array, value: number, off: number, len: number): void {
  // len-1 zero-padded octal digits and a NUL, as GNU tar writes them (ASCII: written directly, the
  // canonical check of a reader encodes a header per member).
  const s = value.toString(8).padStart(len - 1, '0');
  if (s.length > len - 1) throw new CustodyError('INTERNAL', `numeric field overflow (${value})`);
  for (let k = 0; k < s.length; k++) buf[off + k] = s.charCodeAt(k);
  buf[off + len - 1] = 0;
}

/**
 * The ustar size field. Up to 8 GiB - 1: 11 octal digits and a NUL. From 8 GiB
 * to 64 GiB - 1: all 12 bytes octal digits, no terminator (GNU tar, bsdtar,
 * Python, BusyBox, 7-Zip and MirBSD pax all read it; MirBSD pax reads neither
 * base-256 nor the pax `size` record and took such a member for 0 bytes, then
 * lost its place in the archive). From 64 GiB: GNU base-256. From 8 GiB on, a
 * pax `size` record says the same (see encodeHeader).
 */
function putSize(buf: Uint8Array, size: number): void {
  if (size < OCTAL_SIZE_LIMIT) return putOctal(buf, size, 124, 12);
  if (size < 8 ** 12) return putString(buf, enc.encode(size.toString(8)), 124);
  buf[124] = 0x80;
  let v = BigInt(size);
  for (let i = 135; i > 124; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function checksum(block: Uint8Array, base = 0, words?: Uint32Array): number {
  if (words !== undefined && ((block.byteOffset + base) & 3) === 0) {
    // Four bytes at a time: the bytes of each word added in two 16-bit lanes (126 words of at most 2 * 255 a
    // lane stay below 2^16), the checksum field's two words left out and counted as eight spaces.
    const w = (block.byteOffset + base) >> 2;
    let acc = 0;
    for (let i = w; i < w + 37; i++) acc += (words[i]! & 0x00ff00ff) + ((words[i]! >>> 8) & 0x00ff00ff);
    for (let i = w + 39; i < w + 128; i++) acc += (words[i]! & 0x00ff00ff) + ((words[i]! >>> 8) & 0x00ff00ff);
    return 8 * 0x20 + (acc & 0xffff) + (acc >>> 16);
  }
  // The checksum field itself counts as eight spaces. Four sums side by side (a reader checks a header per member).
  let s0 = 8 * 0x20;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = base; i < base + 148; i += 4) {
    s0 += block[i]!;
    s1 += block[i + 1]!;
    s2 += block[i + 2]!;
    s3 += block[i + 3]!;
  }
  for (let i = base + 156; i < base + BLOCK; i += 4) {
    s0 += block[i]!;
    s1 += block[i + 1]!;
    s2 += block[i + 2]!;
    s3 += block[i + 3]!;
  }
  return s0 + s1 + s2 + s3;
}

let wordsBuffer: ArrayBufferLike | undefined;
let wordsView: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/**
 * The 32-bit words of b's buffer when b starts on a word and its buffer is
 * a reader's window or chunk (at least 4 KiB): a header is then checked four
 * bytes at a time. The view is made once per buffer.
 */
function wordsOf(b: Uint8Array): Uint32Array | undefined {
  if ((b.byteOffset & 3) !== 0) return undefined;
  const buffer = b.buffer;
  if (buffer !== wordsBuffer) {
    if (buffer.byteLength < 4096) return undefined;
    wordsBuffer = buffer;
    wordsView = new Uint32Array(buffer, 0, buffer.byteLength >> 2);
  }
  return wordsView;
}

function utf8Prefix(bytes: Uint8Array, max: number): Uint8Array {
  // Cut at a character boundary so the truncated ustar name still decodes.
  let end = Math.min(max, bytes.length);
  while (end > 0 && end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function paxRecord(key: string, value: string): Uint8Array {
  const body = enc.encode(` ${key}=${value}\n`);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len++;
  return enc.encode(`${len} ${key}=${value}\n`);
}

function rawHeader(nameBytes: Uint8Array, prefixBytes: Uint8Array, size: number, typeflag: string, mode: number, mtime: number): Uint8Array {
  const b = new Uint8Array(BLOCK);
  putString(b, nameBytes, 0);
  putOctal(b, mode, 100, 8);
  putOctal(b, 0, 108, 8);
  putOctal(b, 0, 116, 8);
  putSize(b, size);
  putOctal(b, mtime, 136, 12);
  b[156] = typeflag.charCodeAt(0);
  b.set(USTAR_MAGIC, 257); // magic and version, as decodeHeader recognises them
  putOctal(b, 0, 329, 8);
  putOctal(b, 0, 337, 8);
  putString(b, prefixBytes, 345);
  // Six octal digits, a NUL and a space, as GNU tar writes the checksum (ASCII, written directly).
  const sum = checksum(b).toString(8).padStart(6, '0');
  for (let k = 0; k < 6; k++) b[148 + k] = sum.charCodeAt(k);
  b[154] = 0;
  b[155] = 0x20;
  return b;
}

/** Printable ASCII only: a name any reader decodes the same whatever character set it assumes. */
function isPortableAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! < 0x20 || bytes[i]! > 0x7e) return false;
  return true;
}

/** The ustar name/prefix split (prefix <= 155 bytes '/' name <= 100 bytes, shortest prefix), if there is one. */
function ustarSplit(bytes: Uint8Array): { name: Uint8Array; prefix: Uint8Array } | undefined {
  if (bytes.length <= 100) return { name: bytes, prefix: new Uint8Array(0) };
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x2f) continue;
    if (i > 155) break;
    const rest = bytes.length - i - 1;
    if (rest > 0 && rest <= 100) return { name: bytes.subarray(i + 1), prefix: bytes.subarray(0, i) };
  }
  return undefined;
}

/** Where a name must go in ustar fields that cannot hold it all: split if it fits, else its first 100 bytes. */
function ustarFallback(bytes: Uint8Array): { name: Uint8Array; prefix: Uint8Array } {
  return ustarSplit(bytes) ?? { name: utf8Prefix(bytes, 100), prefix: new Uint8Array(0) };
}

/** The name GNU tar --format=pax gives a member's pax header: `<dir>/PaxHeaders/<base>`. */
function paxHeaderName(name: string): string {
  const bare = name.endsWith('/') ? name.slice(0, -1) : name;
  const slash = bare.lastIndexOf('/');
  return slash < 0 ? `./PaxHeaders/${bare}` : `${bare.slice(0, slash)}/PaxHeaders/${bare.slice(slash + 1)}`;
}

/**
 * Encodes the header(s) of one member, as `tar --format=pax` lays them out:
 * a plain ustar header (512 bytes) when the name is printable ASCII that fits
 * the ustar fields and the size is under 8 GiB; otherwise a local pax header
 * ('x', named `<dir>/PaxHeaders/<base>`) with a `path` record (a name that is
 * not printable ASCII, or too long for ustar) and/or a `size` record (8 GiB
 * or more), followed by the ustar header with the name's bytes (split or cut
 * to 100 bytes) and the size. A reader that assumes another character set
 * for raw header names (ISO-8859-1, CP1252) still takes the name from the
 * UTF-8 pax record. The name is not checked here (see tar-names.ts); a
 * directory gets its trailing '/'.
 */
export function encodeHeader(h: HeaderFields): Uint8Array {
  const mode = h.mode ?? (h.type === 'dir' ? 0o755 : 0o644);
  const mtime = h.mtime ?? 0;
  if (!Number.isSafeInteger(h.size) || h.size < 0) throw new CustodyError('INTERNAL', `bad member size ${h.size}`);
  if (h.type === 'dir' && h.size !== 0) throw new CustodyError('INTERNAL', 'a directory has no data');
  if (!Number.isInteger(mtime) || mtime < 0 || mtime >= OCTAL_SIZE_LIMIT) throw new CustodyError('INTERNAL', `bad mtime ${mtime}`);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new CustodyError('INTERNAL', `bad mode ${mode}`);
  const name = h.type === 'dir' && !h.name.endsWith('/') ? `${h.name}/` : h.name;
  const typeflag = h.type === 'dir' ? '5' : '0';
  const bytes = enc.encode(name);
  const split = ustarSplit(bytes);
  const needPath = split === undefined || !isPortableAscii(bytes);
  const needSize = h.size >= OCTAL_SIZE_LIMIT;
  if (!needPath && !needSize) return rawHeader(split!.name, split!.prefix, h.size, typeflag, mode, mtime);
  const records = [...(needPath ? [paxRecord('path', name)] : []), ...(needSize ? [paxRecord('size', String(h.size))] : [])];
  const paxLen = records.reduce((n, r) => n + r.length, 0);
  const out = new Uint8Array(BLOCK + paxLen + paddingFor(paxLen) + BLOCK);
  const xName = ustarFallback(enc.encode(paxHeaderName(name)));
  out.set(rawHeader(xName.name, xName.prefix, paxLen, 'x', 0o644, mtime), 0);
  let at = BLOCK;
  for (const r of records) {
    out.set(r, at);
    at += r.length;
  }
  const u = split ?? ustarFallback(bytes);
  out.set(rawHeader(u.name, u.prefix, h.size, typeflag, mode, mtime), out.length - BLOCK);
  return out;
}

// ---------------------------------------------------------------- decoding

export interface DecodedHeader {
  /** prefix '/' name, raw bytes (what the pax `path` rule compares against). */
  nameBytes: Uint8Array;
  typeflag: string;
  size: number;
  mode: number;
  mtime: number;
  format: 'ustar' | 'gnu';
}

function bad(rule: string, offset: number, member?: string): CustodyError {
  const where = member === undefined ? '' : ` (member ${JSON.stringify(member)})`;
  return new CustodyError('UNSAFE_BUNDLE', `unsafe tar header at offset ${offset}${where}: ${rule}`, {
    ...(member === undefined ? {} : { member }),
    range: [offset, offset + BLOCK],
  });
}

export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Whether the 512 bytes of b from `base` on are all zero (a header read in place in a larger buffer). */
export function isZeroBlockAt(b: Uint8Array, base: number): boolean {
  return zeroFrom(b, base, base + BLOCK);
}

/**
 * A NUL-terminated string field: every byte after the first NUL must be NUL
 * too (no hidden bytes). Returns the length before the NUL (read in place:
 * a reader decodes a header per member, and views and copies were most of
 * the cost).
 */
function field(b: Uint8Array, off: number, len: number, what: string, at: number, words?: Uint32Array): number {
  const end = off + len;
  let i = off;
  while (i < end && b[i] !== 0) i++;
  if (!zeroFrom(b, i, end, words)) throw bad(`bytes after the NUL terminator of the ${what} field`, at);
  return i - off;
}

/**
 * A numeric field: optional leading spaces, octal digits, then only NULs or
 * spaces; or GNU base-256 (first byte 0x80). Empty fields are allowed only
 * where GNU tar leaves them empty (devmajor/devminor).
 */
function numeric(b: Uint8Array, off: number, len: number, what: string, at: number, allowEmpty = false): number {
  const end = off + len;
  if (b[off] === 0x80) {
    let v = 0n;
    for (let i = off + 1; i < end; i++) v = (v << 8n) | BigInt(b[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`absurd ${what} (base-256 value too large)`, at);
    return Number(v);
  }
  if (b[off] === 0xff) throw bad(`negative ${what} (base-256)`, at);
  let i = off;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  while (i < end && b[i]! >= 0x30 && b[i]! <= 0x37) {
    v = v * 8 + (b[i]! - 0x30);
    digits++;
    i++;
  }
  for (; i < end; i++) if (b[i] !== 0 && b[i] !== 0x20) throw bad(`${what} field is not a valid octal number`, at);
  if (digits === 0 && !allowEmpty) throw bad(`${what} field is empty`, at);
  return v;
}

/** Whether bytes [from, to) of b are all zero; `words`: wordsOf(b), to look at whole words four bytes at a time. */
function zeroFrom(b: Uint8Array, from: number, to: number, words?: Uint32Array): boolean {
  let i = from;
  if (words !== undefined && to - from >= 16) {
    const o = b.byteOffset;
    for (; ((o + i) & 3) !== 0; i++) if (b[i] !== 0) return false;
    const last = (o + to) >> 2;
    for (let k = (o + i) >> 2; k < last; k++) if (words[k] !== 0) return false;
    i = (last << 2) - o;
  }
  for (; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

// The two magic fields (257/8) accepted: POSIX ustar ("ustar\0" "00") and old GNU ("ustar  \0").
const USTAR_MAGIC = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30];
const GNU_MAGIC = [0x75, 0x73, 0x74, 0x61, 0x72, 0x20, 0x20, 0x00];

function magicIs(b: Uint8Array, base: number, magic: number[]): boolean {
  for (let i = 0; i < 8; i++) if (b[base + 257 + i] !== magic[i]) return false;
  return true;
}

/**
 * Decodes one non-zero header block, refusing anything malformed. The
 * caller resolves the name (pax `path`) and applies the type rules. The
 * block is b's 512 bytes from `base` on (a header decoded in place in a
 * reader's window, without a view made of it per member).
 */
export function decodeHeader(b: Uint8Array, at: number, base = 0): DecodedHeader {
  const o = base;
  const w = wordsOf(b);
  const stored = numeric(b, o + 148, 8, 'checksum', at);
  if (stored !== checksum(b, o, w)) throw bad('header checksum mismatch (corrupted or forged header)', at);
  let format: 'ustar' | 'gnu';
  if (magicIs(b, o, USTAR_MAGIC)) format = 'ustar';
  else if (magicIs(b, o, GNU_MAGIC)) format = 'gnu';
  else throw bad('header magic is neither ustar nor GNU', at);
  const nameLength = field(b, o, 100, 'name', at, w);
  field(b, o + 157, 100, 'linkname', at, w);
  field(b, o + 265, 32, 'uname', at, w);
  field(b, o + 297, 32, 'gname', at, w);
  const mode = numeric(b, o + 100, 8, 'mode', at);
  numeric(b, o + 108, 8, 'uid', at);
  numeric(b, o + 116, 8, 'gid', at);
  const size = numeric(b, o + 124, 12, 'size', at);
  const mtime = numeric(b, o + 136, 12, 'mtime', at);
  numeric(b, o + 329, 8, 'devmajor', at, true);
  numeric(b, o + 337, 8, 'devminor', at, true);
  let prefixLength = 0;
  if (format === 'ustar') {
    prefixLength = field(b, o + 345, 155, 'prefix', at, w);
    if (!zeroFrom(b, o + 500, o + BLOCK)) throw bad('non-zero bytes in the header padding', at);
  } else if (!zeroFrom(b, o + 345, o + BLOCK, w)) {
    // GNU incremental/sparse/multi-volume fields: not supported, not ignored.
    throw bad('GNU extension fields (sparse, incremental or multi-volume) are not supported', at);
  }
  if (b[o + 157] !== 0 && b[o + 156] !== 0x31 && b[o + 156] !== 0x32) throw bad('link name on a member that is not a link', at);
  // A copy (the block is usually part of a buffer that is reused): prefix '/' name.
  let nameBytes: Uint8Array;
  if (prefixLength > 0) {
    nameBytes = new Uint8Array(prefixLength + 1 + nameLength);
    nameBytes.set(b.subarray(o + 345, o + 345 + prefixLength), 0);
    nameBytes[prefixLength] = 0x2f;
    nameBytes.set(b.subarray(o, o + nameLength), prefixLength + 1);
  } else {
    // Byte by byte: TypedArray slice costs more than copying a name this short.
    nameBytes = new Uint8Array(nameLength);
    for (let i = 0; i < nameLength; i++) nameBytes[i] = b[o + i]!;
  }
  return { nameBytes, typeflag: String.fromCharCode(b[o + 156]!), size, mode, mtime, format };
}

export function decodeName(bytes: Uint8Array, at: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw bad('name is not valid UTF-8', at);
  }
}

const PAX_ALLOWED = new Set(['path', 'size', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'uname', 'gname']);

/**
 * Parses a local pax header's records ("<len> <key>=<value>\n") strictly.
 * Only keys whose meaning we model are accepted: others (GNU.sparse.* makes
 * a sparse file, SCHILY.xattr.* carries ACLs and security labels,
 * hdrcharset changes how names decode, linkpath makes a link) would change
 * what a member is while a lenient reader silently ignored them.
 */
export function parsePax(data: Uint8Array, at: number): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    // The length has at most 7 digits: look no further for its space (spreading a
    // hostile 1 MiB run of digits into fromCharCode overflowed the stack: exit 3, not 1).
    const sp = data.subarray(i, i + 8).indexOf(0x20);
    const lenText = sp < 0 ? '' : String.fromCharCode(...data.subarray(i, i + sp));
    if (!/^[1-9][0-9]{0,6}$/.test(lenText)) throw bad('malformed pax record length', at);
    const end = i + Number(lenText);
    if (end > data.length || data[end - 1] !== 0x0a) throw bad('malformed pax record (length disagrees with the data)', at);
    let text: string;
    try {
      text = utf8.decode(data.subarray(i + sp + 1, end - 1));
    } catch {
      throw bad('pax record is not valid UTF-8', at);
    }
    const eq = text.indexOf('=');
    if (eq <= 0) throw bad('malformed pax record (no key)', at);
    const key = text.slice(0, eq);
    const value = text.slice(eq + 1);
    if (key === 'linkpath') throw bad('pax linkpath (links are not allowed)', at);
    if (!PAX_ALLOWED.has(key)) throw bad(`pax key ${JSON.stringify(key)} is not supported`, at);
    if (out.has(key)) throw bad(`duplicate pax key ${JSON.stringify(key)}`, at);
    if (key === 'size' && !/^(0|[1-9][0-9]*)$/.test(value)) throw bad('pax size is not a decimal number', at);
    if (/time$/.test(key) && !/^-?[0-9]+(\.[0-9]+)?$/.test(value)) throw bad(`pax ${key} is not a number`, at);
    out.set(key, value);
    i = end;
  }
  return out;
}

export interface ResolvedHeader {
  name: string;
  type: 'file' | 'dir';
  size: number;
  mode: number;
  mtime: number;
}

const TYPE_RULES: Record<string, string> = {
  '1': 'hard link',
  '2': 'symbolic link',
  '3': 'character device',
  '4': 'block device',
  '6': 'FIFO',
  '7': 'contiguous file',
  g: 'global pax header (it would change how every later member is read)',
  L: 'GNU long name',
  K: 'GNU long link name',
  S: 'GNU sparse file',
  D: 'GNU dump directory',
  M: 'GNU multi-volume continuation',
  V: 'volume label',
  N: 'GNU old long name',
};

/**
 * Applies the member rules to a decoded ustar header and the local pax
 * records before it (if any): type, size, and pax `path`/`size` agreement.
 * Returns the raw name (a directory keeps its '/'; tar-names checks it).
 */
export function resolveHeader(h: DecodedHeader, pax: Map<string, string> | undefined, at: number): ResolvedHeader {
  const ustarName = decodeName(h.nameBytes, at);
  let name = ustarName;
  const path = pax?.get('path');
  if (path !== undefined) {
    // The ustar name must be a truncation of the pax path (GNU tar, us), or
    // of its ASCII fallback with '?' for each non-ASCII character (Python's
    // tarfile): a header that names one file to old tools and another to
    // pax-aware ones is refused.
    const nb = h.nameBytes;
    const isPrefixOf = (pb: Uint8Array) => nb.length <= pb.length && nb.every((x, k) => x === pb[k]);
    if (!isPrefixOf(enc.encode(path)) && !isPrefixOf(enc.encode(path.replace(/[^\u0000-\u007f]/gu, '?')))) {
      throw bad(`pax path ${JSON.stringify(path)} disagrees with the ustar name ${JSON.stringify(ustarName)}`, at, path);
    }
    name = path;
  }
  let type: 'file' | 'dir';
  if (h.typeflag === '0' || h.typeflag === '\u0000') type = 'file';
  else if (h.typeflag === '5') type = 'dir';
  else throw bad(`${TYPE_RULES[h.typeflag] ?? `unknown member type ${JSON.stringify(h.typeflag)}`} is not allowed`, at, name);
  const paxSize = pax?.get('size');
  if (paxSize !== undefined && Number(paxSize) !== h.size) {
    throw bad(`pax size ${paxSize} disagrees with the ustar size ${h.size}`, at, name);
  }
  if (h.size > MAX_MEMBER_SIZE) throw bad('absurd size', at, name);
  if (type === 'dir' && h.size !== 0) throw bad('directory with a non-zero size', at, name);
  return { name, type, size: h.size, mode: h.mode, mtime: h.mtime };
}
