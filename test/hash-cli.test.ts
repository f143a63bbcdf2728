/** `custody hash` end to end (built CLI), checked against real peer tools. */
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

const sha = (algo: string, b: Uint8Array) => createHash(algo).update(b).digest('hex');
function peer(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

let dir: string;
let files: Record<string, Buffer>;

beforeAll(() => {
  dir = tempDir('custody-hash-');
  files = {
    'image.001': randomBytes(200_003),
    'image.002': randomBytes(70_001),
    'notes, final.txt': Buffer.from('seized 2026-11-27\n'),
    'empty.bin': Buffer.alloc(0),
    'tree/a.txt': Buffer.from('a'),
    'tree/sub/b.txt': Buffer.from('bb'),
  };
  for (const [name, bytes] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), bytes);
  }
});

const run = (args: string[], input?: Buffer) => runCli(args, { cwd: dir, input });

describe('custody hash output', () => {
  it('text: every default algorithm, path as given', () => {
    const r = run(['hash', 'image.001']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const f = files['image.001']!;
    expect(r.stdout).toContain('image.001  (200003 bytes)');
    for (const a of ['md5', 'sha1', 'sha256']) expect(r.stdout).toMatch(new RegExp(`${a}\\s+${sha(a, f)}`));
  });

  it('--json: {"ok":true,"files":[…]} with pieces and the requested algorithms', () => {
    const r = run(['--json', 'hash', '--algo', 'sha512,blake3', '--piece', '64KiB', 'image.001', 'empty.bin']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.files).toHaveLength(2);
    expect(doc.files[0]).toMatchObject({ path: 'image.001', size: 200_003, hashes: { sha512: sha('sha512', files['image.001']!) } });
    expect(Object.keys(doc.files[0].hashes)).toEqual(['sha512', 'blake3']);
    expect(doc.files[0].pieces).toMatchObject({ size: 65_536, count: 4 });
    expect(doc.files[0].pieces.sha256[3]).toBe(sha('sha256', files['image.001']!.subarray(3 * 65_536)));
    expect(doc.files[1]).toMatchObject({ size: 0, pieces: { count: 0, sha256: [] } });
  });

  it('stdin with -', () => {
    const r = run(['--json', 'hash', '-'], files['image.002']);
    expect(JSON.parse(r.stdout).files[0]).toMatchObject({ path: '-', size: 70_001, hashes: { md5: sha('md5', files['image.002']!) } });
  });

  it('--split equals hashing the concatenation', () => {
    const r = run(['--json', 'hash', '--split', 'image.001', 'image.002']);
    const whole = Buffer.concat([files['image.001']!, files['image.002']!]);
    const f = JSON.parse(r.stdout).files;
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ path: 'image.001', segments: ['image.001', 'image.002'], size: whole.length });
    for (const a of ['md5', 'sha1', 'sha256']) expect(f[0].hashes[a]).toBe(sha(a, whole));
  });

  it('sums: sha256sum -c accepts it, including -r trees and a name with a comma', () => {
    const r = run(['hash', '--format', 'sums', '-r', 'tree', 'notes, final.txt', 'empty.bin']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`${sha('sha256', files['tree/a.txt']!)}  tree/a.txt`);
    fs.writeFileSync(path.join(dir, 'SHA256SUMS'), r.stdout);
    const c = peer('sha256sum', ['-c', '--strict', 'SHA256SUMS'], dir);
    expect(c.out).toBe('tree/a.txt: OK\ntree/sub/b.txt: OK\nnotes, final.txt: OK\nempty.bin: OK\n');
    expect(c.code).toBe(0);
  });

  it('sums with a file name holding a line break: sha256sum -c still accepts it', () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'two\nlines'), 'x');
    const r = runCli(['hash', '--format', 'sums', 'two\nlines'], { cwd: d });
    fs.writeFileSync(path.join(d, 'S'), r.stdout);
    expect(peer('sha256sum', ['-c', 'S'], d)).toMatchObject({ code: 0 });
  });

  it.skipIf(!has('hashdeep') && !process.env.CI)('hashdeep: hashdeep -a -k audits it and passes; fails after a change', () => {
    const r = run(['hash', '--format', 'hashdeep', 'image.001', 'notes, final.txt', 'empty.bin']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('%%%% HASHDEEP-1.0\n%%%% size,md5,sha1,sha256,filename\n')).toBe(true);
    fs.writeFileSync(path.join(dir, 'known.hashdeep'), r.stdout);
    const ok = peer('hashdeep', ['-a', '-k', 'known.hashdeep', 'image.001', 'notes, final.txt', 'empty.bin'], dir);
    expect(ok.out).toContain('Audit passed');
    expect(ok.code).toBe(0);
    const other = tempDir();
    fs.writeFileSync(path.join(other, 'image.001'), 'tampered');
    expect(peer('hashdeep', ['-a', '-k', path.join(dir, 'known.hashdeep'), 'image.001'], other).code).not.toBe(0);
  });

  it('dfxml parses as XML (python3 xml.etree) with the expected hashes and byte runs', () => {
    const r = run(['hash', '--format', 'dfxml', '--piece', '100000', 'image.001', 'notes, final.txt']);
    expect(r.code).toBe(0);
    const py = `
import sys, json, xml.etree.ElementTree as ET
ns = {'d': 'http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML'}
root = ET.fromstring(sys.stdin.read())
out = []
for fo in root.findall('d:fileobject', ns):
    out.append({'name': fo.find('d:filename', ns).text, 'size': int(fo.find('d:filesize', ns).text),
                'hashes': {h.get('type'): h.text for h in fo.findall('d:hashdigest', ns)},
                'runs': [(int(b.get('file_offset')), int(b.get('len'))) for b in fo.findall('d:byte_runs/d:byte_run', ns)]})
print(json.dumps(out))`;
    const p = spawnSync('python3', ['-c', py], { input: r.stdout, encoding: 'utf8' });
    expect(p.status).toBe(0);
    const parsed = JSON.parse(p.stdout);
    expect(parsed[0]).toEqual({
      name: 'image.001',
      size: 200_003,
      hashes: { md5: sha('md5', files['image.001']!), sha1: sha('sha1', files['image.001']!), sha256: sha('sha256', files['image.001']!) },
      runs: [[0, 100_000], [100_000, 100_000], [200_000, 3]],
    });
    expect(parsed[1].name).toBe('notes, final.txt');
  });

  it('sha512 and sha3-256 agree with openssl', () => {
    const r = run(['--json', 'hash', '--algo', 'sha512,sha3-256', 'image.002']);
    const h = JSON.parse(r.stdout).files[0].hashes;
    for (const [a, o] of [['sha512', 'sha512'], ['sha3-256', 'sha3-256']] as const) {
      const p = peer('openssl', ['dgst', `-${o}`, '-r', 'image.002'], dir);
      expect(p.out.split(' ')[0]).toBe(h[a]);
    }
  });
});

