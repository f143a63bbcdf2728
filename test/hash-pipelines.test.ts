/**
 * `custody hash` in a pipeline: a missing path does not swallow the others'
 * results, -o writes the output atomically and never over a reference list
 * by mistake, --check is quiet when all is well, and the short flags a
 * script expects (-q, -V, -o, -v) exist.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from './helpers/cli.js';

let d: string;
const run = (args: string[]) => runCli(args, { cwd: d });

beforeAll(() => {
  d = tempDir('custody-hash-pipe-');
  fs.writeFileSync(path.join(d, 'a'), 'a');
  fs.writeFileSync(path.join(d, 'c'), 'c');
});

describe('custody hash with missing paths', () => {
  it('hashes and prints every readable path, then fails naming all the missing ones (exit 2, one line)', () => {
    const r = run(['hash', '--format', 'sums', 'a', 'missing-b', 'c', 'missing-d']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(
      'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  a\n2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6  c\n',
    );
    expect(r.stderr).toBe('custody: no such files: missing-b, missing-d\n');
  });

  it('--json: one document with the results and the error', () => {
    const r = run(['--json', 'hash', 'a', 'missing-b']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, files: [{ path: 'a', size: 1 }], error: { code: 'NOT_FOUND', message: 'no such file: missing-b' } });
    // --format json is a document of its own: it says the same.
    const f = JSON.parse(run(['hash', '--format', 'json', 'a', 'missing-b']).stdout);
    expect(f).toMatchObject({ ok: false, files: [{ path: 'a' }], error: { code: 'NOT_FOUND' } });
  });
});

describe('custody hash -o/--out', () => {
  it('writes what stdout would have held, leaves no temporary file, and refuses to replace it without --force', () => {
    const expected = run(['hash', '--format', 'hashdeep', 'a', 'c']).stdout.replace(/^## Invoked from: .*\n/m, '').replace(/^## \$ .*\n/m, '');
    const r = run(['-q', 'hash', '--format', 'hashdeep', '-o', 'list.hashdeep', 'a', 'c']);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const written = fs.readFileSync(path.join(d, 'list.hashdeep'), 'utf8');
    expect(written.replace(/^## Invoked from: .*\n/m, '').replace(/^## \$ .*\n/m, '')).toBe(expected);
    expect(fs.readdirSync(d).filter((n) => n.startsWith('.'))).toEqual([]);

    const again = run(['hash', '--out', 'list.hashdeep', 'c']);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe('custody: list.hashdeep already exists (choose another name, or add --force to replace it)\n');
    expect(fs.readFileSync(path.join(d, 'list.hashdeep'), 'utf8')).toBe(written);

    expect(run(['hash', '--format', 'sums', '-o', 'list.hashdeep', '--force', 'c']).code).toBe(0);
    expect(fs.readFileSync(path.join(d, 'list.hashdeep'), 'utf8')).toBe('2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6  c\n');
  });

  it('with --json the file holds the JSON document, and --check reads it back', () => {
    expect(run(['--json', 'hash', '-o', 'list.json', 'a']).stdout).toBe('');
    const doc = JSON.parse(fs.readFileSync(path.join(d, 'list.json'), 'utf8'));
    expect(doc).toMatchObject({ ok: true, files: [{ path: 'a' }] });
    expect(run(['hash', '--check', 'list.json']).code).toBe(0);
  });

  it('an output folder that does not exist is refused before anything is hashed', () => {
    const r = run(['hash', '-o', 'no/such/dir/list', 'a']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^custody: cannot write no\/such\/dir\/list: its folder does not exist\n$/);
  });
});

describe('custody hash --check output', () => {
  it('prints only what did not match and the summary; -v prints every line; all matched prints the summary alone', () => {
    fs.writeFileSync(path.join(d, 'SUMS'), run(['hash', '--format', 'sums', 'a', 'c']).stdout);
    expect(run(['hash', '--check', 'SUMS'])).toMatchObject({ code: 0, stdout: '2 matched, 0 changed, 0 missing, 0 new (sums list SUMS)\n' });
    fs.writeFileSync(path.join(d, 'c'), 'changed');
    const r = run(['hash', '--check', 'SUMS']);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[0])).toEqual(['CHANGED', '1']);
    expect(r.stdout).toMatch(/\n1 matched, 1 changed, 0 missing, 0 new \(sums list SUMS\)\n$/);
    const v = run(['hash', '-v', '--check', 'SUMS']);
    expect(v.stdout).toMatch(/^MATCHED +a\nCHANGED +c /);
    fs.writeFileSync(path.join(d, 'c'), 'c');
  });
});

describe('short flags', () => {
  it('-V prints the version, -q is --quiet', () => {
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    expect(runCli(['-V'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    expect(runCli(['--version']).stdout).toBe(`${version}\n`);
    expect(run(['-q', 'hash', 'a']).code).toBe(0);
    expect(runCli(['--help']).stdout).toMatch(/-q, --quiet/);
    expect(runCli(['hash', '--help']).stdout).toMatch(/-v, --verbose[\s\S]*-o, --out <file>/);
  });
});
