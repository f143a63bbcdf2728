/**
 * The on-disk structures of EWF v1 (Expert Witness Compression Format, `.E01`
 * as ewfacquire, FTK Imager and EnCase up to 6 write it), parsed from bytes.
 * Every structure carries an Adler-32; each is checked here, so a flipped bit
 * in a table or descriptor is reported as such instead of sending the reader
 * to the wrong bytes (and hashing a different "media" without a word).
 * Pure: no I/O, no node: imports; zlib is injected where a section is
 * compressed.
 */
import { CustodyError } from '../errors.js';
import { adler32 } from './adler32.js';

export const FILE_HEADER_SIZE = 13;
export const DESCRIPTOR_SIZE = 76;
const EVF = [0x45, 0x56, 0x46, 0x09, 0x0d, 0x0a, 0xff, 0x00];
const LVF = [0x4c, 0x56, 0x46, 0x09, 0x0d, 0x0a, 0xff, 0x00];
const EVF2 = [0x45, 0x56, 0x46, 0x32, 0x0d, 0x0a, 0x81, 0x00];

export type Inflate = (data: Uint8Array, maxOutput: number) => Uint8Array;

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
export function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function u64(b: Uint8Array, o: number, what: string): number {
  const lo = u32(b, o);
  const hi = u32(b, o + 4);
  if (hi >= 0x200000) throw new CustodyError('IMAGE_MALFORMED', `${what} is out of range`);
  return hi * 2 ** 32 + lo;
}
function startsWith(b: Uint8Array, sig: number[]): boolean {
  return sig.every((v, i) => b[i] === v);
}
function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** True when the first bytes are an EWF v1 segment file header. */
export function isEwfSignature(b: Uint8Array): boolean {
  return b.length >= 8 && startsWith(b, EVF);
}

/** The 13-byte header of every segment file; returns its segment number. */
export function parseFileHeader(b: Uint8Array, name: string): number {
  if (b.length < FILE_HEADER_SIZE) throw new CustodyError('SEGMENT_TRUNCATED', `${name} is truncated: ${b.length} bytes, shorter than an EWF file header`);
  if (startsWith(b, LVF)) throw new CustodyError('USAGE', `${name} is an EWF logical evidence file (L01), not a disk image`);
  if (startsWith(b, EVF2)) throw new CustodyError('USAGE', `${name} is EWF version 2 (Ex01), which custody does not read yet`, { hint: 'convert it with ewfexport -f encase6' });
  if (!startsWith(b, EVF) || b[8] !== 1) throw new CustodyError('IMAGE_MALFORMED', `${name} is not an EWF segment file (bad signature)`);
  const n = u16(b, 9);
  if (n === 0) throw new CustodyError('IMAGE_MALFORMED', `${name}: segment number 0 in the file header`);
  return n;
}

export interface SectionDescriptor {
  type: string;
  /** Offset of this descriptor in its segment file. */
  offset: number;
  next: number;
  size: number;
}

export function parseDescriptor(b: Uint8Array, offset: number, where: string): SectionDescriptor {
  if (adler32(b.subarray(0, 72)) !== u32(b, 72)) {
    throw new CustodyError('IMAGE_MALFORMED', `${where}: section descriptor at offset ${offset} fails its checksum`);
  }
  let end = 0;
  while (end < 16 && b[end] !== 0) end++;
  const type = String.fromCharCode(...b.subarray(0, end));
  return { type, offset, next: u64(b, 16, `${where}: next-section offset at ${offset}`), size: u64(b, 24, `${where}: section size at ${offset}`) };
}

/** Acquisition facts written by the imaging tool (header2 if present, else header). Absent fields are omitted. */
export interface EwfAcquisition {
  caseNumber?: string;
  evidenceNumber?: string;
  examiner?: string;
  description?: string;
  notes?: string;
  /** ISO 8601; UTC ("…Z") when the image holds a timestamp, local time of the acquiring machine (no zone) when it holds only a date text. */
  acquisitionDate?: string;
  systemDate?: string;
  /** `av`: the version of the acquiring software (EWF v1 stores no software name). */
  softwareVersion?: string;
  /** `ov`: the platform the acquisition ran on. */
  os?: string;
  model?: string;
  serialNumber?: string;
  deviceLabel?: string;
}

const HEADER_KEYS: Record<string, keyof EwfAcquisition> = {
  c: 'caseNumber',
  n: 'evidenceNumber',
  e: 'examiner',
  a: 'description',
  t: 'notes',
  m: 'acquisitionDate',
  u: 'systemDate',
  av: 'softwareVersion',
  ov: 'os',
  md: 'model',
  sn: 'serialNumber',
  l: 'deviceLabel',
};

