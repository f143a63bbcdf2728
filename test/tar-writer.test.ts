import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHeader, encodeHeader, END_OF_ARCHIVE, paddingFor } from '../src/bundle/tar-header.js';
import { readTarStrict } from '../src/bundle/tar-reader.js';
import { TarWriter } from '../src/bundle/tar-writer.js';
import { tempDir } from './helpers/cli.js';
import { readAll } from './helpers/tar-read.js';

type Member = { name: string; type: 'file' | 'dir'; data: Uint8Array };

/** Writes members through a TarWriter into memory (a Writable) and returns the bytes. */
async function writeToMemory(members: Member[], streamed = false): Promise<{ bytes: Uint8Array; endOfData: number }> {
  const sink = new PassThrough();
  const parts: Buffer[] = [];
  sink.on('data', (c: Buffer) => parts.push(c));
  const w = new TarWriter(sink);
  for (const m of members) {
    if (m.type === 'dir') await w.addDirectory(m.name);
    else if (!streamed) await w.addFile(m.name, m.data);
    else {
      const f = await w.beginFile(m.name, m.data.length);
      for (let i = 0; i < m.data.length; i += 333) await f.write(m.data.subarray(i, i + 333));
      await f.end();
    }
  }
  const { endOfData } = await w.finish();
  expect(w.bytesWritten).toBe(endOfData + 1024);
  return { bytes: Buffer.concat(parts), endOfData };
}

async function writeToFile(file: string, members: Member[]): Promise<number> {
  const fd = fs.openSync(file, 'w');
  try {
    const w = new TarWriter(fd);
    for (const m of members) {
      if (m.type === 'dir') await w.addDirectory(m.name);
      else await w.addFile(m.name, m.data);
    }
    return (await w.finish()).endOfData;
  } finally {
    fs.closeSync(fd);
  }
}

const enc = new TextEncoder();
const LONG_SPLIT = `${'p'.repeat(120)}/${'n'.repeat(95)}.bin`; // fits ustar prefix + name
const LONG_PAX = `${'q'.repeat(200)}/${'s'.repeat(120)}/ü${'r'.repeat(80)}.bin`; // needs a pax path record
const SAMPLE: Member[] = [
  { name: 'bag', type: 'dir', data: new Uint8Array() },
  { name: 'bag/bagit.txt', type: 'file', data: enc.encode('BagIt-Version: 1.0\n') },
  { name: 'bag/data/empty', type: 'file', data: new Uint8Array() },
  { name: 'bag/data/Ünïcødé 名前.txt', type: 'file', data: enc.encode('nfc\n') },
  { name: 'bag/data/block.bin', type: 'file', data: new Uint8Array(512).fill(0xab) },
  { name: `bag/${LONG_SPLIT}`, type: 'file', data: enc.encode('split\n') },
  { name: `bag/${LONG_PAX}`, type: 'file', data: enc.encode('pax\n') },
];

