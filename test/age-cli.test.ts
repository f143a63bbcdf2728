/**
 * Encrypted hand-over end to end, against stock age (Debian's `age`): custody
 * encrypts in transfer and stock age opens it with the recipient's exported
 * OpenSSH key; stock age encrypts to the recipient's exported ssh public key
 * and custody verifies, receives, extracts and logs it. Every kind of damage
 * is refused with its own reason and exit code, and nothing is left behind.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, tempDir } from './helpers/cli.js';

const dir = tempDir('custody-age-cli-');
const env = { CUSTODY_HOME: path.join(dir, 'home') };
const at = (f: string) => path.join(dir, f);
const cli = (...args: string[]) => runCli(args, { env, cwd: dir });
const SEALED = 65536 + 16;

let bundleBytes: Buffer;
let ageBytes: Buffer;
let anaId: string;
let boId: string;

function headerLength(b: Buffer): number {
  const mac = b.indexOf('\n---');
  return b.indexOf('\n', mac + 1) + 1;
}

function writeVariant(name: string, bytes: Buffer): string {
  fs.writeFileSync(at(name), bytes);
  return at(name);
}

function flipped(b: Buffer, offset: number): Buffer {
  const c = Buffer.from(b);
  c[offset] = c[offset]! ^ 0x01;
  return c;
}

/** Files in `dir` other than those given, so a test can assert nothing new was written. */
function newFiles(before: string[]): string[] {
  return fs.readdirSync(dir).filter((f) => !before.includes(f));
}

beforeAll(() => {
  expect(cli('key', 'new', '--name', 'Ana Sender', '--no-passphrase', '--out', at('ana')).code).toBe(0);
  expect(cli('key', 'new', '--name', 'Bo Recipient', '--no-passphrase', '--out', at('bo')).code).toBe(0);
  anaId = JSON.parse(cli('--json', 'key', 'show', at('ana.pub')).stdout).key.keyid;
  boId = JSON.parse(cli('--json', 'key', 'show', at('bo.pub')).stdout).key.keyid;
  fs.mkdirSync(at('ev'));
  // 300 KiB of evidence: the bundle spans several 64 KiB STREAM chunks.
  fs.writeFileSync(at('ev/disk.img'), Buffer.alloc(300 * 1024).map((_, i) => (i * 7919) & 0xff));
  expect(cli('seal', at('ev'), '--out', at('b.tar'), '--case', 'AGE-1', '--key', at('ana.key')).code).toBe(0);
  const t = cli('transfer', at('b.tar'), '--to', at('bo.pub'), '--reason', 'MLA 2026/117', '--key', at('ana.key'), '--encrypt');
  expect(t.code, t.stderr).toBe(0);
  expect(t.stdout).toMatch(/encrypted\s+.*b\.tar\.age/);
  bundleBytes = fs.readFileSync(at('b.tar'));
  ageBytes = fs.readFileSync(at('b.tar.age'));
  expect(cli('key', 'export', at('bo.key'), '--format', 'ssh-private', '--no-passphrase', '--out', at('bo_ed25519')).code).toBe(0);
  fs.writeFileSync(at('bo.ssh.pub'), cli('key', 'export', at('bo.pub'), '--format', 'ssh').stdout);
});

