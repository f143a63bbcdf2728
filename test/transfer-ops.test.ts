/**
 * The library side of transfer (src/bundle/chain-read.ts, custody-ops.ts) on
 * real sealed bundles: the header-only read never touches the evidence (a
 * 500 GiB sparse member costs milliseconds), the tag files it relies on are
 * checked against the signed tagmanifest, and every refusal leaves the
 * bundle byte-identical.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBundleChain, walkHeaders } from '../src/bundle/chain-read.js';
import { checkBundleChain, nextRecordTime, transferBundle } from '../src/bundle/custody-ops.js';
import { BLOCK, encodeHeader, paddingFor } from '../src/bundle/tar-header.js';
import { parsePublicKeyFile, signerFromSeed, type Identity, type Signer } from '../src/custody/identity.js';
import { decryptKeyFile } from '../src/custody/keyfile.js';
import { runCli, tempDir } from './helpers/cli.js';

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let dir: string;
let sealed: string;
let alice: Signer;
let bob: Signer;
let bobId: Identity;

async function makeKey(name: string): Promise<{ signer: Signer; id: Identity; pub: string }> {
  const r = runCli(['--home', path.join(dir, name), 'key', 'new', '--name', name, '--no-passphrase', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout);
  const { seed, identity } = await decryptKeyFile(new Uint8Array(fs.readFileSync(j.keyFile)), null, j.keyFile);
  return { signer: signerFromSeed(seed, identity), id: parsePublicKeyFile(fs.readFileSync(j.pubFile)), pub: j.pubFile };
}

beforeAll(async () => {
  dir = tempDir('custody-transfer-ops-');
  const a = await makeKey('Alice');
  const b = await makeKey('Bob');
  alice = a.signer;
  bob = b.signer;
  bobId = b.id;
  fs.writeFileSync(path.join(dir, 'ev.bin'), Buffer.alloc(3000, 1));
  sealed = path.join(dir, 'sealed.tar');
  const r = runCli(['--home', path.join(dir, 'Alice'), 'seal', path.join(dir, 'ev.bin'), '--case', 'T-1', '--out', sealed, '--piece', '0']);
  expect(r.code, r.stderr).toBe(0);
}, 180_000);

let n = 0;
function copy(): string {
  const f = path.join(dir, `copy-${++n}.tar`);
  fs.copyFileSync(sealed, f);
  return f;
}

describe('readBundleChain', () => {
  it('reads the seal record, digest, case and end of data of a sealed bundle', async () => {
    const c = await readBundleChain(sealed);
    expect(c.bagName).toBe('sealed');
    expect(c.info.caseId).toBe('T-1');
    expect(c.envelopes.map((e) => e.member)).toEqual(['custody/chain/0000-seal.dsse.json']);
    expect(c.bundleDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.statSync(sealed).size - c.endOfData).toBeGreaterThanOrEqual(1024);
    const m = await c.manifest();
    expect(m.files.map((f) => f.path)).toEqual(['data/ev.bin/ev.bin']);
    const v = checkBundleChain(c);
    expect(v.ok).toBe(true);
    expect(v.custodian?.keyid).toBe(alice.identity.keyid);
  });

  it('walks a bundle with a 500 GiB member in milliseconds, and transfer appends to it in place', async () => {
    // The sealed bundle with a sparse 500 GiB payload member spliced in before the tag files: the
    // header walk must seek over it (reading it would take an hour).
    const src = fs.readFileSync(sealed);
    const fh = await fs.promises.open(sealed, 'r');
    const { members } = await walkHeaders(fh, src.length).finally(() => fh.close());
    const firstTag = members.find((m) => m.name.startsWith('sealed/manifest-'))!;
    const split = firstTag.dataOffset - BLOCK;
    const big = 500 * 2 ** 30;
    const huge = path.join(dir, 'huge.tar');
    const fd = fs.openSync(huge, 'w');
    fs.writeSync(fd, src, 0, split, 0);
    const header = encodeHeader({ name: 'sealed/data/ev.bin/huge.img', type: 'file', size: big });
    fs.writeSync(fd, header, 0, header.length, split);
    const after = split + header.length + big + paddingFor(big);
    fs.writeSync(fd, src, split, src.length - split, after);
    fs.closeSync(fd);
    expect(fs.statSync(huge).size).toBeGreaterThan(big);

    const t0 = performance.now();
    const c = await readBundleChain(huge);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(1000);
    expect(c.envelopes).toHaveLength(1);
    const t1 = performance.now();
    const r = await transferBundle(huge, { signer: alice, to: bobId, reason: 'big' });
    expect(performance.now() - t1).toBeLessThan(2000);
    expect(r.record.seq).toBe(1);
    const again = await readBundleChain(huge);
    expect(again.envelopes.map((e) => e.member)).toEqual(['custody/chain/0000-seal.dsse.json', 'custody/chain/0001-transfer.dsse.json']);
    expect(checkBundleChain(again).pendingTransfer?.to.keyid).toBe(bobId.keyid);
    fs.rmSync(huge);
  });

  it('refuses a sealer key or bag-info that the signed tagmanifest does not list', async () => {
    for (const [needle, replacement, code] of [
      ['-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA', '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEB', 'HASH_MISMATCH'],
      ['External-Identifier: T-1', 'External-Identifier: T-2', 'HASH_MISMATCH'],
    ] as const) {
      const f = copy();
      const bytes = fs.readFileSync(f);
      const at = bytes.indexOf(needle);
      expect(at).toBeGreaterThan(0);
      Buffer.from(replacement).copy(bytes, at);
      fs.writeFileSync(f, bytes);
      await expect(readBundleChain(f)).rejects.toMatchObject({ code });
      await expect(transferBundle(f, { signer: alice, to: bobId, reason: 'x' })).rejects.toMatchObject({ code });
    }
  });

  it('refuses a bundle with a member after the records', async () => {
    const f = copy();
    const { appendMembers } = await import('../src/bundle/tar-append.js');
    await appendMembers(f, [{ name: 'sealed/extra.txt', bytes: new Uint8Array([1]) }]);
    await expect(readBundleChain(f)).rejects.toMatchObject({ code: 'MALFORMED_BUNDLE', message: expect.stringMatching(/after the custody records/) });
  });

  it('refuses custody records over the total size cap before reading them all', async () => {
    const f = copy();
    const { appendMembers } = await import('../src/bundle/tar-append.js');
    const junk = new Uint8Array(1 << 20).fill(0x7b);
    const members = Array.from({ length: 70 }, (_, i) => ({ name: `sealed/custody/chain/${String(i + 1).padStart(4, '0')}-transfer.dsse.json`, bytes: junk }));
    await appendMembers(f, members);
    await expect(readBundleChain(f)).rejects.toMatchObject({ code: 'MALFORMED_BUNDLE', message: expect.stringMatching(/custody records are more than 67108864 bytes in all \(at custody\/chain\/0064-/) });
  });
});

describe('transferBundle refusals leave the bundle unchanged', () => {
  it('refuses a transfer to oneself, by a non-custodian, while one is pending, and with a clock behind the chain', async () => {
    const f = copy();
    const before = sha(f);
    await expect(transferBundle(f, { signer: alice, to: alice.identity, reason: 'x' })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(transferBundle(f, { signer: bob, to: alice.identity, reason: 'x' })).rejects.toMatchObject({ code: 'NOT_CUSTODIAN' });
    await expect(transferBundle(f, { signer: alice, to: bobId, reason: 'x', now: new Date('2001-01-01T00:00:00Z') })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/earlier than the last custody record/),
    });
    expect(sha(f)).toBe(before);
    await transferBundle(f, { signer: alice, to: bobId, reason: 'ok' });
    const pending = sha(f);
    await expect(transferBundle(f, { signer: alice, to: bobId, reason: 'twice' })).rejects.toMatchObject({ code: 'NOT_CUSTODIAN' });
    await expect(transferBundle(f, { signer: bob, to: alice.identity, reason: 'not received' })).rejects.toMatchObject({
      code: 'NOT_CUSTODIAN',
      hint: expect.stringMatching(/--receipt/),
    });
    expect(sha(f)).toBe(pending);
  });

  it('refuses to add to a broken chain (the exact chain error, exit 1 class)', async () => {
    const f = copy();
    await transferBundle(f, { signer: alice, to: bobId, reason: 'original' });
    const bytes = fs.readFileSync(f);
    const rec = bytes.lastIndexOf(Buffer.from('"payload":"'));
    bytes[rec + 20] = bytes[rec + 20] === 0x41 ? 0x42 : 0x41; // a payload byte of the transfer record
    fs.writeFileSync(f, bytes);
    const before = sha(f);
    await expect(transferBundle(f, { signer: bob, to: alice.identity, reason: 'x' })).rejects.toMatchObject({ code: 'SIGNATURE_ERROR' });
    expect(sha(f)).toBe(before);
  });

  it('nextRecordTime accepts equal times and refuses earlier ones', () => {
    const verdict = { records: [{ predicate: { at: '2026-01-01T00:00:00.000Z' } }] } as unknown as Parameters<typeof nextRecordTime>[0];
    expect(nextRecordTime(verdict, new Date('2026-01-01T00:00:00.000Z'))).toBe('2026-01-01T00:00:00.000Z');
    expect(() => nextRecordTime(verdict, new Date('2025-12-31T23:59:59.999Z'))).toThrow(/earlier than the last custody record/);
  });
});
