/**
 * The header walk behind transfer, receive and log reads through a window
 * (src/bundle/tar-locate.ts) and is made once per command; key strength and
 * signatures are checked once per command (src/custody/ed25519.ts).
 *
 * The windowed walk must be the same walk as before, member for member and
 * refusal for refusal: it is compared with the old one-pread-per-header walk
 * (test/helpers/locate-reference.ts) on sealed bundles with pax names and
 * records, a bundle with a sparse member over 8 GiB (pax size), archives of
 * members of every size around the window thresholds, every hostile archive
 * of the security tests, and every cut of a bundle an interrupted append
 * may leave.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as ed from '@noble/ed25519';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readBundleChain } from '../src/bundle/chain-read.js';
import { buildNextRecord, checkBundleChain, transferBundle } from '../src/bundle/custody-ops.js';
import { BLOCK, END_OF_ARCHIVE, encodeHeader, paddingFor } from '../src/bundle/tar-header.js';
import { BlockReader, DENSE_WINDOW, JUMP, SEEK_WINDOW, locateEndOfData, type PositionedSource } from '../src/bundle/tar-locate.js';
import { checkChain, type ChainVerdict } from '../src/custody/chain.js';
import { parsePublicKeyFile, signerFromSeed, type Identity, type Signer } from '../src/custody/identity.js';
import { decryptKeyFile } from '../src/custody/keyfile.js';
import { makeRecord, partyFromIdentity } from '../src/custody/record.js';
import { bundleLog } from '../src/ops/log.js';
import { runCli, tempDir } from './helpers/cli.js';
import { HOSTILE_CASES, concat, member, pax } from './helpers/hostile-tar.js';
import { referenceLocate } from './helpers/locate-reference.js';

let dir: string;
let sealed: string;
let withRecords: string;
let alice: { signer: Signer; id: Identity; pub: string; key: string };
let bob: { signer: Signer; id: Identity; pub: string; key: string };

async function makeKey(name: string) {
  const r = runCli(['--home', path.join(dir, name), 'key', 'new', '--name', name, '--no-passphrase', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout);
  const { seed, identity } = await decryptKeyFile(new Uint8Array(fs.readFileSync(j.keyFile)), null, j.keyFile);
  return { signer: signerFromSeed(seed, identity), id: parsePublicKeyFile(fs.readFileSync(j.pubFile)), pub: j.pubFile as string, key: j.keyFile as string };
}

type Outcome = { ok: true; endOfData: number; members: unknown[] } | { ok: false; code: string; message: string };

async function outcome(run: () => Promise<{ endOfData: number; members: unknown[] }>): Promise<Outcome> {
  try {
    const r = await run();
    return { ok: true, endOfData: r.endOfData, members: r.members };
  } catch (e) {
    return { ok: false, code: (e as { code: string }).code, message: (e as Error).message };
  }
}

/** Both walks of `file` (or of its first `stopAt` bytes) come out the same: same members, same end, or the same refusal. */
async function expectSameWalk(file: string, stopAt?: number): Promise<Outcome> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const before = await outcome(() => referenceLocate(fh, size, stopAt));
    const now = await outcome(() => locateEndOfData(fh, size, { stopAt }));
    expect(now, `${path.basename(file)} stopAt ${stopAt}`).toEqual(before);
    return now;
  } finally {
    await fh.close();
  }
}

function writeFile(name: string, bytes: Uint8Array): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}

/** A copy of `src` with `count` members inserted before its first tag manifest; their data are holes of a sparse file. */
async function splice(src: string, out: string, sizes: number[], name = (i: number) => `sealed/data/ev/bulk/f${i}.bin`): Promise<void> {
  const bytes = fs.readFileSync(src);
  const fh = await fs.promises.open(src, 'r');
  const { members } = await locateEndOfData(fh, bytes.length).finally(() => fh.close());
  const split = members.find((m) => /^[^/]+\/manifest-/.test(m.name))!.dataOffset - BLOCK;
  const fd = fs.openSync(out, 'w');
  fs.writeSync(fd, bytes, 0, split, 0);
  let at = split;
  sizes.forEach((size, i) => {
    const h = encodeHeader({ name: name(i), type: 'file', size });
    fs.writeSync(fd, h, 0, h.length, at);
    at += h.length + size + paddingFor(size);
  });
  fs.writeSync(fd, bytes, split, bytes.length - split, at);
  fs.closeSync(fd);
}

