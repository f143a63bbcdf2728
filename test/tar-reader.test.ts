import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../src/core/errors.js';
import { readTarStrict } from '../src/bundle/tar-reader.js';
import { encodeHeader } from '../src/bundle/tar-header.js';
import { HOSTILE_CASES, concat, member, END, validArchive, okFile } from './helpers/hostile-tar.js';
import { chunked, readAll } from './helpers/tar-read.js';
import { tempDir } from './helpers/cli.js';

async function refusal(bytes: Uint8Array, chunk: number, skipBodies: boolean): Promise<CustodyError> {
  try {
    await readAll(bytes, chunk, { skipBodies });
  } catch (e) {
    if (e instanceof CustodyError) return e;
    throw e;
  }
  throw new Error('the reader accepted a hostile archive');
}

describe('strict tar reader: hostile archives', () => {
  it('has a valid archive to contrast with', async () => {
    const r = await readAll(validArchive());
    expect(r.members.map((m) => `${m.type}:${m.name}:${m.size}`)).toEqual(['dir:dir:0', 'file:ok.txt:6', 'file:dir/a.bin:700']);
    expect(Buffer.from(r.members[1]!.data!).toString()).toBe('hello\n');
    expect(r.endOfData).toBe(512 + 1024 + 512 + 1024);
  });

  for (const c of HOSTILE_CASES) {
    it(`refuses ${c.id}`, async () => {
      const bytes = c.bytes();
      // whole, in odd chunks, byte by byte; reading bodies or letting the reader skip them
      for (const [chunk, skip] of [
        [bytes.length, false],
        [7, true],
        [509, false],
        [1, false],
      ] as const) {
        const e = await refusal(bytes, chunk, skip);
        expect(e.code, `${c.id} chunk ${chunk}: ${e.message}`).toBe(c.code);
        expect(e.message).toMatch(c.rule);
        if (c.member !== undefined) expect(e.member).toBe(c.member);
      }
    });
  }

  it('names the byte range of trailing data', async () => {
    const e = await refusal(concat(okFile(), END(), new Uint8Array(100), new Uint8Array([9])), 64, false);
    expect(e.range).toEqual([2148, 2149]);
  });
});