describe('custody transfer --encrypt → stock age', () => {
  it('writes an age file that stock age -d -i <exported OpenSSH key> decrypts to the transferred bundle, byte for byte', () => {
    expect(ageBytes.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(ageBytes.toString('latin1', 0, headerLength(ageBytes))).toMatch(/^-> ssh-ed25519 /m);
    const out = execFileSync('age', ['-d', '-i', at('bo_ed25519'), at('b.tar.age')], { maxBuffer: 1 << 26 });
    expect(out.equals(bundleBytes)).toBe(true);
  });

  it('also encrypts to every --encrypt-to (an age1 key here), and refuses an existing --out before appending anything', () => {
    execFileSync('age-keygen', ['-o', at('mine-age.key')], { stdio: 'ignore' });
    const mine = execFileSync('age-keygen', ['-y', at('mine-age.key')], { encoding: 'utf8' }).trim();
    fs.copyFileSync(at('b.tar'), at('c.tar'));
    const before = fs.readFileSync(at('c.tar'));
    fs.writeFileSync(at('taken.age'), 'x');
    const refused = cli('transfer', at('c.tar'), '--to', at('bo.pub'), '--reason', 'r', '--key', at('ana.key'), '--encrypt', '--out', at('taken.age'));
    expect(refused.code).toBe(2);
    expect(fs.readFileSync(at('c.tar')).equals(before)).toBe(true);
    // c.tar is already in transit to Bo: the second transfer is refused and no .age appears.
    const again = cli('transfer', at('c.tar'), '--to', at('bo.pub'), '--reason', 'r', '--key', at('ana.key'), '--encrypt', '--encrypt-to', mine);
    expect(again.code).toBe(2); // in transit already: nothing is written
    expect(fs.existsSync(at('c.tar.age'))).toBe(false);
    fs.mkdirSync(at('ev2'));
    fs.writeFileSync(at('ev2/f.bin'), 'second');
    expect(cli('seal', at('ev2'), '--out', at('d.tar'), '--case', 'AGE-2', '--key', at('ana.key')).code).toBe(0);
    const ok = cli('transfer', at('d.tar'), '--to', at('bo.pub'), '--reason', 'r', '--key', at('ana.key'), '--encrypt', '--encrypt-to', mine, '--out', at('d.age'));
    expect(ok.code, ok.stderr).toBe(0);
    const viaAgeKey = execFileSync('age', ['-d', '-i', at('mine-age.key'), at('d.age')], { maxBuffer: 1 << 26 });
    expect(viaAgeKey.equals(fs.readFileSync(at('d.tar')))).toBe(true);
    const viaSsh = execFileSync('age', ['-d', '-i', at('bo_ed25519'), at('d.age')], { maxBuffer: 1 << 26 });
    expect(viaSsh.equals(fs.readFileSync(at('d.tar')))).toBe(true);
    // custody opens it with the age identity file too (told from a custody .key by its content).
    expect(cli('verify', at('d.age'), '--key', at('mine-age.key'), '--trust', at('ana.pub')).code).toBe(0);
  });
});

describe('stock age → custody', () => {
  it('verifies, logs, extracts and receives a bundle stock age encrypted to the exported ssh public key', () => {
    execFileSync('age', ['-R', at('bo.ssh.pub'), '-o', at('s.tar.age'), at('b.tar')]);
    const v = cli('verify', at('s.tar.age'), '--key', at('bo.key'), '--trust', at('ana.pub'));
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/VERIFIED/);
    expect(v.stdout).toMatch(new RegExp(`decryption: .*opened with ${boId}`));
    const log = cli('log', at('s.tar.age'), '--key', at('bo.key'));
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toMatch(/transfer .*Ana Sender → Bo Recipient/);
    const x = cli('extract', at('s.tar.age'), '--key', at('bo.key'), '--trust', at('ana.pub'), '--into', at('x'));
    expect(x.code, x.stderr).toBe(0);
    expect(fs.readFileSync(at('x/data/ev/disk.img')).equals(fs.readFileSync(at('ev/disk.img')))).toBe(true);
    const r = cli('receive', at('s.tar.age'), '--key', at('bo.key'), '--trust', at('ana.pub'), '--out', at('received.tar'));
    expect(r.code, r.stderr).toBe(0);
    const rv = cli('--json', 'verify', at('received.tar'), '--trust', at('ana.pub'));
    expect(rv.code).toBe(0);
    const chain = JSON.parse(rv.stdout).verdict.chain;
    expect(chain.records.map((c: { action: string }) => c.action)).toEqual(['seal', 'transfer', 'receive']);
    expect(chain.custodian.keyid).toBe(boId);
    // The received bundle is the transferred one plus the record: its first bytes are unchanged.
    expect(fs.readFileSync(at('received.tar')).subarray(0, bundleBytes.length - 1024).equals(bundleBytes.subarray(0, bundleBytes.length - 1024))).toBe(true);
  });
});