function decodeUtf16(b: Uint8Array): string {
  let le = true;
  let start = 0;
  if (b[0] === 0xff && b[1] === 0xfe) start = 2;
  else if (b[0] === 0xfe && b[1] === 0xff) {
    le = false;
    start = 2;
  }
  let s = '';
  for (let i = start; i + 1 < b.length; i += 2) s += String.fromCharCode(le ? b[i]! | (b[i + 1]! << 8) : (b[i]! << 8) | b[i + 1]!);
  return s;
}

function isoFromEpoch(v: string): string | undefined {
  if (!/^\d{1,12}$/.test(v) || v === '0') return undefined;
  return new Date(Number(v) * 1000).toISOString().replace('.000Z', 'Z');
}

/** header (v1) dates: "2026 11 30 7 28 40", in the acquiring machine's local time. */
function isoFromFields(v: string): string | undefined {
  const m = /^(\d{4}) (\d{1,2}) (\d{1,2}) (\d{1,2}) (\d{1,2}) (\d{1,2})$/.exec(v.trim());
  if (!m) return undefined;
  const p = (x: string) => x.padStart(2, '0');
  return `${m[1]}-${p(m[2]!)}-${p(m[3]!)}T${p(m[4]!)}:${p(m[5]!)}:${p(m[6]!)}`;
}

/**
 * The "main" category of a header or header2 text: line 3 names the fields
 * (tab separated), line 4 holds the values.
 */
export function parseHeaderText(text: string, kind: 'header' | 'header2'): EwfAcquisition {
  const lines = text.split(/\r?\n/);
  const i = lines.indexOf('main');
  if (i < 0 || i + 2 >= lines.length) throw new CustodyError('IMAGE_MALFORMED', `${kind} section has no main category`);
  const keys = lines[i + 1]!.split('\t');
  const values = lines[i + 2]!.split('\t');
  const out: EwfAcquisition = {};
  keys.forEach((k, j) => {
    const field = HEADER_KEYS[k];
    const v = values[j];
    if (!field || v === undefined || v === '') return;
    if (field === 'acquisitionDate' || field === 'systemDate') {
      const iso = kind === 'header2' ? isoFromEpoch(v) : isoFromFields(v);
      if (iso) out[field] = iso;
    } else {
      out[field] = v;
    }
  });
  return out;
}

/** header2: zlib, UTF-16 with a byte order mark. header: zlib, a single-byte code page (ASCII by default). */
export function decodeHeaderSection(data: Uint8Array, kind: 'header' | 'header2', inflate: Inflate): EwfAcquisition {
  let plain: Uint8Array;
  try {
    plain = inflate(data, 16 << 20);
  } catch (e) {
    throw new CustodyError('IMAGE_MALFORMED', `${kind} section does not decompress: ${(e as Error).message}`);
  }
  const text = kind === 'header2' ? decodeUtf16(plain) : new TextDecoder('windows-1252').decode(plain);
  return parseHeaderText(text, kind);
}

export type Compression = 'none' | 'fast' | 'best' | 'unknown';

export interface EwfVolume {
  chunkCount: number;
  sectorsPerChunk: number;
  bytesPerSector: number;
  sectorCount: number;
  /** EnCase layout only. */
  mediaType?: 'removable' | 'fixed' | 'optical' | 'memory' | 'unknown';
  physical?: boolean;
  compression?: Compression;
  errorGranularity?: number;
  guid?: string;
}

const MEDIA_TYPES: Record<number, EwfVolume['mediaType']> = { 0: 'removable', 1: 'fixed', 3: 'optical', 0x10: 'memory' };

