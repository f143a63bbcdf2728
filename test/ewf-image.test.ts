/**
 * `custody hash image.E01` against real EWF images written by ewfacquire
 * (libewf), checked with md5sum/sha1sum of the raw media, ewfverify and
 * ewfinfo; and each kind of damage caught with its own reason.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { adler32 } from '../src/core/ewf/adler32.js';
import { DESCRIPTOR_SIZE, FILE_HEADER_SIZE, parseDescriptor, parseTable } from '../src/core/ewf/format.js';
import { runCli, tempDir } from './helpers/cli.js';
import { CHUNK, makeMedia } from './helpers/ewf.js';

function tool(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

const META = ['-C', 'CASE 2026/117', '-D', 'Laptop HDD, Dell', '-e', 'Inspector Clouseau', '-E', 'EV-0042', '-N', 'seized at the flat; write-blocked'];

/** Writes image `name`.E01… from raw file `raw` with ewfacquire (unattended). */
function acquire(dir: string, raw: string, name: string, compression: string, segmentSize = '1MiB'): string[] {
  tool('ewfacquire', ['-u', '-q', '-c', compression, '-d', 'sha1', '-S', segmentSize, ...META, '-t', name, raw], dir);
  return fs.readdirSync(dir).filter((f) => f.startsWith(`${name}.E`)).sort();
}

let dir: string;
let media: Buffer;
const images: Record<string, string[]> = {};
const md5sum = (file: string) => tool('md5sum', [file], dir).split(' ')[0]!;
const sha1sum = (file: string) => tool('sha1sum', [file], dir).split(' ')[0]!;
const run = (args: string[]) => runCli(args, { cwd: dir, env: { TZ: 'UTC' } });
const json = (args: string[]) => {
  const r = run(['--json', ...args]);
  return { ...r, doc: JSON.parse(r.stdout) };
};

beforeAll(() => {
  dir = tempDir('custody-ewf-');
  media = makeMedia(128); // 4 MiB = 8192 sectors
  fs.writeFileSync(path.join(dir, 'media.raw'), media);
  for (const c of ['deflate:fast', 'deflate:best', 'deflate:none', 'deflate:empty-block']) {
    const name = c.split(':')[1]!;
    images[name] = acquire(dir, 'media.raw', name, c);
  }
}, 120_000);

/** A copy of image `name` in its own directory, to damage. */
function copyImage(name: string): string {
  const d = fs.mkdtempSync(path.join(dir, `${name}-`));
  for (const f of images[name]!) fs.copyFileSync(path.join(dir, f), path.join(d, f));
  return d;
}

