/** Test media for disk-image tests: deterministic, a whole number of 32 KiB chunks (plus an optional tail). */

export const CHUNK = 32_768;

/** Deterministic media: all-zero chunks, text-like chunks (compress well) and pseudo-random chunks (do not). */
export function makeMedia(chunks: number, tail = 0): Buffer {
  const out = Buffer.alloc(chunks * CHUNK + tail);
  let x = 0x2545f491;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const words = Array.from({ length: 64 }, (_, i) => `w${i.toString(36)}${'abcdefgh'.slice(0, (i % 7) + 1)} `);
  for (let c = 0; c * CHUNK < out.length; c++) {
    const start = c * CHUNK;
    const end = Math.min(out.length, start + CHUNK);
    if (c % 4 === 0) continue; // zeros
    if (c % 4 === 1) {
      let p = start;
      while (p < end) p += out.write(words[next() % 64]!, p, end - p, 'latin1');
    } else {
      for (let p = start; p < end; p += 4) out.writeUInt32LE(next(), p);
    }
  }
  return out;
}