describe('custody hash --check', () => {
  it('reports matched, changed, missing and new, exit 1 with the report still printed', () => {
    const d = tempDir();
    for (const n of ['keep', 'change', 'vanish']) fs.writeFileSync(path.join(d, n), n);
    const list = runCli(['hash', '--format', 'json', 'keep', 'change', 'vanish'], { cwd: d });
    fs.writeFileSync(path.join(d, 'list.json'), list.stdout);
    expect(runCli(['hash', '--check', 'list.json'], { cwd: d }).code).toBe(0);
    fs.writeFileSync(path.join(d, 'change'), 'changed');
    fs.rmSync(path.join(d, 'vanish'));
    fs.writeFileSync(path.join(d, 'arrived'), 'new');
    const r = runCli(['hash', '--check', 'list.json', 'keep', 'change', 'arrived'], { cwd: d });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/MATCHED/);
    expect(r.stdout).toMatch(/^1 matched, 1 changed, 1 missing, 1 new /m);
    expect(runCli(['hash', '-v', '--check', 'list.json', 'keep', 'change', 'arrived'], { cwd: d }).stdout).toMatch(/^MATCHED +keep$/m);
    expect(r.stdout).toMatch(/^CHANGED +change +\(size expected 6, got 7; md5 expected/m);
    expect(r.stdout).toMatch(/^MISSING +vanish$/m);
    expect(r.stdout).toMatch(/^NEW +arrived$/m);
    expect(r.stderr).toBe('custody: check failed: 1 changed, 1 missing, 1 new\n');
    const j = runCli(['--json', 'hash', '--check', 'list.json', 'keep', 'change', 'arrived'], { cwd: d });
    const doc = JSON.parse(j.stdout);
    expect(doc).toMatchObject({ ok: false, summary: { matched: 1, changed: 1, missing: 1, new: 1 }, error: { code: 'CHECK_FAILED' } });
    expect(j.code).toBe(1);
  });

  it('accepts sums (sha256sum output) and hashdeep lists, matching paths relative to here', () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'f'), 'content');
    fs.writeFileSync(path.join(d, 'S'), spawnSync('sha256sum', ['f'], { cwd: d, encoding: 'utf8' }).stdout);
    expect(runCli(['hash', '--check', 'S'], { cwd: d })).toMatchObject({ code: 0, stdout: '1 matched, 0 changed, 0 missing, 0 new (sums list S)\n' });
    expect(runCli(['hash', '--verbose', '--check', 'S'], { cwd: d })).toMatchObject({ code: 0, stdout: expect.stringMatching(/^MATCHED +f$/m) });
    if (has('hashdeep') || process.env.CI) {
      fs.writeFileSync(path.join(d, 'H'), spawnSync('hashdeep', ['-c', 'md5,sha256', 'f'], { cwd: d, encoding: 'utf8' }).stdout);
      expect(runCli(['hash', '--check', 'H', 'f'], { cwd: d }).code).toBe(0);
      fs.writeFileSync(path.join(d, 'f'), 'CONTENT');
      expect(runCli(['hash', '--check', 'H', 'f'], { cwd: d }).stdout).toMatch(/^CHANGED +\S*f +\(md5 expected/m);
    }
  });

  it('an unreadable check list is exit 2 naming it', () => {
    const r = run(['hash', '--check', 'no-such-list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('custody: no such file: no-such-list\n');
  });
});