beforeAll(async () => {
  dir = tempDir('custody-chain-walk-');
  alice = await makeKey('Alice');
  bob = await makeKey('Bob');
  // A non-ASCII name (a pax path record), a name over 100 bytes (pax too), several sizes.
  const ev = path.join(dir, 'ev');
  fs.mkdirSync(path.join(ev, 'Ordner ü'), { recursive: true });
  fs.writeFileSync(path.join(ev, 'Ordner ü', 'Bericht é.txt'), 'pax named\n');
  fs.writeFileSync(path.join(ev, `${'long-name-'.repeat(12)}.bin`), Buffer.alloc(70_000, 5));
  fs.writeFileSync(path.join(ev, 'small.bin'), Buffer.alloc(100, 1));
  sealed = path.join(dir, 'sealed.tar');
  const r = runCli(['--home', path.join(dir, 'Alice'), 'seal', ev, '--case', 'W-1', '--out', sealed, '--piece', '0']);
  expect(r.code, r.stderr).toBe(0);
  withRecords = path.join(dir, 'records.tar');
  fs.copyFileSync(sealed, withRecords);
  for (const args of [
    ['--home', path.join(dir, 'Alice'), 'transfer', withRecords, '--to', bob.pub, '--reason', 'walk test', '--key', alice.key],
    ['--home', path.join(dir, 'Bob'), 'receive', withRecords, '--trust', alice.pub, '--key', bob.key],
  ]) {
    const t = runCli(args);
    expect(t.code, t.stderr).toBe(0);
  }
}, 240_000);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the windowed header walk is the walk it replaced', () => {
  it('on sealed bundles with pax names, and with transfer and receive records', async () => {
    for (const f of [sealed, withRecords]) {
      const r = await expectSameWalk(f);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.members.length).toBeGreaterThan(10);
    }
    const names = ((await expectSameWalk(withRecords)) as { members: { name: string }[] }).members.map((m) => m.name);
    expect(names).toContain('sealed/data/ev/Ordner ü/Bericht é.txt');
    expect(names.slice(-3)).toEqual(['sealed/custody/chain/0000-seal.dsse.json', 'sealed/custody/chain/0001-transfer.dsse.json', 'sealed/custody/chain/0002-receive.dsse.json']);
  });

  it('on a bundle with sparse members of 9 GiB and 64 GiB (pax size records), which it seeks over', async () => {
    const huge = path.join(dir, 'huge.tar');
    await splice(withRecords, huge, [9 * 2 ** 30, 3, 64 * 2 ** 30 + 5]);
    const r = await expectSameWalk(huge);
    expect(r.ok).toBe(true);
    const fh = await fs.promises.open(huge, 'r');
    try {
      const counted = countingSource(fh);
      const reader = new BlockReader(counted, (await fh.stat()).size);
      await locateEndOfData(counted, (await fh.stat()).size, { reader });
      // Reading 73 GiB would take minutes: only windows at the headers are read.
      expect(counted.bytes).toBeLessThan(40 * DENSE_WINDOW);
    } finally {
      await fh.close();
    }
    fs.rmSync(huge);
  });

  it('on archives of members of every size around the window thresholds, with pax names and folders', async () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const pick = [0, 1, 511, 512, 513, SEEK_WINDOW - BLOCK - 1, SEEK_WINDOW, JUMP - 1, JUMP, JUMP + 1, DENSE_WINDOW - 1, DENSE_WINDOW + 700, 3 * DENSE_WINDOW];
    for (let round = 0; round < 6; round++) {
      const parts: Uint8Array[] = [member('top/', '', '5')];
      for (let i = 0; i < 120; i++) {
        const size = random() < 0.5 ? pick[Math.floor(random() * pick.length)]! : Math.floor(random() * 3 * JUMP);
        const data = new Uint8Array(size).fill(i & 0xff);
        if (i % 17 === 3) {
          const name = `top/n${i}/Prüfbericht-${i}-${'ä'.repeat(60)}.txt`;
          parts.push(pax([['path', name]]), member(name.replace(/[^\u0000-\u007f]/gu, '?').slice(0, 99), data));
        } else {
          parts.push(member(`top/d${i % 5}/f${i}.bin`, data));
        }
      }
      parts.push(END_OF_ARCHIVE, new Uint8Array(round * 4096));
      const r = await expectSameWalk(writeFile(`sizes-${round}.tar`, concat(...parts)));
      expect(r.ok, JSON.stringify(r).slice(0, 300)).toBe(true);
    }
  });

  it('refuses every hostile archive of the security tests with the same code and message', async () => {
    let refused = 0;
    for (const c of HOSTILE_CASES) {
      const r = await expectSameWalk(writeFile(`hostile-${c.id}.tar`, c.bytes()));
      if (!r.ok) refused++;
    }
    // Padding rules are the streaming reader's: the header walk does not read member data.
    expect(refused).toBeGreaterThan(HOSTILE_CASES.length - 6);
  });

  it('stops at every member boundary an interrupted append may record, and refuses any other offset the same way', async () => {
    const size = fs.statSync(withRecords).size;
    const fh = await fs.promises.open(withRecords, 'r');
    const { members, endOfData } = await referenceLocate(fh, size).finally(() => fh.close());
    const offsets = new Set<number>([0, endOfData, endOfData + BLOCK, size + BLOCK]);
    for (const m of members) for (const d of [-BLOCK, -1, 0, 1, m.size, m.size + paddingFor(m.size)]) offsets.add(Math.max(0, m.dataOffset + d));
    let stopped = 0;
    for (const at of offsets) if ((await expectSameWalk(withRecords, at)).ok) stopped++;
    expect(stopped).toBeGreaterThan(members.length / 2);
  });
});

