/**
 * The EWF ring (src/core/ewf/ring.ts): the hash engine's workers decode and
 * hash an image's chunks themselves. Checked on real ewfacquire images large
 * enough to go round the ring several times (16 MiB chunks: a ring of two
 * slots), with more engine workers than hashes (the spare ones only decode),
 * and with two damaged chunks: the one reported must be the first in media
 * order, whichever worker meets its damage first, and the engine must hash
 * the next image correctly.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import { CustodyError } from '../src/core/errors.js';
import { DESCRIPTOR_SIZE, FILE_HEADER_SIZE, parseDescriptor, parseTable } from '../src/core/ewf/format.js';
import { hashEwf } from '../src/core/ewf/hash-ewf.js';
import { tempDir } from './helpers/cli.js';
import { CHUNK, makeMedia } from './helpers/ewf.js';

let dir: string;
let media: Buffer;
const md5 = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');
const sha1 = (b: Buffer) => crypto.createHash('sha1').update(b).digest('hex');

function acquire(name: string, compression: string, sectorsPerChunk = 64): string {
  const args = ['-u', '-q', '-c', compression, '-b', String(sectorsPerChunk), '-d', 'sha1', '-S', '1GiB', '-t', name, 'media.raw'];
  const r = spawnSync('ewfacquire', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ewfacquire failed: ${r.stdout}${r.stderr}`);
  return path.join(dir, `${name}.E01`);
}

/** File offsets of the chunks of a one-segment image, by chunk number. */
function chunkOffsets(file: string): number[] {
  const b = fs.readFileSync(file);
  const out: number[] = [];
  for (let pos = FILE_HEADER_SIZE; ; ) {
    const d = parseDescriptor(b.subarray(pos, pos + DESCRIPTOR_SIZE), pos, file);
    if (d.type === 'table') {
      const t = parseTable(b.subarray(pos + DESCRIPTOR_SIZE, d.next), file);
      for (const e of t.entries) out.push(t.baseOffset + (e & 0x7fffffff));
    }
    if (d.type === 'done' || d.type === 'next') return out;
    pos = d.next;
  }
}

beforeAll(() => {
  dir = tempDir('custody-ewf-ring-');
  media = makeMedia(1100); // 34.4 MiB: 35 batches of 1 MiB, more than the ring holds
  fs.writeFileSync(path.join(dir, 'media.raw'), media);
  acquire('fast', 'deflate:fast');
  acquire('none', 'deflate:none');
  acquire('huge', 'deflate:fast', 32768); // 16 MiB chunks: a ring of two slots, the last chunk short
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the EWF ring', () => {
  it('with more engine workers than hashes, the spare workers decode and the media hashes equal md5/sha1 of the raw media, twice on one engine', async () => {
    const engine = new HashEngine({ workers: 3 });
    try {
      for (const name of ['fast', 'none', 'huge']) {
        const r = await hashEwf(engine, path.join(dir, `${name}.E01`), { algos: ['md5', 'sha1'] });
        expect(r.size).toBe(media.length);
        expect(r.digests).toEqual({ md5: md5(media), sha1: sha1(media) });
        expect(r.image.matches).toEqual({ md5: true, sha1: true });
        expect(r.image.chunkSize).toBe(name === 'huge' ? 16 << 20 : CHUNK);
      }
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('reports the first bad chunk in media order when two are damaged, and the engine then hashes another image correctly', async () => {
    const file = path.join(dir, 'none.E01');
    const good = fs.readFileSync(file);
    const offsets = chunkOffsets(file);
    const [early, late] = [300, 450]; // stored chunks (deflate:none), 5 batches apart: both in the ring at once
    const bad = Buffer.from(good);
    bad[offsets[early]! + 100] ^= 0x01;
    bad[offsets[late]! + 100] ^= 0x01;
    const damaged = path.join(dir, 'damaged.E01');
    fs.writeFileSync(damaged, bad);
    const engine = new HashEngine({ workers: 3 });
    try {
      const err = await hashEwf(engine, damaged, { algos: ['md5'] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CustodyError);
      expect((err as CustodyError).code).toBe('CHUNK_CORRUPT');
      expect((err as CustodyError).message).toContain(`chunk ${early} of the image (media bytes ${early * CHUNK}–${(early + 1) * CHUNK - 1}, in ${damaged}) fails its Adler-32 checksum`);
      const r = await hashEwf(engine, path.join(dir, 'fast.E01'), { algos: ['sha1'] });
      expect(r.digests).toEqual({ sha1: sha1(media) });
    } finally {
      await engine.close();
    }
  }, 60_000);
});