describe('custody hash of an EWF image', () => {
  it.each(['fast', 'best', 'none', 'empty-block'])('hashes the media of a %s-compressed image over 3+ segments: md5sum/sha1sum of the raw media, ewfverify and the stored hashes agree', (name) => {
    const segs = images[name]!;
    expect(segs.length).toBeGreaterThanOrEqual(3);
    const { code, doc } = json(['hash', '--algo', 'md5,sha1,sha256', `${name}.E01`]);
    expect(code).toBe(0);
    const f = doc.files[0];
    expect(f.size).toBe(media.length);
    expect(f.hashes.md5).toBe(md5sum('media.raw'));
    expect(f.hashes.sha1).toBe(sha1sum('media.raw'));
    expect(f.image.segments).toEqual(segs);
    expect(f.image.matches).toEqual({ md5: true, sha1: true });
    const v = tool('ewfverify', ['-q', '-d', 'sha1', `${name}.E01`], dir);
    expect(v).toMatch(new RegExp(`MD5 hash calculated over data:\\s+${f.hashes.md5}`));
    expect(v).toMatch(new RegExp(`SHA1 hash calculated over data:\\s+${f.hashes.sha1}`));
  });

  it('prints the media hashes, "stored MD5 matches" and the acquisition block in text', () => {
    const r = run(['hash', 'fast.E01']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`fast.E01  (${media.length} bytes of media in an EWF image, ${images.fast!.length} segments)`);
    expect(r.stdout).toMatch(new RegExp(`md5\\s+${md5sum('media.raw')}`));
    expect(r.stdout).toContain('stored MD5 matches');
    expect(r.stdout).toContain('stored SHA-1 matches');
    expect(r.stdout).toMatch(/case number\s+CASE 2026\/117/);
    expect(r.stdout).toMatch(/examiner\s+Inspector Clouseau/);
  });

  it('carries the same acquisition metadata as ewfinfo', () => {
    const { doc } = json(['hash', '--algo', 'md5', 'best.E01']);
    const img = doc.files[0].image;
    const info = tool('ewfinfo', ['best.E01'], dir, { TZ: 'UTC' });
    const field = (label: string) => new RegExp(`^\\s*${label}:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
    expect(img.acquisition.caseNumber).toBe(field('Case number'));
    expect(img.acquisition.description).toBe(field('Description'));
    expect(img.acquisition.examiner).toBe(field('Examiner name'));
    expect(img.acquisition.evidenceNumber).toBe(field('Evidence number'));
    expect(img.acquisition.notes).toBe(field('Notes'));
    expect(img.acquisition.os).toBe(field('Operating system used'));
    expect(img.acquisition.softwareVersion).toBe(field('Software version used'));
    // ewfinfo prints ctime in the local zone (UTC here).
    const asCtime = (iso: string) => {
      const d = new Date(iso);
      const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
      const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
      const p = (n: number) => String(n).padStart(2, '0');
      return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
    };
    expect(asCtime(img.acquisition.acquiredAt)).toBe(field('Acquisition date'));
    expect(asCtime(img.acquisition.systemClockAt)).toBe(field('System date'));
    expect(img.bytesPerSector).toBe(Number(field('Bytes per sector')));
    expect(img.sectorCount).toBe(Number(field('Number of sectors')));
    expect(img.sectorsPerChunk).toBe(Number(field('Sectors per chunk')));
    expect(field('Media size')).toContain(`(${img.mediaSize} bytes)`);
    expect(img.compression).toBe('best');
    expect(field('Compression level')).toBe('best compression');
    expect(img.stored.md5).toBe(field('MD5'));
    expect(img.stored.sha1).toBe(field('SHA1'));
  });

  it('takes the later segments of a glob (img.E01 img.E02 …) as part of the one image', () => {
    const { code, doc } = json(['hash', '--algo', 'md5', ...images.fast!]);
    expect(code).toBe(0);
    expect(doc.files).toHaveLength(1);
    expect(doc.files[0].hashes.md5).toBe(md5sum('media.raw'));
  });

  it('under -r an E01 inside a tree is a file like any other (sums lists the container files)', () => {
    const d = copyImage('fast');
    const r = runCli(['hash', '-r', '--format', 'sums', path.basename(d)], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(images.fast!.length);
    expect(r.stdout).toContain(`${tool('sha256sum', [path.join(d, 'fast.E01')], dir).split(' ')[0]}  ${path.basename(d)}/fast.E01`);
  });

  it('hashes a partial last sector with the media, as the imaging tool did, and says so', () => {
    const d = fs.mkdtempSync(path.join(dir, 'tail-'));
    const odd = makeMedia(40, 300); // 300 bytes past the last whole sector
    fs.writeFileSync(path.join(d, 'odd.raw'), odd);
    tool('ewfacquire', ['-u', '-q', '-c', 'deflate:fast', '-t', 'odd', 'odd.raw'], d);
    const r = runCli(['--json', 'hash', '--algo', 'md5', 'odd.E01'], { cwd: d });
    expect(r.code).toBe(0);
    const img = JSON.parse(r.stdout).files[0];
    expect(img.size).toBe(odd.length);
    expect(img.hashes.md5).toBe(tool('md5sum', ['odd.raw'], d).split(' ')[0]);
    expect(img.image).toMatchObject({ tailBytes: 300, sectorCount: Math.floor(odd.length / 512), matches: { md5: true } });
    expect(runCli(['hash', '--algo', 'md5', 'odd.E01'], { cwd: d }).stdout).toContain('+ 300 bytes of a partial last sector');
  });
});

/** File offset of a compressed chunk of more than 1 KiB stored in `file`, read with custody's own parsers. */
function compressedChunkOffset(file: string): { offset: number; index: number } {
  const b = fs.readFileSync(file);
  let pos = FILE_HEADER_SIZE;
  for (;;) {
    const d = parseDescriptor(b.subarray(pos, pos + DESCRIPTOR_SIZE), pos, file);
    if (d.type === 'table') {
      const t = parseTable(b.subarray(pos + DESCRIPTOR_SIZE, d.next), file);
      for (let i = 0; i + 1 < t.entries.length; i++) {
        const off = t.baseOffset + (t.entries[i]! & 0x7fffffff);
        const size = t.baseOffset + (t.entries[i + 1]! & 0x7fffffff) - off;
        if (t.entries[i]! >>> 31 && size > 1024) return { offset: off + (size >> 1), index: i };
      }
      throw new Error('no compressed chunk');
    }
    pos = d.next;
  }
}

describe('a damaged EWF image', () => {
  it('a flipped byte inside a compressed chunk is a corrupt chunk named by its media byte range (exit 1)', () => {
    const d = copyImage('fast');
    const { offset, index } = compressedChunkOffset(path.join(d, 'fast.E01'));
    const f = path.join(d, 'fast.E01');
    const b = fs.readFileSync(f);
    b[offset] ^= 0x40;
    fs.writeFileSync(f, b);
    const r = runCli(['--json', 'hash', 'fast.E01'], { cwd: d });
    expect(r.code).toBe(1);
    const err = JSON.parse(r.stdout).error;
    expect(err.code).toBe('CHUNK_CORRUPT');
    expect(err.message).toContain(`chunk ${index} of the image (media bytes ${index * CHUNK}–${(index + 1) * CHUNK - 1}, in fast.E01)`);
    expect(runCli(['hash', 'fast.E01'], { cwd: d }).stderr).toMatch(/^custody: chunk \d+ of the image .* (does not decompress|inflates|holds)/m);
  });

  it('a flipped byte in a stored (uncompressed) chunk fails its Adler-32 (exit 1)', () => {
    const d = copyImage('none');
    const f = path.join(d, 'none.E02');
    const b = fs.readFileSync(f);
    b[b.length >> 1] ^= 0x01; // the middle of a 1 MiB segment is chunk data
    fs.writeFileSync(f, b);
    const r = runCli(['--json', 'hash', '--algo', 'md5', 'none.E01'], { cwd: d });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'CHUNK_CORRUPT', message: expect.stringMatching(/fails its Adler-32 checksum/) });
  });

  it('a stored MD5 changed with its section checksum recomputed is a hash mismatch (exit 1), the media hashes still printed', () => {
    const d = copyImage('fast');
    const last = images.fast![images.fast!.length - 1]!;
    const f = path.join(d, last);
    const b = fs.readFileSync(f);
    for (let pos = FILE_HEADER_SIZE; ; ) {
      const s = parseDescriptor(b.subarray(pos, pos + DESCRIPTOR_SIZE), pos, f);
      const data = pos + DESCRIPTOR_SIZE;
      if (s.type === 'hash') {
        b[data] ^= 0xff; // first byte of the MD5
        b.writeUInt32LE(adler32(b.subarray(data, data + 32)), data + 32);
      }
      if (s.type === 'digest') {
        b[data] ^= 0xff;
        b.writeUInt32LE(adler32(b.subarray(data, data + 76)), data + 76);
      }
      if (s.type === 'done') break;
      pos = s.next;
    }
    fs.writeFileSync(f, b);
    const r = runCli(['hash', 'fast.E01'], { cwd: d });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('stored MD5 DOES NOT MATCH');
    expect(r.stdout).toContain('stored SHA-1 matches');
    expect(r.stdout).toMatch(new RegExp(`md5\\s+${md5sum('media.raw')}`));
    expect(r.stderr).toContain("custody: fast.E01: the media's MD5 differs from the one stored in the image");
    const j = runCli(['--json', 'hash', 'fast.E01'], { cwd: d });
    expect(JSON.parse(j.stdout).error.code).toBe('HASH_MISMATCH');
  });

  it('a stored MD5 flipped without fixing its checksum is a malformed section (exit 1)', () => {
    const d = copyImage('fast');
    const last = images.fast![images.fast!.length - 1]!;
    const f = path.join(d, last);
    const b = fs.readFileSync(f);
    const i = b.lastIndexOf(Buffer.from('digest\0'));
    b[i + DESCRIPTOR_SIZE] ^= 0xff;
    fs.writeFileSync(f, b);
    const r = runCli(['--json', 'hash', 'fast.E01'], { cwd: d });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'IMAGE_MALFORMED', message: expect.stringContaining('digest section fails its checksum') });
  });

  it('a removed middle segment is named (exit 2), before or during the read', () => {
    const d = copyImage('fast');
    fs.unlinkSync(path.join(d, 'fast.E02'));
    const r = runCli(['--json', 'hash', 'fast.E01'], { cwd: d });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'SEGMENT_MISSING', message: expect.stringContaining('fast.E02 is missing') });
  });

  it('a truncated last segment is named (exit 1)', () => {
    const d = copyImage('fast');
    const last = images.fast![images.fast!.length - 1]!;
    const f = path.join(d, last);
    fs.truncateSync(f, fs.statSync(f).size - 1000);
    const r = runCli(['--json', 'hash', 'fast.E01'], { cwd: d });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'SEGMENT_TRUNCATED', message: expect.stringContaining(`segment ${last} is truncated`) });
  });

  it('a missing last segment is named (exit 2)', () => {
    const d = copyImage('fast');
    const last = images.fast![images.fast!.length - 1]!;
    fs.unlinkSync(path.join(d, last));
    const r = runCli(['--json', 'hash', 'fast.E01'], { cwd: d });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'SEGMENT_MISSING', message: expect.stringContaining(`${last} is missing`) });
  });
});