interface Counting extends PositionedSource {
  reads: number;
  bytes: number;
}

function countingSource(fh: fs.promises.FileHandle): Counting {
  const c: Counting = {
    reads: 0,
    bytes: 0,
    readInto(into, length, position) {
      c.reads++;
      const n = fs.readSync(fh.fd, into, 0, length, position);
      c.bytes += n;
      return n;
    },
  };
  return c;
}

describe('the walk reads in blocks', () => {
  it('reads many small members a window at a time, and seeks over large ones', async () => {
    const small = writeFile('small-members.tar', concat(...Array.from({ length: 2000 }, (_, i) => member(`s/f${i}`, new Uint8Array(300).fill(1))), END_OF_ARCHIVE));
    const large = writeFile('large-members.tar', concat(...Array.from({ length: 60 }, (_, i) => member(`l/f${i}`, new Uint8Array(200_000).fill(2))), END_OF_ARCHIVE));
    for (const [f, count, maxReads, maxBytes] of [
      [small, 2000, Math.ceil(fs.statSync(small).size / DENSE_WINDOW) + 2, fs.statSync(small).size + DENSE_WINDOW],
      [large, 60, 60 + 3, 60 * DENSE_WINDOW],
    ] as const) {
      const fh = await fs.promises.open(f, 'r');
      try {
        const src = countingSource(fh);
        const r = await locateEndOfData(src, fs.statSync(f).size);
        expect(r.members).toHaveLength(count);
        expect(src.reads).toBeLessThanOrEqual(maxReads);
        expect(src.bytes).toBeLessThanOrEqual(maxBytes);
      } finally {
        await fh.close();
      }
    }
    // The old walk made one read per header: 2,000 for the small archive.
  });

  it('walks the headers once per transfer and once per log (the post-write check reads only what was appended)', async () => {
    const sizes = Array.from({ length: 400 }, (_, i) => JUMP + 1000 + ((i * 7919) % 30_000));
    for (const op of ['transfer', 'log'] as const) {
      const f = path.join(dir, `once-${op}.tar`);
      await splice(sealed, f, sizes);
      const before = await readBundleChain(f);
      const spy = vi.spyOn(fs, 'readSync');
      if (op === 'transfer') {
        await transferBundle(f, { signer: alice.signer, to: bob.id, reason: 'once' });
      } else {
        await bundleLog({ bundle: f, trusted: [] });
      }
      const below = spy.mock.calls.filter((c) => Number(c[4]) < before.endOfData).length;
      spy.mockRestore();
      // One read per payload header (they are JUMP bytes apart or more), a few for the tag files: a second walk would double it.
      expect(below).toBeGreaterThanOrEqual(sizes.length);
      expect(below).toBeLessThan(sizes.length + 40);
      if (op === 'transfer') expect((await readBundleChain(f)).envelopes).toHaveLength(2);
      fs.rmSync(f);
    }
  });
});

