/**
 * Hashes the media an EWF image holds (not its container files) through the
 * hash engine, whose workers also decode the chunks (a shared ring, see
 * ring.ts), and compares the MD5/SHA-1 the imaging tool stored in the image.
 * That stored MD5 is the value in the examiner's notes and in court papers:
 * a custody hash of the .E01 files alone could never be compared with it.
 */
import { inflateSync } from 'node:zlib';
import type { Algo } from '../algorithms.js';
import { CustodyError } from '../errors.js';
import type { HashDigest, HashEngine, HashSpec } from '../engine.js';
import { ewfSegmentFiles, ewfSource, openSegment } from './files.js';
import type { EwfAcquisition } from './format.js';
import { volumeGeometry, type EwfGeometry } from './geometry.js';
import { peekStoredHashes, walkEwf, type ChunkSink, type ChunkBatch, type SegmentSource } from './reader.js';
import { EwfRing } from './ring.js';

/** What the image says about itself and whether its stored hashes hold. */
export interface EwfSummary extends EwfGeometry {
  format: 'ewf';
  segments: string[];
  /** Bytes of media hashed (sectorCount × bytesPerSector, plus a partial last sector if the image holds one). */
  mediaSize: number;
  acquisition: EwfAcquisition;
  /** Hashes stored in the image by the acquiring tool. */
  stored: { md5?: string; sha1?: string };
  /** For each stored hash: does the media hash computed now equal it? */
  matches: { md5?: boolean; sha1?: boolean };
  readErrors: { firstSector: number; sectors: number }[];
}

export interface EwfHashResult extends HashDigest {
  image: EwfSummary;
}

const BATCH_BYTES = 1 << 20;

async function peekLast(first: string): Promise<{ md5?: string; sha1?: string } | undefined> {
  let files: string[];
  try {
    files = await ewfSegmentFiles(first);
  } catch (e) {
    if (e instanceof CustodyError && e.code === 'SEGMENT_MISSING') throw e; // say so before an hour of hashing
    return undefined;
  }
  const seg = files.length > 0 ? await openSegment(files[files.length - 1]!).catch(() => undefined) : undefined;
  if (!seg) return undefined;
  try {
    return await peekStoredHashes(seg);
  } finally {
    await seg.close();
  }
}

export const nodeInflate = (data: Uint8Array, maxOutput: number): Uint8Array => inflateSync(data, { maxOutputLength: maxOutput, chunkSize: 64 << 10 });

/**
 * Hashes the media of the image whose first segment is `first`. The digests
 * are the ones `spec` asks for; MD5 and SHA-1 are always computed so that the
 * stored values can be compared.
 */
export interface HashEwfOptions {
  onProgress?: (mediaBytes: number) => void;
  /** Bytes of chunk data read from the segment files so far (a progress bar over the container sizes). */
  onStoredProgress?: (storedBytes: number) => void;
}

export async function hashEwf(engine: HashEngine, first: string, spec: HashSpec, opts: HashEwfOptions = {}): Promise<EwfHashResult> {
  return hashEwfSegments(engine, ewfSource(first), await peekLast(first), spec, opts);
}

/**
 * The same over any segment source (files on disk, members of a bundle).
 * `peek`: the hashes the last segment stores, if known up front (decides
 * whether SHA-1 is computed); undefined computes MD5 and SHA-1.
 */
export async function hashEwfSegments(
  engine: HashEngine,
  source: SegmentSource,
  peek: { md5?: string; sha1?: string } | undefined,
  spec: HashSpec,
  opts: HashEwfOptions = {},
): Promise<EwfHashResult> {
  const asked = spec.algos;
  const extra: Algo[] = peek ? [...(peek.md5 ? (['md5'] as const) : []), ...(peek.sha1 ? (['sha1'] as const) : [])] : ['md5', 'sha1'];
  const algos: Algo[] = [...new Set<Algo>([...asked, ...extra])];
  const session = engine.begin({ ...spec, algos });
  let ring: EwfRing | undefined;
  let done = 0;
  let stored = 0;
  // The ring is sized from the chunk size, known only once the volume section is read.
  const sink: ChunkSink = {
    put: async (batch: ChunkBatch) => {
      if (!ring) {
        const r = new EwfRing({
          chunkSize: batch.chunkSize,
          batchBytes: BATCH_BYTES,
          onHashed: (bytes) => {
            session.account(bytes);
            done += bytes;
            opts.onProgress?.(done);
          },
          broken: () => engine.failure(),
        });
        r.setHashers(session.shareEwf(r.shared));
        ring = r;
      }
      await ring.put(batch);
      stored += batch.span;
      opts.onStoredProgress?.(stored);
    },
  };
  try {
    const info = await walkEwf(source, sink, { inflate: nodeInflate, batchBytes: BATCH_BYTES });
    await ring?.flush();
    const d = await session.finish();
    const digests: HashDigest['digests'] = {};
    for (const a of asked) digests[a] = d.digests[a]!;
    const v = info.volume;
    const matches: EwfSummary['matches'] = {};
    // A stored hash the peek missed (it was not computed) stays unchecked rather than guessed.
    if (info.stored.md5 && d.digests.md5) matches.md5 = info.stored.md5 === d.digests.md5;
    if (info.stored.sha1 && d.digests.sha1) matches.sha1 = info.stored.sha1 === d.digests.sha1;
    const image: EwfSummary = {
      format: 'ewf',
      segments: info.segments,
      mediaSize: d.size,
      ...volumeGeometry(v, { chunkCount: info.chunkCount, tailBytes: d.size - info.declaredSize }),
      acquisition: info.acquisition,
      stored: info.stored,
      matches,
      readErrors: info.readErrors,
    };
    const out: EwfHashResult = { size: d.size, digests, image };
    if (d.pieces) out.pieces = d.pieces;
    return out;
  } catch (e) {
    ring?.abort();
    session.abort();
    throw e;
  }
}

/** The stored hashes that do not match, as "MD5", "SHA-1" (empty when all match or none is stored). */
export function mismatchedStored(s: EwfSummary): string[] {
  const out: string[] = [];
  if (s.matches.md5 === false) out.push('MD5');
  if (s.matches.sha1 === false) out.push('SHA-1');
  return out;
}
