/**
 * Feeds files, split segments or a stream into the engine, reading each byte
 * exactly once. Seal passes `onChunk` to write the same bytes into the tar,
 * so evidence is never read twice (a second read could see different bytes
 * if the source changes underneath us).
 */
import { fromSystemError, CustodyError } from './errors.js';
import type { HashDigest, HashEngine, HashSpec } from './engine.js';
import { openForReading } from './open-file.js';

export interface HashSourceOptions {
  /** Sees every chunk, in order, before its buffer is reused; the chunk is valid only until the promise resolves. */
  onChunk?: (chunk: Uint8Array) => Promise<void> | void;
  /** Total bytes read so far (for a progress bar). */
  onProgress?: (bytesDone: number) => void;
}

/** Hashes the files as one logical stream (several paths = split segments `image.001 image.002 …`, in order). */
export async function hashPaths(
  engine: HashEngine,
  paths: (string | Uint8Array)[],
  spec: HashSpec,
  opts: HashSourceOptions = {},
): Promise<HashDigest> {
  const session = engine.begin(spec);
  let done = 0;
  try {
    for (const p of paths) {
      const fh = await openForReading(p);
      try {
        // position null: read sequentially, so FIFOs and character devices work too.
        const read = async (target: Uint8Array): Promise<number> => {
          try {
            return (await fh.read(target, 0, target.length, null)).bytesRead;
          } catch (e) {
            throw fromSystemError(e, typeof p === 'string' ? p : new TextDecoder().decode(p));
          }
        };
        for (;;) {
          const n = await session.readInto(read, opts.onChunk);
          if (n === 0) break;
          done += n;
          opts.onProgress?.(done);
        }
      } finally {
        await fh.close().catch(() => {});
      }
    }
    return await session.finish();
  } catch (e) {
    session.abort();
    throw e;
  }
}

/** Hashes a stream (stdin, a network body); `label` names it in error messages. */
export async function hashReadable(
  engine: HashEngine,
  readable: AsyncIterable<Uint8Array | string>,
  spec: HashSpec,
  opts: HashSourceOptions & { label?: string } = {},
): Promise<HashDigest> {
  const session = engine.begin(spec);
  let done = 0;
  try {
    try {
      for await (const raw of readable) {
        if (typeof raw === 'string') throw new CustodyError('INTERNAL', 'hashReadable needs a byte stream, not text');
        await session.update(raw);
        if (opts.onChunk) await opts.onChunk(raw);
        done += raw.length;
        opts.onProgress?.(done);
      }
    } catch (e) {
      throw fromSystemError(e, opts.label ?? 'stream');
    }
    return await session.finish();
  } catch (e) {
    session.abort();
    throw e;
  }
}