describe('tar writer', () => {
  it('round-trips through the strict reader (canonical), to a stream and to a file', async () => {
    const { bytes, endOfData } = await writeToMemory(SAMPLE);
    const r = await readAll(bytes, 97, { canonical: true });
    expect(r.members.map((m) => m.name)).toEqual(SAMPLE.map((m) => m.name));
    r.members.forEach((m, i) => expect(Buffer.from(m.data!)).toEqual(Buffer.from(SAMPLE[i]!.data)));
    expect(r.endOfData).toBe(endOfData);
    expect(bytes.length).toBe(endOfData + 1024);
    const file = path.join(tempDir(), 'x.tar');
    expect(await writeToFile(file, SAMPLE)).toBe(endOfData);
    expect(Buffer.from(fs.readFileSync(file))).toEqual(Buffer.from(bytes));
    const streamed = await writeToMemory(SAMPLE, true);
    expect(Buffer.from(streamed.bytes)).toEqual(Buffer.from(bytes));
  });

  it('is read by GNU tar (list and extract) and Python tarfile', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'x.tar');
    await writeToFile(file, SAMPLE);
    const listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' });
    for (const m of SAMPLE) expect(listing).toContain(m.type === 'dir' ? `${m.name}/` : m.name);
    expect(listing).toMatch(/^-rw-r--r-- 0\/0 +512 1970-01-01 00:00 bag\/data\/block\.bin$/m);
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    for (const m of SAMPLE.filter((x) => x.type === 'file')) {
      expect(Buffer.from(fs.readFileSync(path.join(out, m.name)))).toEqual(Buffer.from(m.data));
    }
    const py = execFileSync(
      'python3',
      ['-c', 'import sys,tarfile,json\nt=tarfile.open(sys.argv[1])\nprint(json.dumps([[m.name,m.size,m.type.decode(),m.mtime] for m in t]))', file],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(py)).toEqual(SAMPLE.map((m) => [m.name, m.data.length, m.type === 'dir' ? '5' : '0', 0]));
  });

  it('property: any set of safe members round-trips, read whole, in chunks and byte by byte', async () => {
    const component = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9 ._ßéü名-]{0,40}$/).filter((s) => s.normalize('NFC') === s && s !== '.' && s !== '..');
    const arb = fc.uniqueArray(
      fc.record({ parts: fc.array(component, { minLength: 1, maxLength: 6 }), data: fc.uint8Array({ maxLength: 1500 }) }),
      { maxLength: 8, selector: (m) => m.parts[0]!.toUpperCase().toLowerCase() },
    );
    await fc.assert(
      fc.asyncProperty(arb, fc.integer({ min: 1, max: 700 }), async (raw, chunk) => {
        // one top-level folder per member avoids name clashes by construction
        const members: Member[] = raw.map((m) => ({ name: m.parts.join('/'), type: 'file', data: m.data }));
        const { bytes, endOfData } = await writeToMemory(members);
        for (const size of [bytes.length, chunk]) {
          const r = await readAll(bytes, size, { canonical: true });
          expect(r.members.map((m) => m.name)).toEqual(members.map((m) => m.name));
          r.members.forEach((m, i) => expect(Buffer.from(m.data!).equals(Buffer.from(members[i]!.data))).toBe(true));
          expect(r.endOfData).toBe(endOfData);
        }
      }),
      { numRuns: 60 },
    );
    const small = await writeToMemory(SAMPLE.slice(0, 4));
    const r = await readAll(small.bytes, 1, { canonical: true });
    expect(r.members.length).toBe(4);
  });

  it('refuses a streamed member whose length differs from its header', async () => {
    const w = new TarWriter(new PassThrough().resume());
    const f = await w.beginFile('a.bin', 10);
    await f.write(new Uint8Array(6));
    await expect(f.end()).rejects.toMatchObject({ code: 'IO_ERROR', message: /6 bytes written, header says 10/ });
    const w2 = new TarWriter(new PassThrough().resume());
    const f2 = await w2.beginFile('a.bin', 4);
    await expect(f2.write(new Uint8Array(5))).rejects.toMatchObject({ code: 'IO_ERROR', message: /more than the 4 bytes/ });
  });

  it('refuses names its own reader would refuse, and byte-identical duplicates; keeps case-only and NFC/NFD pairs', async () => {
    const w = new TarWriter(new PassThrough().resume());
    await expect(w.addFile('../x', new Uint8Array())).rejects.toMatchObject({ code: 'UNSAFE_BUNDLE' });
    await w.addFile('a/\u00e9', new Uint8Array());
    await w.addFile('a/\u0065\u0301', new Uint8Array());
    await w.addFile('a.txt', new Uint8Array());
    await w.addFile('A.TXT', new Uint8Array());
    await expect(w.addFile('a.txt', new Uint8Array())).rejects.toMatchObject({ message: /duplicate name/ });
  });

  it('writes at a given position of a file descriptor (append)', async () => {
    const file = path.join(tempDir(), 'x.tar');
    const first = await writeToFile(file, SAMPLE.slice(0, 2));
    const fd = fs.openSync(file, 'r+');
    const w = new TarWriter(fd, { position: first, existingNames: [{ name: 'bag/bagit.txt', type: 'file' }] });
    await expect(w.addFile('bag/bagit.txt', new Uint8Array(1))).rejects.toMatchObject({ message: /duplicate/ });
    await w.addFile('bag/more.txt', enc.encode('more'));
    const { endOfData } = await w.finish();
    fs.closeSync(fd);
    const r = await readAll(fs.readFileSync(file));
    expect(r.members.map((m) => m.name)).toEqual(['bag', 'bag/bagit.txt', 'bag/more.txt']);
    expect(r.endOfData).toBe(endOfData);
  });
});