describe('keys and signatures are checked once per command', () => {
  /** A chain of `pairs` transfer/receive pairs between two fresh keys, built in memory. */
  function chainOf(pairs: number, a: Signer, b: Signer) {
    const bundleName = 'b';
    const bundleDigest = 'ab'.repeat(32);
    const at = new Date().toISOString();
    const envelopes: { member: string; bytes: Uint8Array }[] = [];
    const records: { payloadSha256: string }[] = [];
    const verdict = (): ChainVerdict => ({ records } as unknown as ChainVerdict);
    // The seal record: built by hand as seal does (seq 0, prev null).
    const seal = buildNextRecordSeal(a, bundleName, bundleDigest, at);
    envelopes.push({ member: seal.member, bytes: seal.envelope });
    records.push({ payloadSha256: seal.sha });
    let [from, to] = [a, b];
    for (let i = 0; i < pairs; i++) {
      for (const [s, action, fields] of [
        [from, 'transfer', { to: to.identity, reason: `r${i}` }],
        [to, 'receive', { condition: 'ok' }],
      ] as const) {
        const r = buildNextRecord(s, { bagName: bundleName, bundleDigest, verdict: verdict() }, action, at, fields);
        envelopes.push({ member: r.member, bytes: r.envelope });
        records.push({ payloadSha256: createSha(r.payload) });
      }
      [from, to] = [to, from];
    }
    return { bundleName, bundleDigest, envelopes, sealerPublicKey: a.identity.publicKey };
  }

  it('checks each key for small order once and each signature once, however often the chain is checked', () => {
    const torsion = vi.spyOn(ed.Point.prototype, 'isTorsionFree');
    const cofactor = vi.spyOn(ed.Point.prototype, 'clearCofactor');
    // Fresh keys: nothing about them is remembered yet.
    const a = signerFromSeed(randomBytes(32), { name: 'A' });
    const b = signerFromSeed(randomBytes(32), { name: 'B' });
    const c = chainOf(20, a, b);
    const input = { ...c, trusted: [], strictTrust: false, allowUntrusted: true };
    const first = checkChain(input);
    expect(first.ok, first.error?.message).toBe(true);
    expect(first.records).toHaveLength(41);
    // Two keys, each checked for subgroup membership once (when its identity was made), never per record.
    expect(torsion.mock.calls.length).toBe(2);
    const afterFirst = cofactor.mock.calls.length;
    // Every signature verified: noble clears the cofactor twice per verification.
    expect(afterFirst).toBeGreaterThanOrEqual(2 * 41);
    expect(afterFirst).toBeLessThanOrEqual(2 * 41 + 4);
    // receive checks the chain before and after verifying the bundle: the second pass verifies nothing again.
    const second = checkChain(input);
    expect(second.ok).toBe(true);
    expect(cofactor.mock.calls.length).toBe(afterFirst);
    expect(torsion.mock.calls.length).toBe(2);
  });

  it('still refuses a record whose signature was checked before under another key or message', () => {
    const a = signerFromSeed(randomBytes(32), { name: 'A' });
    const b = signerFromSeed(randomBytes(32), { name: 'B' });
    const c = chainOf(2, a, b);
    const input = { ...c, trusted: [], strictTrust: false, allowUntrusted: true };
    expect(checkChain(input).ok).toBe(true);
    // The same envelope bytes under another bundle digest: the remembered signature result must not carry over.
    const other = checkChain({ ...input, bundleDigest: 'cd'.repeat(32) });
    expect(other.ok).toBe(false);
    expect(other.rule).toBe('chain.subject');
    // A flipped payload byte: a new message, verified afresh, refused.
    const bytes = Uint8Array.from(c.envelopes[1]!.bytes);
    const text = Buffer.from(bytes).toString('utf8');
    const env = JSON.parse(text);
    const payload = Buffer.from(env.payload, 'base64');
    payload[payload.length - 3] ^= 1;
    env.payload = payload.toString('base64');
    const forged = { ...input, envelopes: [c.envelopes[0]!, { member: c.envelopes[1]!.member, bytes: new TextEncoder().encode(JSON.stringify(env)) }] };
    const v = checkChain(forged);
    expect(v.ok).toBe(false);
    expect(v.rule === 'chain.signature' || v.rule === 'chain.envelope').toBe(true);
  });

  it('transfer on a bundle with records still extends a chain it checks whole', async () => {
    const f = path.join(dir, 'extend.tar');
    fs.copyFileSync(withRecords, f);
    const v = checkBundleChain(await readBundleChain(f));
    expect(v.ok).toBe(true);
    expect(v.custodian?.keyid).toBe(bob.id.keyid);
    const r = await transferBundle(f, { signer: bob.signer, to: alice.id, reason: 'back' });
    expect(r.record.seq).toBe(3);
    expect(await expectSameWalk(f)).toMatchObject({ ok: true });
  });
});

function createSha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function buildNextRecordSeal(a: Signer, bundleName: string, bundleDigest: string, at: string) {
  const { payload, envelope } = makeRecord(a, { bundleName, bundleDigest, predicate: { seq: 0, prev: null, action: 'seal', at, by: partyFromIdentity(a.identity) } });
  return { member: 'custody/chain/0000-seal.dsse.json', envelope, sha: createSha(payload) };
}
