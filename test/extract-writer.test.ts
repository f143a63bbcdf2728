/**
 * Extract's small-file writer thread (src/bundle/extract-writer.ts): every
 * file it is given is on disk after drain(), byte for byte; a file that
 * exists already is never overwritten and fails the extraction naming the
 * member; once close() returns nothing more is created, so the temporary
 * folder can be removed without a write racing it. File times given to it
 * are set after the files before them are written, and a time it cannot set
 * fails the extraction naming the member.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { CustodyError } from '../src/core/errors.js';
import { BATCH_BYTES, SmallFileWriter } from '../src/bundle/extract-writer.js';
import { tempDir } from './helpers/cli.js';

const refuse = (member: string) => new CustodyError('UNSAFE_BUNDLE', `member ${member} would overwrite a file already extracted`, { member });

function bytesOf(i: number, size: number): Uint8Array {
  return new Uint8Array(size).map((_, k) => (i * 31 + k) & 0xff);
}

it('writes many files across several batches, in nested folders, byte for byte, once drained', async () => {
  const root = tempDir();
  const w = new SmallFileWriter(refuse);
  const sizes: number[] = [];
  try {
    for (let i = 0; i < 3000; i++) {
      const size = i % 97 === 0 ? 200 << 10 : (i * 37) % 5000; // some files fill a batch quickly, some are empty
      sizes.push(size);
      const rel = `data/x/d${i % 7}/e${i % 3}/f${i}.bin`;
      const f = await w.begin(path.join(root, rel), rel, size);
      const b = bytesOf(i, size);
      f.write(b.subarray(0, size >> 1)); // in two chunks, as the tar reader may hand them over
      f.write(b.subarray(size >> 1));
      await f.end();
    }
    await w.drain();
  } finally {
    await w.close();
  }
  expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThan(3 * BATCH_BYTES);
  for (let i = 0; i < 3000; i++) {
    const got = fs.readFileSync(path.join(root, `data/x/d${i % 7}/e${i % 3}/f${i}.bin`));
    expect(Buffer.compare(got, Buffer.from(bytesOf(i, sizes[i]!))), `file ${i}`).toBe(0);
  }
});

it('never overwrites a file that exists: drain() throws the caller’s error naming the member, the file keeps its bytes', async () => {
  const root = tempDir();
  fs.mkdirSync(path.join(root, 'data'), { recursive: true });
  fs.writeFileSync(path.join(root, 'data', 'b.txt'), 'planted');
  const w = new SmallFileWriter(refuse);
  try {
    for (const name of ['a.txt', 'b.txt', 'c.txt']) {
      const f = await w.begin(path.join(root, 'data', name), `data/${name}`, 3);
      f.write(new TextEncoder().encode('new'));
      await f.end();
    }
    await expect(w.drain()).rejects.toThrow(/member data\/b\.txt would overwrite/);
  } finally {
    await w.close();
  }
  expect(fs.readFileSync(path.join(root, 'data', 'b.txt'), 'utf8')).toBe('planted');
  expect(fs.existsSync(path.join(root, 'data', 'c.txt'))).toBe(false); // the batch stops at its first failure
});

it('does not follow a symlink planted where a file goes', async () => {
  const root = tempDir();
  const outside = path.join(tempDir(), 'victim.txt');
  fs.writeFileSync(outside, 'untouched');
  fs.mkdirSync(path.join(root, 'data'));
  fs.symlinkSync(outside, path.join(root, 'data', 'link.txt'));
  const w = new SmallFileWriter(refuse);
  try {
    const f = await w.begin(path.join(root, 'data', 'link.txt'), 'data/link.txt', 4);
    f.write(new TextEncoder().encode('evil'));
    await f.end();
    await expect(w.drain()).rejects.toThrow(/data\/link\.txt/);
  } finally {
    await w.close();
  }
  expect(fs.readFileSync(outside, 'utf8')).toBe('untouched');
});

it('creates nothing once closed, even with batches still queued, so the folder can be removed cleanly', async () => {
  const root = tempDir();
  const w = new SmallFileWriter(refuse);
  for (let i = 0; i < 2000; i++) {
    const f = await w.begin(path.join(root, `f${i}`), `f${i}`, 2048);
    f.write(bytesOf(i, 2048));
    await f.end();
  }
  await w.close();
  fs.rmSync(root, { recursive: true, force: true });
  await new Promise((r) => setTimeout(r, 200));
  expect(fs.existsSync(root)).toBe(false);
  await expect(w.begin(path.join(root, 'late'), 'late', 1)).rejects.toThrow(/after close/);
});

it('sets each file time given after the files before it are written, across batches, and names the member whose time it cannot set', async () => {
  const root = tempDir();
  const w = new SmallFileWriter(refuse, (full) => path.relative(root, full));
  const when = (i: number) => 1_600_000_000 + i * 3600 + 0.25;
  try {
    for (let i = 0; i < 2500; i++) {
      const rel = `data/t/f${i}.bin`;
      const f = await w.begin(path.join(root, rel), rel, 10);
      f.write(bytesOf(i, 10));
      await f.end();
      // The first thousand times are given while their files still wait in the batch; the rest after.
      if (i < 1000) w.setTime(path.join(root, rel), when(i));
    }
    // The rest while a file is still being filled, chunk by chunk (extract streams a small custody/manifest.json
    // to this writer while its elements give the times): its bytes stay whole.
    const last = await w.begin(path.join(root, 'data/t/open.bin'), 'data/t/open.bin', 3000);
    for (let i = 1000; i < 2500; i++) {
      w.setTime(path.join(root, `data/t/f${i}.bin`), when(i));
      if (i % 500 === 0) {
        last.write(bytesOf(7, 3000).subarray((i / 500 - 2) * 1000, (i / 500 - 1) * 1000));
        await w.flushTimes();
      }
    }
    await last.end();
    await w.flushTimes();
    await w.drain();
    for (let i = 0; i < 2500; i++) expect(fs.statSync(path.join(root, `data/t/f${i}.bin`)).mtimeMs, `file ${i}`).toBeCloseTo(when(i) * 1000, 3);
    expect(Buffer.compare(fs.readFileSync(path.join(root, 'data/t/open.bin')), Buffer.from(bytesOf(7, 3000)))).toBe(0);
    w.setTime(path.join(root, 'data/t/missing.bin'), when(0));
    await expect(w.drain()).rejects.toThrow(/ENOENT.*\(setting the time of data\/t\/missing\.bin\)/);
  } finally {
    await w.close();
  }
});

it('refuses a path with a NUL in it (the separator of a batch’s paths): nothing is written for it, in the folder or in the working folder', async () => {
  const root = tempDir();
  const w = new SmallFileWriter(refuse);
  try {
    const f = await w.begin(path.join(root, 'ok.bin'), 'data/ok.bin', 2);
    f.write(new Uint8Array([1, 2]));
    await f.end();
    await expect(w.begin(`${path.join(root, 'a')}\u0000evil.bin`, 'data/a', 2)).rejects.toThrow(/a NUL in a path/);
    expect(() => w.setTime(`${path.join(root, 'ok.bin')}\u0000x`, 0)).toThrow(/a NUL in a path/);
    await w.drain();
  } finally {
    await w.close();
  }
  expect(fs.readdirSync(root)).toEqual(['ok.bin']);
  expect(fs.existsSync('evil.bin')).toBe(false);
});