/** The volume (or disk / data) section: 1052 bytes as EnCase and ewfacquire write it, 94 bytes in the SMART layout. */
export function parseVolume(d: Uint8Array, where: string): EwfVolume {
  let v: EwfVolume;
  if (d.length >= 1052) {
    if (adler32(d.subarray(0, 1048)) !== u32(d, 1048)) throw new CustodyError('IMAGE_MALFORMED', `${where}: volume section fails its checksum`);
    const level = d[52]!;
    v = {
      chunkCount: u32(d, 4),
      sectorsPerChunk: u32(d, 8),
      bytesPerSector: u32(d, 12),
      sectorCount: u64(d, 16, `${where}: sector count`),
      mediaType: MEDIA_TYPES[d[0]!] ?? 'unknown',
      physical: (d[36]! & 0x02) !== 0,
      compression: level === 0 ? 'none' : level === 1 ? 'fast' : level === 2 ? 'best' : 'unknown',
      errorGranularity: u32(d, 56),
      guid: hex(d.subarray(64, 80)),
    };
  } else if (d.length >= 94) {
    if (adler32(d.subarray(0, 90)) !== u32(d, 90)) throw new CustodyError('IMAGE_MALFORMED', `${where}: volume section fails its checksum`);
    v = { chunkCount: u32(d, 4), sectorsPerChunk: u32(d, 8), bytesPerSector: u32(d, 12), sectorCount: u32(d, 16) };
  } else {
    throw new CustodyError('IMAGE_MALFORMED', `${where}: volume section is ${d.length} bytes, too short`);
  }
  const chunkSize = v.sectorsPerChunk * v.bytesPerSector;
  if (v.bytesPerSector < 1 || v.sectorsPerChunk < 1 || chunkSize > 64 << 20 || !Number.isSafeInteger(v.sectorCount * v.bytesPerSector)) {
    throw new CustodyError('IMAGE_MALFORMED', `${where}: implausible geometry (${v.sectorsPerChunk} sectors per chunk of ${v.bytesPerSector} bytes, ${v.sectorCount} sectors)`);
  }
  return v;
}

export interface EwfTable {
  /** Raw 32-bit entries: bit 31 = compressed, bits 0–30 = offset from baseOffset. */
  entries: Uint32Array;
  baseOffset: number;
}

/** table / table2: 24-byte header (count, base offset, checksum), 4-byte entries, Adler-32 of the entries. */
export function parseTable(d: Uint8Array, where: string): EwfTable {
  if (d.length < 24) throw new CustodyError('IMAGE_MALFORMED', `${where}: table section is too short`);
  if (adler32(d.subarray(0, 20)) !== u32(d, 20)) throw new CustodyError('IMAGE_MALFORMED', `${where}: table header fails its checksum`);
  const count = u32(d, 0);
  const baseOffset = u64(d, 8, `${where}: table base offset`);
  const end = 24 + count * 4;
  if (count === 0 || end > d.length) throw new CustodyError('IMAGE_MALFORMED', `${where}: table claims ${count} entries in ${d.length} bytes`);
  const raw = d.subarray(24, end);
  if (end + 4 <= d.length && adler32(raw) !== u32(d, end)) throw new CustodyError('IMAGE_MALFORMED', `${where}: table entries fail their checksum`);
  const entries = new Uint32Array(count);
  for (let i = 0; i < count; i++) entries[i] = u32(raw, i * 4);
  return { entries, baseOffset };
}

/** hash: MD5 of the media; digest: MD5 and SHA-1. An all-zero value means "not computed". */
export function parseHash(d: Uint8Array, where: string): { md5?: string } {
  if (d.length < 36 || adler32(d.subarray(0, 32)) !== u32(d, 32)) throw new CustodyError('IMAGE_MALFORMED', `${where}: hash section fails its checksum`);
  const md5 = d.subarray(0, 16);
  return md5.some((x) => x !== 0) ? { md5: hex(md5) } : {};
}

export function parseDigest(d: Uint8Array, where: string): { md5?: string; sha1?: string } {
  if (d.length < 80 || adler32(d.subarray(0, 76)) !== u32(d, 76)) throw new CustodyError('IMAGE_MALFORMED', `${where}: digest section fails its checksum`);
  const out: { md5?: string; sha1?: string } = {};
  const md5 = d.subarray(0, 16);
  const sha1 = d.subarray(16, 36);
  if (md5.some((x) => x !== 0)) out.md5 = hex(md5);
  if (sha1.some((x) => x !== 0)) out.sha1 = hex(sha1);
  return out;
}

/** error2: the sector ranges the acquiring tool could not read (filled with zeros in the image). */
export function parseErrors(d: Uint8Array, where: string): { firstSector: number; sectors: number }[] {
  if (d.length < 520 || adler32(d.subarray(0, 516)) !== u32(d, 516)) throw new CustodyError('IMAGE_MALFORMED', `${where}: error2 section fails its checksum`);
  const count = u32(d, 0);
  if (520 + count * 8 > d.length) throw new CustodyError('IMAGE_MALFORMED', `${where}: error2 section claims ${count} entries`);
  const out: { firstSector: number; sectors: number }[] = [];
  for (let i = 0; i < count; i++) out.push({ firstSector: u32(d, 520 + i * 8), sectors: u32(d, 524 + i * 8) });
  return out;
}