describe('an encrypted bundle on stdin', () => {
  it("is told from a plain one by its first line and verified while it streams in ('-')", () => {
    const enc = runCli(['verify', '-', '--key', at('bo.key'), '--trust', at('ana.pub')], { env, cwd: dir, input: ageBytes });
    expect(enc.code, enc.stderr).toBe(0);
    expect(enc.stdout).toMatch(/decryption: age-encrypted/);
    const plain = runCli(['verify', '-', '--trust', at('ana.pub')], { env, cwd: dir, input: bundleBytes });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).not.toMatch(/decryption/);
  });
});

describe('an encrypted bundle that must be refused', () => {
  it('refuses the wrong key with exit 2 "not encrypted to <key id>", writing nothing', () => {
    const before = fs.readdirSync(dir);
    const v = cli('verify', at('b.tar.age'), '--key', at('ana.key'), '--trust', at('ana.pub'));
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(new RegExp(`custody: not encrypted to ${anaId}`));
    const r = cli('receive', at('b.tar.age'), '--key', at('ana.key'), '--trust', at('ana.pub'), '--out', at('wrong.tar'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not encrypted to/);
    expect(newFiles(before)).toEqual([]);
  });

  const cases: { name: string; make: () => Buffer; reason: RegExp }[] = [
    {
      name: 'a changed byte in the header (its MAC)',
      make: () => {
        // The MAC's first base64 character, changed to another (still canonical) one.
        const c = Buffer.from(ageBytes);
        const at = c.indexOf('\n--- ') + 5;
        c[at] = c[at] === 0x41 ? 0x42 : 0x41;
        return c;
      },
      reason: /age header MAC does not verify: the header was changed/,
    },
    {
      name: 'a changed byte in the header (the recipient stanza)',
      make: () => {
        const c = Buffer.from(ageBytes);
        const at = c.indexOf('\n', c.indexOf('-> ssh-ed25519')) + 3; // inside the wrapped file key
        c[at] = c[at] === 0x41 ? 0x42 : 0x41;
        return c;
      },
      reason: /age header: (the ssh-ed25519 stanza for .* does not decrypt|.*not canonical base64)/,
    },
    { name: 'a changed byte in the first chunk', make: () => flipped(ageBytes, headerLength(ageBytes) + 16 + 100), reason: /age payload: chunk 1 \(.*does not authenticate/ },
    {
      name: 'a changed byte in the last chunk',
      make: () => flipped(ageBytes, ageBytes.length - 5),
      reason: /age payload: chunk \d+ .*does not authenticate/,
    },
    {
      name: 'a file truncated at a chunk boundary',
      make: () => ageBytes.subarray(0, headerLength(ageBytes) + 16 + 2 * SEALED),
      reason: /age payload: chunk 3 .*is missing: the file is truncated/,
    },
    { name: 'a file truncated inside a chunk', make: () => ageBytes.subarray(0, ageBytes.length - 1000), reason: /age payload: chunk \d+ .*changed or cut short/ },
  ];

  for (const c of cases) {
    it(`refuses ${c.name} with exit 1 and its own reason, and verify, extract and receive leave nothing`, () => {
      const bad = writeVariant(`bad-${c.name.replace(/\W+/g, '-')}.age`, c.make());
      const before = fs.readdirSync(dir);
      const v = cli('verify', bad, '--key', at('bo.key'), '--trust', at('ana.pub'));
      expect(v.code, v.stderr).toBe(1);
      expect(v.stderr).toMatch(c.reason);
      expect(v.stdout).not.toMatch(/^VERIFIED/m);
      const x = cli('extract', bad, '--key', at('bo.key'), '--trust', at('ana.pub'), '--into', at('bad-x'));
      expect(x.code).toBe(1);
      const r = cli('receive', bad, '--key', at('bo.key'), '--trust', at('ana.pub'), '--out', at('bad-r.tar'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(c.reason);
      expect(newFiles(before)).toEqual([]);
    });
  }

  it('names the last chunk by its number', () => {
    const payload = ageBytes.length - headerLength(ageBytes) - 16;
    const chunks = Math.ceil(payload / SEALED);
    const bad = writeVariant('bad-last-n.age', flipped(ageBytes, ageBytes.length - 5));
    const v = cli('verify', bad, '--key', at('bo.key'), '--trust', at('ana.pub'));
    expect(chunks).toBeGreaterThan(3);
    expect(v.stderr).toMatch(new RegExp(`chunk ${chunks} `));
  });

  it('tells a plain bundle from an encrypted one by content: receive --out is only for an encrypted bundle', () => {
    const r = cli('receive', at('b.tar'), '--key', at('bo.key'), '--out', at('nope.tar'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out is for an encrypted bundle/);
    const noOut = cli('receive', at('b.tar.age'), '--key', at('bo.key'), '--trust', at('ana.pub'));
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toMatch(/give --out/);
  });
});

describe('receive of an encrypted bundle interrupted', () => {
  it('leaves no decrypted copy behind when stopped by SIGINT or SIGTERM while it decrypts', async () => {
    const sub = path.join(dir, 'int');
    fs.mkdirSync(path.join(sub, 'ev'), { recursive: true });
    const block = Buffer.alloc(1 << 20);
    const fd = fs.openSync(path.join(sub, 'ev', 'image.raw'), 'w');
    for (let i = 0; i < 48; i++) fs.writeSync(fd, block.fill(i));
    fs.closeSync(fd);
    expect(cli('seal', path.join(sub, 'ev'), '--out', path.join(sub, 'i.tar'), '--case', 'INT-1', '--key', at('ana.key')).code).toBe(0);
    expect(cli('transfer', path.join(sub, 'i.tar'), '--to', at('bo.pub'), '--reason', 'r', '--key', at('ana.key'), '--encrypt').code).toBe(0);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const before = fs.readdirSync(sub);
      const child = spawn(process.execPath, [BIN, 'receive', path.join(sub, 'i.tar.age'), '--key', at('bo.key'), '--trust', at('ana.pub'), '--out', path.join(sub, 'got.tar')], {
        env: { ...process.env, ...env, NO_COLOR: '1' },
        stdio: 'ignore',
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
      // Wait until the decrypted copy is being written, then interrupt.
      for (let i = 0; i < 400 && !fs.readdirSync(sub).some((f) => f.includes('.receive-')); i++) await new Promise((r) => setTimeout(r, 10));
      child.kill(signal);
      const r = await exited;
      expect(r.signal ?? r.code).not.toBe(0);
      expect(fs.readdirSync(sub).filter((f) => !before.includes(f))).toEqual([]);
    }
  });
});

describe.runIf(process.env.CUSTODY_BIG_TESTS === '1')('100 MiB round trips with stock age', () => {
  it('custody → age and age → custody, byte for byte, on a 100 MiB bundle', () => {
    fs.mkdirSync(at('big'));
    const fd = fs.openSync(at('big/image.raw'), 'w');
    const block = Buffer.alloc(1 << 20);
    for (let i = 0; i < 100; i++) {
      block.fill(i);
      block.writeUInt32BE(i * 2654435761 >>> 0, 0);
      fs.writeSync(fd, block);
    }
    fs.closeSync(fd);
    expect(cli('seal', at('big'), '--out', at('big.tar'), '--case', 'BIG-1', '--key', at('ana.key')).code).toBe(0);
    const t = cli('transfer', at('big.tar'), '--to', at('bo.pub'), '--reason', 'big', '--key', at('ana.key'), '--encrypt');
    expect(t.code, t.stderr).toBe(0);
    const dec = spawnSync('sh', ['-c', `age -d -i "${at('bo_ed25519')}" "${at('big.tar.age')}" | cmp - "${at('big.tar')}"`]);
    expect(dec.status, String(dec.stderr)).toBe(0);
    execFileSync('age', ['-R', at('bo.ssh.pub'), '-o', at('big2.tar.age'), at('big.tar')]);
    const v = cli('verify', at('big2.tar.age'), '--key', at('bo.key'), '--trust', at('ana.pub'), '--full');
    expect(v.code, v.stderr).toBe(0);
    const r = cli('receive', at('big2.tar.age'), '--key', at('bo.key'), '--trust', at('ana.pub'), '--out', at('big-received.tar'));
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(at('big-received.tar')).subarray(0, 100 << 20).equals(fs.readFileSync(at('big.tar')).subarray(0, 100 << 20))).toBe(true);
  });
});
