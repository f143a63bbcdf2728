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
import { fromSystemError } from '../core/errors.js';
import { openForReading } from '../core/open-file.js';

export async function* recycledFileChunks(file: string, chunkSize = 1 << 20): AsyncGenerator<Uint8Array> {
  const fh = await openForReading(file);
  const bufs = [new Uint8Array(chunkSize), new Uint8Array(chunkSize)];
  let k = 0;
  try {
    for (;;) {
      k ^= 1;
      const buf = bufs[k]!;
      let n: number;
      try {
        n = (await fh.read(buf, 0, chunkSize, null)).bytesRead;
      } catch (e) {
        throw fromSystemError(e, file);
      }
      if (n === 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    await fh.close().catch(() => {});
  }
}