describe('strict tar reader: what it accepts', () => {
  it('keeps names as they are: an NFD name, and names that differ only in case or normalisation', async () => {
    const r = await readAll(concat(okFile(), member('OK.TXT', 'other\n'), member('cafe\u0301.txt', 'nfd\n'), member('caf\u00e9.txt', 'nfc\n'), END()));
    expect(r.members.map((m) => m.name)).toEqual(['ok.txt', 'OK.TXT', 'cafe\u0301.txt', 'caf\u00e9.txt']);
  });

  it('accepts any amount of zero padding after the end marker, reports endOfData and the size', async () => {
    for (const extra of [0, 1, 511, 8192, 10000]) {
      const bytes = concat(validArchive(), new Uint8Array(extra));
      const r = await readAll(bytes, 100);
      expect(r.endOfData).toBe(3072);
      expect(r.archiveSize).toBe(bytes.length);
    }
  });

  it('reports header and data offsets', async () => {
    const r = await readAll(validArchive(), 3);
    expect(r.members.map((m) => [m.headerOffset, m.dataOffset])).toEqual([
      [0, 512],
      [512, 1024],
      [1536, 2048],
    ]);
  });

  it('drains a body that was only partly read, still checking its padding', async () => {
    const m = member('b.txt', new Uint8Array(3000).fill(1));
    m[512 + 3000 + 5] = 1;
    const bytes = concat(m, END());
    const reader = readTarStrict(chunked(bytes, 100));
    const first = await reader.next();
    expect(first.done).toBe(false);
    for await (const _ of (first.value as { body(): AsyncIterable<Uint8Array> }).body()) break;
    await expect(reader.next()).rejects.toMatchObject({ code: 'UNSAFE_BUNDLE', member: 'b.txt' });
  });

  it('refuses to hand out a body twice', async () => {
    const reader = readTarStrict(chunked(validArchive(), 4096));
    const e = (await reader.next()).value as { body(): AsyncIterable<Uint8Array> };
    e.body();
    expect(() => e.body()).toThrow(/read twice/);
  });

  it('reads what GNU tar --format=ustar and --format=pax write (files, dirs, long names, UTF-8)', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'src');
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(90)}.txt`;
    const files: Record<string, string> = { 'a.txt': 'alpha\n', 'sub/ünïcødé.txt': 'ü\n', [long]: 'long\n', 'sub/empty': '' };
    for (const [name, data] of Object.entries(files)) {
      fs.mkdirSync(path.join(src, path.dirname(name)), { recursive: true });
      fs.writeFileSync(path.join(src, name), data);
    }
    for (const format of ['ustar', 'pax', 'gnu']) {
      const out = path.join(dir, `${format}.tar`);
      const names = format === 'gnu' ? ['a.txt', 'sub'] : ['a.txt', 'sub', long.split('/')[0]!];
      execFileSync('tar', [`--format=${format}`, '-cf', out, '-C', src, ...names]);
      const bytes = fs.readFileSync(out);
      const r = await readAll(bytes, 1000);
      const got = Object.fromEntries(r.members.filter((m) => m.type === 'file').map((m) => [m.name, Buffer.from(m.data!).toString()]));
      const want = Object.fromEntries(Object.entries(files).filter(([n]) => names.includes(n.split('/')[0]!)));
      expect(got, format).toEqual(want);
      expect(r.members.filter((m) => m.type === 'dir').map((m) => m.name)).toContain('sub');
      expect(r.archiveSize).toBe(bytes.length); // GNU tar pads to 10 KiB records
      // not our canonical form (uname root, real mtimes): refused in canonical mode
      await expect(readAll(bytes, 1000, { canonical: true })).rejects.toMatchObject({ code: 'UNSAFE_BUNDLE', message: /canonical/ });
    }
  });

  it('in canonical mode refuses a header that differs from custody\'s form only in its uname (checksum kept right): a plain header, a pax header, and the block after a pax header', async () => {
    const long = `d/${'n'.repeat(120)}.bin`; // a name no ustar split holds: written with a pax header
    expect(encodeHeader({ name: long, type: 'file', size: 1 }).length).toBeGreaterThan(1024);
    const data = new TextEncoder().encode('x');
    const part = (name: string) => concat(encodeHeader({ name, type: 'file', size: 1 }), data, new Uint8Array(511));
    const archive = () => concat(part('short.txt'), part(long), END());
    expect((await readAll(archive(), 1000, { canonical: true })).members.map((m) => m.name)).toEqual(['short.txt', long]);
    const fixChecksum = (b: Uint8Array, at: number) => {
      b.fill(0x20, at + 148, at + 156);
      let sum = 0;
      for (let k = at; k < at + 512; k++) sum += b[k]!;
      b.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\0 `), at + 148);
    };
    const longAt = part('short.txt').length; // the long member's pax header
    const mainAt = longAt + encodeHeader({ name: long, type: 'file', size: 1 }).length - 512; // its ustar block after the pax data
    for (const [what, block] of [['the first header', 0], ['the pax header', longAt], ['the block after the pax header', mainAt]] as const) {
      const bytes = archive();
      bytes[block + 265] = 0x78; // uname: custody leaves it empty
      fixChecksum(bytes, block);
      await expect(readAll(bytes, 1000, { canonical: true }), what).rejects.toMatchObject({ code: 'UNSAFE_BUNDLE', message: /canonical/ });
      await expect(readAll(bytes, 1000), what).resolves.toBeDefined(); // a valid tar, only not custody's form
    }
  });

  it('refuses what GNU tar writes for links and long names in its default format', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'target'), 'x');
    fs.symlinkSync('target', path.join(dir, 'link'));
    fs.linkSync(path.join(dir, 'target'), path.join(dir, 'hard'));
    fs.writeFileSync(path.join(dir, 'n'.repeat(120)), 'x');
    const cases: [string[], RegExp][] = [
      [['link'], /symbolic link/],
      [['target', 'hard'], /hard link/],
      [['n'.repeat(120)], /GNU long name/],
    ];
    for (const [names, rule] of cases) {
      const out = path.join(dir, 'x.tar');
      execFileSync('tar', ['-cf', out, '-C', dir, ...names]);
      await expect(readAll(fs.readFileSync(out))).rejects.toMatchObject({ code: 'UNSAFE_BUNDLE', message: rule });
    }
  });
});

describe('strict tar reader: other writers', () => {
  it('reads a GNU tar pax archive whose path needs a pax record (ustar name is a truncation of it)', async () => {
    const dir = tempDir();
    const deep = path.join('lp', 'a'.repeat(200), 'b'.repeat(150));
    fs.mkdirSync(path.join(dir, deep), { recursive: true });
    fs.writeFileSync(path.join(dir, deep, 'f.txt'), 'deep\n');
    const out = path.join(dir, 'x.tar');
    execFileSync('tar', ['--format=pax', '-cf', out, '-C', dir, 'lp']);
    const r = await readAll(fs.readFileSync(out), 511);
    const f = r.members.find((m) => m.type === 'file')!;
    expect(f.name).toBe(`${deep}/f.txt`);
    expect(Buffer.from(f.data!).toString()).toBe('deep\n');
  });

  it("reads what Python's tarfile writes (pax format, UTF-8 names)", async () => {
    const dir = tempDir();
    const out = path.join(dir, 'py.tar');
    execFileSync('python3', [
      '-c',
      `import io,sys,tarfile
t=tarfile.open(sys.argv[1],'w',format=tarfile.PAX_FORMAT)
for name,data in [('d/ünï.txt',b'u\\n'),('d/plain.bin',bytes(1000))]:
    i=tarfile.TarInfo(name); i.size=len(data); t.addfile(i,io.BytesIO(data))
t.close()`,
      out,
    ]);
    const r = await readAll(fs.readFileSync(out), 100);
    expect(r.members.map((m) => [m.name, m.size])).toEqual([
      ['d/ünï.txt', 2],
      ['d/plain.bin', 1000],
    ]);
  });
});