describe('custody hash errors: one custody: line and the documented exit code', () => {
  it('unknown flag → 2', () => {
    const r = run(['hash', '--bogus', 'image.001']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^custody: unknown option '--bogus'/);
  });
  it('unknown algorithm or format → 2', () => {
    expect(run(['hash', '--algo', 'crc32', 'image.001'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^custody: unknown hash algorithm 'crc32'/) });
    expect(run(['hash', '--format', 'xml', 'image.001']).code).toBe(2);
    expect(run(['hash', '--format', 'hashdeep', '--algo', 'blake3', 'image.001']).code).toBe(2);
    expect(run(['hash', '--format', 'sums', '--algo', 'md5,sha1', 'image.001']).code).toBe(2);
  });
  it('missing file → 2 naming it, after the readable files are hashed and printed', () => {
    const r = run(['hash', 'image.001', 'missing.dd']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('image.001  (200003 bytes)');
    expect(r.stderr).toBe('custody: no such file: missing.dd\n');
  });
  it('a directory without -r → 2', () => {
    expect(run(['hash', 'tree'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^custody: tree is a directory/) });
  });
  it('unreadable file (read fails with EIO) → 3, no partial result', () => {
    // Tests run as root, so chmod 000 cannot make a file unreadable. /proc/self/mem opens fine
    // and then fails with EIO on the first read at offset 0: a real read error.
    const r = run(['hash', 'image.001', '/proc/self/mem']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^custody: cannot read \/proc\/self\/mem: EIO/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('help has an example', () => {
    expect(run(['hash', '--help']).stdout).toMatch(/Example[s]?:\n +\$ custody hash/);
  });
});
