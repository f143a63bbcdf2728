/**
 * Reads a bundle file as a stream of chunks without making garbage: two
 * buffers are filled in turn, so a 2 TB image passes through the same 2 MiB.
 * (fs.createReadStream allocates a new buffer per chunk; on a multi-GiB
 * bundle the garbage alone pushed verify past its 150 MB memory budget.)
 *
 * Contract for the consumer: a chunk is valid until the chunk after the next
 * one is requested. The strict tar reader and verify use a chunk (hash it,
 * write it, copy a tag file) before they ask for more, so this holds.
 */
import fs from 'node:fs';
import { fromSystemError } from '../core/errors.js';
import { openForReading } from '../core/open-file.js';

export async function* recycledFileChunks(file: string, chunkSize = 1 << 20): AsyncGenerator<Uint8Array> {
  const fh = await openForReading(file);
  try {
    yield* twoBuffers(file, chunkSize, async (buf) => (await fh.read(buf, 0, buf.length, null)).bytesRead);
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Fills two buffers in turn with `read` until it returns 0 (the contract above). */
async function* twoBuffers(file: string, chunkSize: number, read: (buf: Uint8Array) => number | Promise<number>): AsyncGenerator<Uint8Array> {
  const bufs = [new Uint8Array(chunkSize), new Uint8Array(chunkSize)];
  for (let k = 0; ; ) {
    k ^= 1;
    const buf = bufs[k]!;
    let n: number;
    try {
      n = await read(buf);
    } catch (e) {
      throw fromSystemError(e, file);
    }
    if (n === 0) return;
    yield buf.subarray(0, n);
  }
}

/**
 * The same contract, with the next read already in flight on the thread pool
 * while the consumer works on the current chunk (three buffers: the one being
 * read, the current one, and the one before it that the contract keeps valid).
 * For a consumer that is itself busy on the CPU (the age cipher): the kernel's
 * copy out of the page cache then runs on another core.
 */
export async function* readAheadFileChunks(file: string, chunkSize = 1 << 20): AsyncGenerator<Uint8Array> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw fromSystemError(e, file);
  }
  try {
    yield* readAheadFdChunks(fd, file, chunkSize);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * readAheadFileChunks from a descriptor the caller opened (and closes): no
 * read is left in flight on it once this ends. `file` names it in messages.
 */
export async function* readAheadFdChunks(fd: number, file: string, chunkSize = 1 << 20): AsyncGenerator<Uint8Array> {
  const bufs = [new Uint8Array(chunkSize), new Uint8Array(chunkSize), new Uint8Array(chunkSize)];
  const readInto = (buf: Uint8Array) =>
    new Promise<number>((resolve, reject) => fs.read(fd, buf, 0, buf.length, null, (e, n) => (e ? reject(fromSystemError(e, file)) : resolve(n))));
  let inFlight: Promise<number> | undefined;
  try {
    inFlight = readInto(bufs[0]!);
    for (let k = 0; ; k = (k + 1) % 3) {
      const n = await inFlight;
      inFlight = undefined;
      if (n === 0) return;
      inFlight = readInto(bufs[(k + 1) % 3]!);
      inFlight.catch(() => {}); // awaited on the next turn; not unhandled if the consumer stops first
      yield bufs[k]!.subarray(0, n);
    }
  } finally {
    await inFlight?.catch(() => {}); // no read left in flight when the descriptor is closed
  }
}
