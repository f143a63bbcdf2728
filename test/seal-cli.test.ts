/**
 * custody seal / verify / extract through the built CLI, checked with stock
 * tools: GNU tar, sha256sum/md5sum/sha1sum -c, openssl, minisign, python3
 * tarfile, and every command of VERIFY.txt run as written.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '../src/ledger/index.js';
import { runCli, tempDir } from './helpers/cli.js';
import { runVerifyTxt, verifyTxtCommands } from './helpers/verify-txt.js';

let dir: string;
let home: string;
let pub: string;
let fp: string;
const env = () => ({ CUSTODY_HOME: home });

function sh(script: string, cwd: string): { code: number; out: string } {
  const r = spawnSync('bash', ['-c', script], { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const NFD_NAME = 'Cafe\u0301 r\u00e9sum\u00e9.txt'.normalize('NFD');
const big = new Uint8Array(5 * 1024 * 1024 + 17).map((_, i) => (i * 2654435761) >>> 24);

beforeAll(() => {
  dir = tempDir('custody-seal-');
  home = path.join(dir, 'home');
  const k = runCli(['--json', 'key', 'new', '--name', 'Ann Examiner', '--org', 'Police Lab', '--no-passphrase'], { env: env() });
  expect(k.code, k.stderr).toBe(0);
  const keys = fs.readdirSync(path.join(home, 'keys'));
  pub = path.join(home, 'keys', keys.find((f) => f.endsWith('.pub'))!);
  fp = JSON.parse(fs.readFileSync(pub, 'utf8')).fingerprint ?? '';
  const ev = path.join(dir, 'ev');
  fs.mkdirSync(path.join(ev, 'phone/a/b/c'), { recursive: true });
  fs.mkdirSync(path.join(ev, 'phone/empty-dir'), { recursive: true });
  fs.writeFileSync(path.join(ev, 'zero.bin'), '');
  fs.writeFileSync(path.join(ev, 'one.bin'), 'x');
  fs.writeFileSync(path.join(ev, 'disk.img'), big);
  fs.writeFileSync(path.join(ev, 'phone/a/b/c/deep.txt'), 'deep\n');
  fs.writeFileSync(path.join(ev, 'phone', NFD_NAME), 'nfc\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('seal → stock tools → verify → extract', () => {
  let bundle: string;
  let digest: string;
  beforeAll(() => {
    bundle = path.join(dir, 'case-42.tar');
    const ev = path.join(dir, 'ev');
    const r = runCli(
      ['--json', 'seal', path.join(ev, 'zero.bin'), path.join(ev, 'one.bin'), path.join(ev, 'disk.img'), path.join(ev, 'phone'),
        '--case', 'CASE-42', '--out', bundle, '--piece', '1MiB', '--item', 'zero', '--item', 'one', '--item', 'disk01',
        '--description', 'empty file', '--meta', 'disk01:serial=S4EV', '--meta', 'examiner=Ann', '--location', 'Lab 3'],
      { env: env() },
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    digest = doc.bundleDigest;
    expect(doc).toMatchObject({ ok: true, case: 'CASE-42', files: 5, bundleName: 'case-42' });
  });

  it('prints the bundle digest = SHA-256 of the tagmanifest, and records it in the ledger', () => {
    const x = path.join(dir, 'x1');
    fs.mkdirSync(x);
    expect(sh(`tar -xf ${bundle}`, x).code).toBe(0);
    const tm = fs.readFileSync(path.join(x, 'case-42/tagmanifest-sha256.txt'));
    expect(createHash('sha256').update(tm).digest('hex')).toBe(digest);
    const ledger = openLedger(home);
    try {
      expect(ledger.bundles().map((b) => b.digest)).toContain(digest);
    } finally {
      ledger.close();
    }
  });

  it('GNU tar and python tarfile list the members with mtime 0', () => {
    const t = sh(`tar -tvf ${bundle}`, dir);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/5242897 1970-01-01 00:00 case-42\/data\/disk01\/disk\.img/);
    const p = sh(`python3 -c "import tarfile,sys; t=tarfile.open(sys.argv[1]); print('\\n'.join(f'{m.name} {m.size} {m.mtime} {m.type.decode()}' for m in t))" ${bundle}`, dir);
    expect(p.code, p.out).toBe(0);
    expect(p.out).toContain('case-42/data/disk01/disk.img 5242897 0 0');
    expect(p.out).toContain(`case-42/data/phone/${NFD_NAME} 4 0 0`); // sealed as on disk: NFD stays NFD
  });

  it('every command of VERIFY.txt works as written', () => {
    const x = path.join(dir, 'x2');
    fs.mkdirSync(x);
    fs.copyFileSync(bundle, path.join(x, 'case-42.tar'));
    const text = sh(`tar -xOf case-42.tar case-42/VERIFY.txt`, x).out;
    expect(text).toContain(fp);
    const commands = verifyTxtCommands(text);
    expect(commands.length).toBeGreaterThanOrEqual(10);
    for (const tool of ['tar -xf', 'sha256sum -c manifest-sha256.txt', 'sha256sum -c tagmanifest-sha256.txt', 'openssl pkeyutl -verify', 'minisign -Vm', 'md5sum -c', 'sha1sum -c', 'dd if=']) {
      expect(commands.some((c) => c.startsWith(tool)), tool).toBe(true);
    }
    const r = runVerifyTxt(commands, x);
    expect(r.code, r.out).toBe(0);
    const out = r.out.split(/### \d+\n/);
    expect(out[4]).toMatch(/OK\n$/); // sha256sum -c manifest-sha256.txt
    expect(r.out).not.toMatch(/FAILED/);
    expect(r.out).toContain('Signature Verified Successfully');
    expect(r.out).toContain(`Trusted comment: custody bundle case-42 sha256:${digest} case CASE-42`);
    expect(r.out).toContain(`${digest}  tagmanifest-sha256.txt`);
    expect(r.out).toContain(`${fp}  -`); // step 7: the fingerprint of the key in sealer.pem
    expect(r.out).toContain('OK custody/chain/0000-seal.dsse.json (seal)'); // step 8: the records
    // The dd example must give the digest VERIFY.txt names (the first piece of the pieces file).
    const m = /must give ([0-9a-f]{64}):/.exec(text)!;
    expect(r.out).toContain(`${m[1]}  -`);
    const firstPiece = fs.readFileSync(path.join(x, 'case-42/custody/pieces-sha256.txt'), 'utf8').split('\n')[0]!;
    expect(firstPiece.startsWith(m[1]!)).toBe(true);
  });

  it('verify passes with --trust, from a file and from stdin; fails untrusted; --allow-untrusted reports it', () => {
    const ok = runCli(['verify', bundle, '--trust', pub], { env: { CUSTODY_HOME: path.join(dir, 'receiver') } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^VERIFIED/);
    const stdin = runCli(['--json', 'verify', '-', '--trust', pub], { env: { CUSTODY_HOME: path.join(dir, 'receiver') }, input: fs.readFileSync(bundle) });
    expect(stdin.code, stdin.stderr).toBe(0);
    expect(JSON.parse(stdin.stdout)).toMatchObject({ ok: true, verdict: { verified: true, bundleDigest: digest, files: 5 } });
    const un = runCli(['--json', 'verify', bundle], { env: { CUSTODY_HOME: path.join(dir, 'receiver') } });
    expect(un.code).toBe(1);
    expect(JSON.parse(un.stdout).error.code).toBe('UNTRUSTED_KEY');
    const allow = runCli(['--json', 'verify', bundle, '--allow-untrusted'], { env: { CUSTODY_HOME: path.join(dir, 'receiver') } });
    expect(allow.code).toBe(0);
    expect(JSON.parse(allow.stdout).verdict.sealer.trusted).toBe(false);
    expect(fs.existsSync(path.join(dir, 'receiver'))).toBe(false); // verify does not create a home
    const both = runCli(['verify', bundle, '--allow-untrusted', '--strict-trust'], { env: env() });
    expect(both.code).toBe(2);
  });

  it('extract gives back every file byte for byte, with empty folders and times', () => {
    const into = path.join(dir, 'extracted');
    const r = runCli(['extract', bundle, '--into', into, '--trust', pub], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const ev = path.join(dir, 'ev');
    expect(fs.readFileSync(path.join(into, 'data/disk01/disk.img')).equals(Buffer.from(big))).toBe(true);
    expect(fs.readFileSync(path.join(into, 'data/zero/zero.bin')).length).toBe(0);
    expect(fs.readFileSync(path.join(into, 'data/one/one.bin'), 'utf8')).toBe('x');
    expect(fs.readFileSync(path.join(into, 'data/phone/a/b/c/deep.txt'), 'utf8')).toBe('deep\n');
    expect(fs.readFileSync(path.join(into, 'data/phone', NFD_NAME), 'utf8')).toBe('nfc\n');
    expect(fs.readdirSync(path.join(into, 'data/phone'))).not.toContain(NFD_NAME.normalize('NFC'));
    expect(fs.statSync(path.join(into, 'data/phone/empty-dir')).isDirectory()).toBe(true);
    expect(Math.abs(fs.statSync(path.join(into, 'data/disk01/disk.img')).mtimeMs - fs.statSync(path.join(ev, 'disk.img')).mtimeMs)).toBeLessThan(2);
    // The extracted folder is the bag: the stock checks run there too.
    expect(sh('sha256sum -c --quiet manifest-sha256.txt && sha256sum -c --quiet tagmanifest-sha256.txt', into).code).toBe(0);
    // Refuses a non-empty destination.
    const again = runCli(['extract', bundle, '--into', into, '--trust', pub], { env: env() });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^custody: .* already exists/);
  });

  it('custody/manifest.json describes items, meta and the case', () => {
    const m = JSON.parse(sh(`tar -xOf ${bundle} case-42/custody/manifest.json`, dir).out);
    expect(m.case.id).toBe('CASE-42');
    expect(m.items.map((i: { id: string }) => i.id)).toEqual(['zero', 'one', 'disk01', 'phone']);
    expect(m.items[0].description).toBe('empty file');
    expect(m.items[2].meta).toEqual({ serial: 'S4EV', examiner: 'Ann' });
    expect(m.items[3].emptyDirectories).toEqual(['empty-dir']);
    const disk = m.files.find((f: { path: string }) => f.path === 'data/disk01/disk.img');
    expect(disk.size).toBe(big.length);
    expect(disk.hashes.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    expect(disk.hashes.md5).toBe(createHash('md5').update(big).digest('hex'));
    expect(disk.pieces.count).toBe(6);
  });
});

describe('seal refusals', () => {
  const one = () => path.join(dir, 'ev', 'one.bin');

  it('refuses to overwrite without --force, replaces with it', () => {
    const out = path.join(dir, 'exists.tar');
    fs.writeFileSync(out, 'precious');
    const r = runCli(['seal', one(), '--case', 'C1', '--out', out], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^custody: .*exists\.tar already exists/);
    expect(fs.readFileSync(out, 'utf8')).toBe('precious');
    const f = runCli(['seal', one(), '--case', 'C1', '--out', out, '--force'], { env: env() });
    expect(f.code, f.stderr).toBe(0);
    expect(fs.readFileSync(out).length).toBeGreaterThan(8);
  });

  it('a failure midway leaves nothing at --out and no temporary file', () => {
    const d = tempDir('custody-midway-');
    const out = path.join(d, 'b.tar');
    // /proc/self/status is a regular file that stats as 0 bytes but reads more: the tar writer refuses midway.
    const r = runCli(['seal', one(), '/proc/self/status', '--case', 'C1', '--out', out], { env: env() });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^custody: .*status/);
    expect(fs.readdirSync(d)).toEqual([]);
  });

  it('refuses symlinks and FIFOs inside an item, duplicate ids, bad case ids, missing paths', () => {
    const d = path.join(dir, 'bad-item');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'f'), 'x');
    fs.symlinkSync('/etc/passwd', path.join(d, 'link'));
    const out = path.join(dir, 'never.tar');
    const link = runCli(['seal', d, '--case', 'C1', '--out', out], { env: env() });
    expect(link.code).toBe(2);
    expect(link.stderr).toMatch(/symbolic links inside an item are refused/);
    fs.rmSync(path.join(d, 'link'));
    expect(sh(`mkfifo ${path.join(d, 'fifo')}`, d).code).toBe(0);
    const fifo = runCli(['seal', d, '--case', 'C1', '--out', out], { env: env() });
    expect(fifo.code).toBe(2);
    expect(fifo.stderr).toMatch(/only regular files and directories/);
    const dup = runCli(['seal', one(), one(), '--case', 'C1', '--out', out, '--item', 'a', '--item', 'A'], { env: env() });
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/given twice/);
    expect(runCli(['seal', one(), '--case', '../x', '--out', out], { env: env() }).code).toBe(2);
    const missing = runCli(['seal', path.join(dir, 'nope'), '--case', 'C1', '--out', out], { env: env() });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^custody: no such file/);
    expect(runCli(['seal', one(), '--case', 'C1', '--out', out, '--piece', '100'], { env: env() }).code).toBe(2);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('help has an example', () => {
    for (const cmd of ['seal', 'verify', 'extract']) {
      const h = runCli([cmd, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`Example:\\n\\s+\\$ custody ${cmd} `));
    }
  });
});
