/**
 * Walks the segments of an EWF v1 image in order, section by section, and
 * hands the media's chunks to a sink in batches (a run of consecutive chunks
 * of one table), in media order. Memory stays flat: one table (at most a few
 * hundred KiB) is held at a time and the chunk bytes themselves are read by
 * the sink into its own fixed buffers; nothing holds a segment or the media.
 *
 * Threats it guards against: a missing, renamed or truncated segment (named,
 * never skipped, since hashing around a gap gives a plausible wrong hash); a
 * table or descriptor that points outside its section or backwards (the
 * "dual image" where size and next-offset disagree); a chunk that inflates to
 * more than a chunk (a decompression bomb); more or fewer chunks than the
 * volume section declares. Pure: file access and zlib are injected.
 */
import { CustodyError } from '../errors.js';
import {
  DESCRIPTOR_SIZE,
  FILE_HEADER_SIZE,
  decodeHeaderSection,
  parseDescriptor,
  parseDigest,
  parseErrors,
  parseFileHeader,
  parseHash,
  parseTable,
  parseVolume,
  type EwfAcquisition,
  type EwfTable,
  type EwfVolume,
  type Inflate,
} from './format.js';

/** One segment file opened for positional reads. */
export interface SegmentReader {
  name: string;
  size: number;
  /** Reads up to target.length bytes at `position`; returns how many were read. */
  readInto(position: number, target: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

export interface SegmentSource {
  /** Opens segment `n` (1-based), undefined when it does not exist. */
  open(n: number): Promise<SegmentReader | undefined>;
  /** The name segment `n` has or would have (for messages). */
  nameOf(n: number): string;
}

/**
 * A run of consecutive chunks stored in one segment: `span` bytes at
 * `fileOffset`; `chunks` holds, per chunk, 5 numbers: offset in the span,
 * stored size, 1 if zlib-compressed, least and most plain bytes allowed.
 */
export interface ChunkBatch {
  segment: SegmentReader;
  fileOffset: number;
  span: number;
  firstChunk: number;
  count: number;
  chunks: Uint32Array;
  chunkSize: number;
}

export interface ChunkSink {
  /** Takes a batch; may return before it is decoded (the sink keeps media order). */
  put(batch: ChunkBatch): Promise<void>;
}

export interface EwfImageInfo {
  segments: string[];
  volume: EwfVolume;
  acquisition: EwfAcquisition;
  stored: { md5?: string; sha1?: string };
  /** Sector ranges the acquiring tool could not read (zero-filled), from the error2 section. */
  readErrors: { firstSector: number; sectors: number }[];
  chunkCount: number;
  /** sectorCount × bytesPerSector: the media size the image declares. */
  declaredSize: number;
}

export interface WalkOptions {
  inflate: Inflate;
  /** Largest plain size of one batch (bytes); the sink's buffers are sized from it. */
  batchBytes: number;
}

/** Longest a chunk may be stored: a zlib stream of incompressible data grows by a few bytes per 16 KiB. */
export function maxStoredChunk(chunkSize: number): number {
  return chunkSize + (chunkSize >>> 6) + 1024;
}

/** Longest byte span one batch may need for chunks of `chunkSize` (the sink sizes its input buffers from it). */
export function maxBatchSpan(chunkSize: number, batchBytes: number): number {
  return Math.max(1, Math.floor(batchBytes / chunkSize)) * maxStoredChunk(chunkSize);
}

const MAX_SMALL_SECTION = 16 << 20;

export async function walkEwf(source: SegmentSource, sink: ChunkSink, opts: WalkOptions): Promise<EwfImageInfo> {
  const segments: string[] = [];
  let volume: EwfVolume | undefined;
  let acquisition: EwfAcquisition | undefined;
  let fromHeader2 = false;
  const stored: { md5?: string; sha1?: string } = {};
  let readErrors: EwfImageInfo['readErrors'] = [];
  let chunk = 0; // next chunk number in media order
  let done = false;

  for (let n = 1; !done; n++) {
    const seg = await source.open(n);
    if (!seg) {
      const prev = segments[segments.length - 1];
      throw new CustodyError('SEGMENT_MISSING', `segment ${source.nameOf(n)} is missing: ${prev} ends with a "next" section, so the image goes on`, {
        hint: 'keep every segment file of the image side by side',
      });
    }
    segments.push(seg.name);
    try {
      const read = async (pos: number, len: number, what: string): Promise<Uint8Array> => {
        if (pos + len > seg.size) throw truncated(seg, `${what} at offset ${pos} runs past its end`);
        const b = new Uint8Array(len);
        let got = 0;
        while (got < len) {
          const r = await seg.readInto(pos + got, b.subarray(got));
          if (r === 0) throw truncated(seg, `${what} at offset ${pos} runs past its end`);
          got += r;
        }
        return b;
      };
      const number = parseFileHeader(await read(0, FILE_HEADER_SIZE, 'the file header'), seg.name);
      if (number !== n) throw new CustodyError('IMAGE_MALFORMED', `${seg.name} says it is segment ${number}, expected ${n}`, { hint: 'a segment was renamed or belongs to another image' });

      let pos = FILE_HEADER_SIZE;
      let sectors: { start: number; end: number } | undefined;
      let badTable: CustodyError | undefined;
      let tableDone = false;
      for (;;) {
        const d = parseDescriptor(await read(pos, DESCRIPTOR_SIZE, 'a section descriptor'), pos, seg.name);
        const where = `${seg.name}: ${d.type} section at offset ${pos}`;
        if (badTable && d.type !== 'table2') throw badTable;
        if (d.type === 'done' || d.type === 'next') {
          if (d.type === 'done') done = true;
          break;
        }
        if (d.next <= pos) throw new CustodyError('IMAGE_MALFORMED', `${where} points back to offset ${d.next}`);
        if (d.size !== 0 && d.next !== pos + d.size) {
          throw new CustodyError('IMAGE_MALFORMED', `${where}: its size (${d.size}) and its next-section offset (${d.next}) disagree`);
        }
        if (d.next > seg.size) throw truncated(seg, `the ${d.type} section at offset ${pos} ends at ${d.next}`);
        const start = pos + DESCRIPTOR_SIZE;
        const len = d.next - start;
        const small = async () => {
          if (len > MAX_SMALL_SECTION) throw new CustodyError('IMAGE_MALFORMED', `${where} is ${len} bytes, implausibly large`);
          return read(start, len, `the ${d.type} section`);
        };
        switch (d.type) {
          case 'header2':
          case 'header':
            // header2 (UTF-16) carries more than header (code page); either may come first or twice.
            if (!fromHeader2) {
              const a = decodeHeaderSection(await small(), d.type, opts.inflate);
              if (d.type === 'header2' || !acquisition) acquisition = a;
              fromHeader2 ||= d.type === 'header2';
            }
            break;
          case 'volume':
          case 'disk':
            if (!volume) volume = parseVolume(await small(), seg.name);
            break;
          case 'sectors':
            sectors = { start, end: d.next };
            break;
          case 'table':
          case 'table2': {
            if (d.type === 'table2' && !badTable) break; // a mirror of the table just read
            if (!volume) throw new CustodyError('IMAGE_MALFORMED', `${where} comes before the volume section`);
            let table: EwfTable;
            try {
              table = parseTable(await small(), where);
            } catch (e) {
              if (d.type === 'table' && e instanceof CustodyError && e.code === 'IMAGE_MALFORMED') {
                badTable = e; // table2 may be intact
                break;
              }
              throw badTable ?? e;
            }
            badTable = undefined;
            tableDone = true;
            chunk = await emitTable(seg, table, sectors ?? { start: FILE_HEADER_SIZE, end: pos }, volume, chunk, sink, opts, where);
            break;
          }
          case 'hash':
            if (stored.md5 === undefined) Object.assign(stored, parseHash(await small(), seg.name));
            break;
          case 'digest':
            Object.assign(stored, parseDigest(await small(), seg.name));
            break;
          case 'error2':
            readErrors = parseErrors(await small(), seg.name);
            break;
          default:
            break; // data (a copy of volume), session, xheader, …: nothing the media hash depends on
        }
        pos = d.next;
      }
      if (!tableDone && !done) throw new CustodyError('IMAGE_MALFORMED', `${seg.name} holds no chunk table`);
    } finally {
      await seg.close();
    }
  }
  if (!volume) throw new CustodyError('IMAGE_MALFORMED', `${segments[0]} has no volume section`);
  if (chunk !== volume.chunkCount) {
    throw new CustodyError('IMAGE_MALFORMED', `the image holds ${chunk} chunks, its volume section declares ${volume.chunkCount}`);
  }
  return {
    segments,
    volume,
    acquisition: acquisition ?? {},
    stored,
    readErrors,
    chunkCount: chunk,
    declaredSize: volume.sectorCount * volume.bytesPerSector,
  };
}

function truncated(seg: SegmentReader, what: string): CustodyError {
  return new CustodyError('SEGMENT_TRUNCATED', `segment ${seg.name} is truncated: ${what} (the file has ${seg.size} bytes)`);
}

/** Turns one table into batches of chunks, in order; returns the next chunk number. */
async function emitTable(
  seg: SegmentReader,
  table: EwfTable,
  area: { start: number; end: number },
  volume: EwfVolume,
  first: number,
  sink: ChunkSink,
  opts: WalkOptions,
  where: string,
): Promise<number> {
  const chunkSize = volume.sectorsPerChunk * volume.bytesPerSector;
  const declared = volume.sectorCount * volume.bytesPerSector;
  const maxStored = maxStoredChunk(chunkSize);
  const perBatch = Math.max(1, Math.floor(opts.batchBytes / chunkSize));
  const n = table.entries.length;
  const offsetOf = (i: number) => table.baseOffset + (table.entries[i]! & 0x7fffffff);

  let i = 0;
  while (i < n) {
    const count = Math.min(perBatch, n - i);
    const chunks = new Uint32Array(count * 5);
    const fileOffset = offsetOf(i);
    let prevEnd = fileOffset;
    for (let j = 0; j < count; j++) {
      const k = i + j;
      const index = first + k;
      const off = offsetOf(k);
      const compressed = table.entries[k]! >>> 31;
      // The table gives no size for its last chunk: it runs at most to the end of its sectors section, and a
      // stored chunk is exactly its bytes and their checksum (a zlib stream ends by itself; bytes after it are ignored).
      const last = index === volume.chunkCount - 1;
      const plainMost = last ? Math.min(chunkSize, Math.max(0, declared - index * chunkSize) + volume.bytesPerSector - 1) : chunkSize;
      const end = k + 1 < n ? offsetOf(k + 1) : Math.min(area.end, off + (compressed ? maxStored : plainMost + 4));
      const range = `chunk ${index} (media bytes ${index * chunkSize}–${Math.min(declared, (index + 1) * chunkSize) - 1})`;
      if (off < Math.max(area.start, prevEnd) || end > area.end || end <= off || end - off > maxStored) {
        throw new CustodyError('IMAGE_MALFORMED', `${where}: ${range} is stored at ${off}–${end}, outside its sectors section or too long`);
      }
      if (index >= volume.chunkCount) throw new CustodyError('IMAGE_MALFORMED', `${where}: the tables list more chunks than the ${volume.chunkCount} the volume section declares`);
      // The last chunk may be short; ewfacquire also keeps a partial last sector there, beyond sectorCount.
      const least = last ? Math.max(0, declared - index * chunkSize) : chunkSize;
      const most = plainMost;
      if (!last && (index + 1) * chunkSize > declared) {
        throw new CustodyError('IMAGE_MALFORMED', `${where}: chunk ${index} lies past the media size the volume section declares (${declared} bytes)`);
      }
      chunks.set([off - fileOffset, end - off, compressed, least, most], j * 5);
      prevEnd = end;
    }
    const span = prevEnd - fileOffset;
    if (span > perBatch * maxStored) throw new CustodyError('IMAGE_MALFORMED', `${where}: chunks ${first + i}–${first + i + count - 1} are spread over ${span} bytes`);
    await sink.put({ segment: seg, fileOffset, span, firstChunk: first + i, count, chunks, chunkSize });
    i += count;
  }
  return first + n;
}

/**
 * Which hashes the image stores, read from the section descriptors of its
 * last segment only (a few small reads), so that the media pass computes
 * SHA-1 only when there is a stored SHA-1 to compare. Undefined when the
 * last segment cannot be walked: the full walk will then say why.
 */
export async function peekStoredHashes(seg: SegmentReader): Promise<{ md5?: string; sha1?: string } | undefined> {
  try {
    const read = async (pos: number, len: number) => {
      const b = new Uint8Array(len);
      if (pos + len > seg.size || (await seg.readInto(pos, b)) !== len) throw new Error('short');
      return b;
    };
    let pos = FILE_HEADER_SIZE;
    const out: { md5?: string; sha1?: string } = {};
    for (let steps = 0; steps < 100000; steps++) {
      const d = parseDescriptor(await read(pos, DESCRIPTOR_SIZE), pos, seg.name);
      const len = d.next - pos - DESCRIPTOR_SIZE;
      if (d.type === 'done') return out;
      if (d.type === 'next' || d.next <= pos) return undefined;
      if (d.type === 'digest' && len >= 80) Object.assign(out, parseDigest(await read(pos + DESCRIPTOR_SIZE, 80), seg.name));
      if (d.type === 'hash' && len >= 36 && out.md5 === undefined) Object.assign(out, parseHash(await read(pos + DESCRIPTOR_SIZE, 36), seg.name));
      pos = d.next;
    }
    return undefined;
  } catch {
    return undefined;
  }
}
