/** `custody hash --split`: the segments of a split raw image are found, and taken only in order and whole. */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const SEG = 100_000;

let media: Buffer;
function split(dir: string, names: string[], sizes?: number[]): void {
  let off = 0;
  names.forEach((n, i) => {
    const len = sizes?.[i] ?? (i < names.length - 1 ? SEG : media.length - off);
    fs.writeFileSync(path.join(dir, n), media.subarray(off, off + len));
    off += len;
  });
}
const json = (dir: string, args: string[]) => {
  const r = runCli(['--json', 'hash', '--algo', 'md5', ...args], { cwd: dir });
  return { code: r.code, doc: JSON.parse(r.stdout) };
};

beforeAll(() => {
  media = randomBytes(3 * SEG + 12_345);
});

describe('custody hash --split', () => {
  it('given the first .001 segment, finds .002, .003, .004 beside it and hashes the whole image', () => {
    const d = tempDir('custody-split-');
    split(d, ['disk.001', 'disk.002', 'disk.003', 'disk.004']);
    fs.writeFileSync(path.join(d, 'disk.txt'), 'not a segment');
    const { code, doc } = json(d, ['--split', 'disk.001']);
    expect(code).toBe(0);
    expect(doc.files[0]).toMatchObject({ path: 'disk.001', size: media.length, segments: ['disk.001', 'disk.002', 'disk.003', 'disk.004'], hashes: { md5: md5(media) } });
  });

  it('given the first .aa segment, finds .ab, .ac, .ad', () => {
    const d = tempDir('custody-split-');
    split(d, ['disk.aa', 'disk.ab', 'disk.ac', 'disk.ad']);
    const { code, doc } = json(d, ['--split', 'disk.aa']);
    expect(code).toBe(0);
    expect(doc.files[0]).toMatchObject({ segments: ['disk.aa', 'disk.ab', 'disk.ac', 'disk.ad'], hashes: { md5: md5(media) } });
  });

  it('refuses segments given out of order (exit 2) and says the right order', () => {
    const d = tempDir('custody-split-');
    split(d, ['disk.001', 'disk.002', 'disk.003', 'disk.004']);
    const r = runCli(['hash', '--split', 'disk.002', 'disk.001', 'disk.003', 'disk.004'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('custody: split segments are out of order: disk.002 disk.001 disk.003 disk.004');
    expect(r.stderr).toContain('disk.001 disk.002 disk.003 disk.004');
  });

  it('refuses a gap, whether the segments are given or found (exit 2, the missing one named)', () => {
    const d = tempDir('custody-split-');
    split(d, ['disk.001', 'disk.002', 'disk.003', 'disk.004']);
    fs.unlinkSync(path.join(d, 'disk.003'));
    const given = runCli(['--json', 'hash', '--split', 'disk.001', 'disk.002', 'disk.004'], { cwd: d });
    expect(given.code).toBe(2);
    expect(JSON.parse(given.stdout).error).toMatchObject({ code: 'SEGMENT_MISSING', message: expect.stringContaining('disk.003 is missing') });
    const found = runCli(['--json', 'hash', '--split', 'disk.001'], { cwd: d });
    expect(found.code).toBe(2);
    expect(JSON.parse(found.stdout).error.message).toContain('segment disk.003 is missing, but disk.004 exists');
  });

  it('refuses a short segment before the last (exit 1)', () => {
    const d = tempDir('custody-split-');
    split(d, ['disk.001', 'disk.002', 'disk.003'], [SEG, SEG - 512, media.length - 2 * SEG + 512]);
    const r = runCli(['--json', 'hash', '--split', 'disk.001'], { cwd: d });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'SEGMENT_TRUNCATED', message: expect.stringContaining('disk.002 has 99488 bytes, but disk.001 has 100000') });
  });

  it('refuses a later segment given alone as if it were the first', () => {
    const d = tempDir('custody-split-');
    split(d, ['disk.001', 'disk.002', 'disk.003']);
    const r = runCli(['hash', '--split', 'disk.002'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('custody: disk.002 is not the first segment: disk.001 exists');
  });
});