describe('ustar header', () => {
  it('pads to 512-byte blocks and ends with two zero blocks', () => {
    expect([0, 1, 511, 512, 513].map(paddingFor)).toEqual([0, 511, 1, 0, 511]);
    expect(END_OF_ARCHIVE.length).toBe(1024);
    expect(END_OF_ARCHIVE.every((b) => b === 0)).toBe(true);
  });

  it('writes sizes of 8 GiB and more with a pax size record and the size in the ustar field, read back by us, GNU tar and Python', () => {
    const dir = tempDir();
    const sizes = [8 * 2 ** 30 - 1, 8 * 2 ** 30, 8 * 2 ** 30 + 1, 64 * 2 ** 30 - 1, 64 * 2 ** 30, 2 * 2 ** 40 + 12345];
    for (const size of sizes) {
      const h = encodeHeader({ name: 'big.img', size, type: 'file' });
      const big = size >= 8 * 2 ** 30;
      expect(h.length).toBe(big ? 1536 : 512);
      const ustar = h.subarray(h.length - 512);
      if (big) {
        expect(String.fromCharCode(h[156]!)).toBe('x');
        expect(Buffer.from(h.subarray(0, 100)).toString('latin1').replace(/\0+$/, '')).toBe('./PaxHeaders/big.img');
        expect(Buffer.from(h.subarray(512, 1024)).toString('latin1').replace(/\0+$/, '')).toBe(`${`size=${size}`.length + 4} size=${size}\n`);
      }
      // Up to 64 GiB: twelve octal digits (MirBSD pax reads only octal); beyond: GNU base-256.
      const field = Buffer.from(ustar.subarray(124, 136));
      if (size >= 64 * 2 ** 30) expect(field[0]).toBe(0x80);
      else expect(field.toString('latin1').replace(/\0$/, '')).toBe(size.toString(8).padStart(11, '0'));
      expect(decodeHeader(ustar, 0).size).toBe(size);
      // A header with no data after it: GNU tar prints the listing line (with the
      // size it decoded) before failing on the missing data; Python parses the headers.
      const file = path.join(dir, `h${size}.tar`);
      fs.writeFileSync(file, h);
      let listing = '';
      try {
        listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      } catch (e) {
        listing = String((e as { stdout: string }).stdout);
      }
      expect(listing).toMatch(new RegExp(`^-rw-r--r-- 0/0 +${size} 1970-01-01 00:00 big\\.img$`, 'm'));
    }
    const files = sizes.map((size) => path.join(dir, `h${size}.tar`));
    const py = execFileSync('python3', ['-c', 'import sys,tarfile\nfor f in sys.argv[1:]: print(tarfile.open(f).firstmember.size)', ...files], {
      encoding: 'utf8',
    });
    expect(py.trim().split('\n').map(Number)).toEqual(sizes);
  });

  // 8 GiB of streamed zeros through a pipe: only when asked (CI big job).
  it.runIf(process.env.CUSTODY_BIG_TESTS === '1')('streams a member over 8 GiB that GNU tar and Python list with its true size', async () => {
    const size = 8 * 2 ** 30 + 1;
    for (const cmd of [
      ['tar', '-tvf', '-'],
      ['python3', '-c', 'import sys,tarfile\nfor m in tarfile.open(fileobj=sys.stdin.buffer,mode="r|"): print(m.name, m.size)'],
    ]) {
      const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c) => (out += String(c)));
      const w = new TarWriter(child.stdin);
      const f = await w.beginFile('big.img', size);
      const zeros = new Uint8Array(4 << 20);
      for (let left = size; left > 0; left -= Math.min(left, zeros.length)) await f.write(zeros.subarray(0, Math.min(left, zeros.length)));
      await f.end();
      await w.addFile('after.txt', enc.encode('after\n'));
      await w.finish();
      child.stdin.end();
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(code).toBe(0);
      expect(out).toMatch(new RegExp(`${size}.*big\\.img|big\\.img ${size}`));
      expect(out).toContain('after.txt');
    }
    // and our strict reader, fed by the writer through a pipe (flat memory both ways)
    const pipe = new PassThrough({ highWaterMark: 4 << 20 });
    const writing = (async () => {
      const w = new TarWriter(pipe);
      const f = await w.beginFile('big.img', size);
      const zeros = new Uint8Array(4 << 20);
      for (let left = size; left > 0; left -= Math.min(left, zeros.length)) await f.write(zeros.subarray(0, Math.min(left, zeros.length)));
      await f.end();
      await w.finish();
      pipe.end();
    })();
    let seen = 0;
    const names: string[] = [];
    for await (const e of readTarStrict(pipe, { canonical: true })) {
      names.push(`${e.name}:${e.size}`);
      for await (const c of e.body()) seen += c.length;
    }
    await writing;
    expect(names).toEqual([`big.img:${size}`]);
    expect(seen).toBe(size);
    expect(process.memoryUsage().rss).toBeLessThan(400 << 20);
  }, 600_000);
});
