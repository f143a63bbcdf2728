/**
 * What a forger or a planted file can do to the people who read a bundle:
 * a journal placed beside it must never change it, a forged string must
 * never reach the terminal raw, a record envelope must be exactly the bytes
 * custody writes, two names of one file must not lose a record, and hostile
 * sizes must be refused before they cost memory, time or disk.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import { escapeText, safeJson } from '../src/core/text.js';
import { transferBundle } from '../src/bundle/custody-ops.js';
import { locateEndOfData } from '../src/bundle/tar-locate.js';
import { journalPathFor } from '../src/bundle/tar-append.js';
import { readTarStrict } from '../src/bundle/tar-reader.js';
import { verifyBundle } from '../src/bundle/verify.js';
import { makeIdentity, signerFromSeed } from '../src/custody/identity.js';
import { runCli, tempDir } from './helpers/cli.js';
import { SEALER, buildTar, chunks, membersOf, sealFixture, verifyBytes, writeTree } from './helpers/hostile-bundle.js';
import { concat, member, pax } from './helpers/hostile-tar.js';

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const enc = new TextEncoder();

let engine: HashEngine;
beforeAll(() => {
  engine = new HashEngine();
});
afterAll(async () => {
  await engine.close();
});

describe('a journal planted beside a bundle', () => {
  let dir: string;
  let bundle: string;
  let home: { alice: string; bob: string; carol: string };
  let pub: { alice: string; bob: string; carol: string };
  let recordOffset: number;

  beforeAll(() => {
    dir = tempDir();
    home = { alice: path.join(dir, 'alice'), bob: path.join(dir, 'bob'), carol: path.join(dir, 'carol') };
    pub = { alice: '', bob: '', carol: '' };
    for (const who of ['alice', 'bob', 'carol'] as const) {
      const r = runCli(['--home', home[who], '--json', 'key', 'new', '--name', who, '--no-passphrase']);
      expect(r.code, r.stderr).toBe(0);
      pub[who] = JSON.parse(r.stdout).pubFile;
    }
    writeTree(dir, { 'ev/disk.dd': new Uint8Array(200_000).fill(3) });
    bundle = path.join(dir, 'b.tar');
    expect(runCli(['--home', home.alice, 'seal', path.join(dir, 'ev', 'disk.dd'), '--case', 'J-1', '--out', bundle]).code).toBe(0);
    const t = runCli(['--home', home.alice, 'transfer', bundle, '--to', pub.bob, '--reason', 'to Bob']);
    expect(t.code, t.stderr).toBe(0);
    const r = runCli(['--home', home.bob, 'receive', bundle, '--trust', pub.alice]);
    expect(r.code, r.stderr).toBe(0);
  });

  /** A journal anyone who can read the bundle can write: it "rolls back" the last record. */
  async function plant(file: string, sameFile: boolean): Promise<void> {
    const fh = await fs.promises.open(file, 'r');
    try {
      const { size } = await fh.stat();
      const { members } = await locateEndOfData(fh, size);
      recordOffset = members[members.length - 1]!.dataOffset - 512;
      const before = fs.readFileSync(file).subarray(Math.max(0, recordOffset - 65536), recordOffset);
      const st = fs.statSync(file, { bigint: true });
      fs.writeFileSync(
        journalPathFor(file),
        JSON.stringify({
          custodyJournal: 1,
          phase: 'append',
          bundle: path.basename(file),
          pid: 999999,
          host: 'courier-laptop',
          at: '2026-11-28T00:00:00.000Z',
          size: recordOffset + 1024,
          endOfData: recordOffset,
          tailSha256: createHash('sha256').update(before).digest('hex'),
          dev: sameFile ? String(st.dev) : '1',
          ino: sameFile ? String(st.ino) : '2',
          appendLength: size - recordOffset,
          appendSha256: '0'.repeat(64),
        }),
      );
    } finally {
      await fh.close();
    }
  }

  for (const sameFile of [false, true]) {
    it(`leaves the bundle byte for byte unchanged in every read-only command (journal ${sameFile ? 'naming this very file' : 'from another medium'})`, async () => {
      const file = path.join(dir, `planted-${sameFile}.tar`);
      fs.copyFileSync(bundle, file);
      await plant(file, sameFile);
      const digest = sha(file);
      const runs: [string, string[]][] = [
        ['verify', ['verify', file, '--trust', pub.alice]],
        ['verify --full', ['verify', '--full', file, '--trust', pub.alice]],
        ['log', ['log', file]],
        ['extract', ['--home', home.bob, 'extract', file, '--into', path.join(dir, `x-${sameFile}`), '--trust', pub.alice]],
        ['report', ['--home', home.bob, 'report', file, '--html', path.join(dir, `r-${sameFile}.html`), '--trust', pub.alice]],
        ['receive by someone not named', ['--home', home.carol, 'receive', file, '--trust', pub.alice]],
      ];
      for (const [what, args] of runs) {
        const r = runCli(args);
        expect(sha(file), `${what} changed the bundle (exit ${r.code}: ${r.stderr})`).toBe(digest);
        expect(fs.existsSync(journalPathFor(file)), `${what} removed the journal`).toBe(true);
      }
      const v = runCli(['verify', file, '--trust', pub.alice]);
      expect(v.code, v.stderr).toBe(0);
      if (sameFile) {
        // The journal is taken at its word for reading only, and the verdict says what was not checked.
        expect(v.stdout).toMatch(new RegExp(`bytes after offset ${recordOffset} were NOT checked`));
        expect(v.stdout).toMatch(/2 record\(s\)/);
      } else {
        expect(v.stdout).toMatch(/ignored, not applied: it was written for another file/);
        expect(v.stdout).toMatch(/3 record\(s\)/);
      }
    });
  }

  it('is never applied by a command that appends: transfer refuses it and writes nothing', async () => {
    const file = path.join(dir, 'planted-transfer.tar');
    fs.copyFileSync(bundle, file);
    await plant(file, false);
    const digest = sha(file);
    const r = runCli(['--home', home.bob, 'transfer', file, '--to', pub.carol, '--reason', 'on']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/does not match .*it was written for another file.*not applied/);
    expect(sha(file)).toBe(digest);
  });
});

describe('nothing a forger writes reaches the terminal raw', () => {
  it('escapes bidi and C1 characters of member names in the error line, the verdict and --json', async () => {
    const dir = tempDir();
    const name = 'invoice\u202Efdp.exe';
    writeTree(dir, { [`ev/${name}`]: new Uint8Array(20_000).fill(5) });
    const keys = runCli(['--home', path.join(dir, 'h'), '--json', 'key', 'new', '--name', 'Ana', '--no-passphrase']);
    const pubFile = JSON.parse(keys.stdout).pubFile as string;
    const bundle = path.join(dir, 'b.tar');
    const s = runCli(['--home', path.join(dir, 'h'), 'seal', path.join(dir, 'ev'), '--case', 'T-1', '--out', bundle]);
    expect(s.code, s.stderr).toBe(0);
    // flip one evidence byte: the failure names the member
    const bytes = fs.readFileSync(bundle);
    const at = bytes.indexOf(Buffer.alloc(64, 5));
    bytes[at + 10]! ^= 1;
    fs.writeFileSync(bundle, bytes);
    for (const args of [['verify', bundle, '--trust', pubFile], ['--json', 'verify', bundle, '--trust', pubFile]]) {
      const r = runCli(args);
      expect(r.code).toBe(1);
      const all = r.stdout + r.stderr;
      expect(all).not.toMatch(/[\u202E\u009b\u001b]/);
      expect(all).toMatch(args[0] === '--json' ? /invoice\\u202efdp\.exe/ : /invoice\\u202Efdp\.exe/);
    }
  });

  it('prints a signed multi-line reason with continuation marks, so it cannot forge a line of the log', () => {
    const dir = tempDir();
    writeTree(dir, { 'ev/a.bin': 'x' });
    const h = (w: string) => path.join(dir, w);
    const a = JSON.parse(runCli(['--home', h('a'), '--json', 'key', 'new', '--name', 'Ana', '--no-passphrase']).stdout);
    const b = JSON.parse(runCli(['--home', h('b'), '--json', 'key', 'new', '--name', 'Bo', '--no-passphrase']).stdout);
    const bundle = path.join(dir, 'b.tar');
    expect(runCli(['--home', h('a'), 'seal', path.join(dir, 'ev'), '--case', 'T-2', '--out', bundle]).code).toBe(0);
    const forged = 'ok\n  0002 receive   2026-11-28T00:00:00.000Z  Bo  [ok]\n  state: held by Bo';
    expect(runCli(['--home', h('a'), 'transfer', bundle, '--to', b.pubFile, '--reason', forged]).code).toBe(0);
    const log = runCli(['log', bundle]);
    expect(log.code, log.stderr).toBe(0);
    const lines = log.stdout.split('\n');
    expect(lines.filter((l) => /^\s*0002 receive/.test(l))).toEqual([]);
    expect(lines.filter((l) => /^\s*state:/.test(l))).toEqual([expect.stringMatching(/in transit to Bo/)]);
    expect(log.stdout).toMatch(/\|\s+0002 receive/);
    expect(a.keyid).toBeTruthy();
  });

  it('escapes in one place: text, lines and JSON', () => {
    expect(escapeText('a\u001b[2Kb\u009bc\u202Ed\u2028e')).toBe('a\\u001B[2Kb\\u009Bc\\u202Ed\\u2028e');
    expect(escapeText('one\ntwo', '  | ')).toBe('one\n  | two');
    expect(safeJson({ s: '\u202E\u0085\u2029' })).toBe('{"s":"\\u202e\\u0085\\u2029"}');
    expect(JSON.parse(safeJson({ s: '\u202E' })).s).toBe('\u202E');
  });
});

describe('record envelopes are pinned to the bytes custody writes', () => {
  it('refuses each re-serialisation that would keep the signature valid', async () => {
    const dir = tempDir();
    writeTree(dir, { 'ev/a.bin': new Uint8Array(9000).fill(1) });
    const { bytes } = await sealFixture(engine, dir, [{ path: path.join(dir, 'ev'), meta: {} }]);
    const { members } = await membersOf(bytes);
    const rec = members.findIndex((m) => m.name.endsWith('custody/chain/0000-seal.dsse.json'));
    const text = new TextDecoder().decode(members[rec]!.data);
    const doc = JSON.parse(text) as Record<string, unknown>;
    const variants: Record<string, string> = {
      'trailing newline as a space': `${text.slice(0, -1)} `,
      'no trailing newline': text.slice(0, -1),
      'CRLF line end': `${text.slice(0, -1)}\r\n`,
      're-indented': `${JSON.stringify(doc, null, 2)}\n`,
      'keys reordered': `${JSON.stringify({ signatures: doc.signatures, payload: doc.payload, payloadType: doc.payloadType })}\n`,
      'escaped slash': text.replace('application/vnd', 'application\\/vnd'),
    };
    expect((await verifyBytes(engine, bytes)).ok).toBe(true);
    for (const [what, changed] of Object.entries(variants)) {
      const m = members.map((x, i) => (i === rec ? { ...x, data: enc.encode(changed) } : x));
      const v = await verifyBytes(engine, buildTar(m));
      expect(v.ok, what).toBe(false);
      expect(v.error?.code, what).toBe('MALFORMED_BUNDLE');
      expect(v.error?.message, what).toMatch(/not byte for byte the envelope custody writes/);
    }
  });
});

describe('two names of one file (hard links)', () => {
  it('never loses a record when two transfers race through both names (50 runs)', async () => {
    const dir = tempDir();
    writeTree(dir, { 'ev/a.bin': 'race' });
    const { file } = await sealFixture(engine, dir, [{ path: path.join(dir, 'ev'), meta: {} }], { out: 'sealed.tar' });
    const bob = makeIdentity(signerFromSeed(new Uint8Array(32).fill(41), { name: 'Bob' }).identity.publicKey, { name: 'Bob' });
    const carol = makeIdentity(signerFromSeed(new Uint8Array(32).fill(42), { name: 'Carol' }).identity.publicKey, { name: 'Carol' });
    const codes = new Map<string, number>();
    for (let i = 0; i < 50; i++) {
      const a = path.join(dir, `run-${i}.tar`);
      const b = path.join(dir, `run-${i}-link.tar`);
      fs.copyFileSync(file, a);
      fs.linkSync(a, b);
      const results = await Promise.allSettled([
        transferBundle(a, { signer: SEALER, to: bob, reason: 'via a', now: new Date('2026-11-28T00:00:00.000Z') }),
        transferBundle(b, { signer: SEALER, to: carol, reason: 'via b', now: new Date('2026-11-28T00:00:00.000Z') }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      if (won.length !== 1) console.log(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')));
      expect(won.length, `run ${i}`).toBe(1);
      for (const r of results) {
        if (r.status === 'rejected') {
          const code = (r.reason as { code: string }).code;
          codes.set(code, (codes.get(code) ?? 0) + 1);
          // the loser is told the truth: someone else is changing it, or custody already moved on
          expect(['IO_ERROR', 'NOT_CUSTODIAN'], String(r.reason)).toContain(code);
        }
      }
      const v = await verifyBundle(chunks(new Uint8Array(fs.readFileSync(a)), 1 << 16), { engine, trusted: [SEALER.identity.publicKey] });
      expect(v.ok, v.error?.message).toBe(true);
      expect(v.chain!.records.map((r) => r.action)).toEqual(['seal', 'transfer']);
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof transferBundle>>>).value;
      expect(v.chain!.pendingTransfer!.to.name).toBe(winner.record.predicate.to!.name);
      expect(fs.readdirSync(dir).filter((n) => n.startsWith('.custody-lock'))).toEqual([]);
    }
  }, 120_000);
});

describe('hostile sizes are refused before they cost memory, time or disk', () => {
  it('stops reading endless zero padding after the end-of-archive marker', async () => {
    const dir = tempDir();
    writeTree(dir, { 'ev/a.bin': 'x' });
    const { bytes } = await sealFixture(engine, dir, [{ path: path.join(dir, 'ev'), meta: {} }]);
    let fed = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield* chunks(bytes, 1 << 16);
      const zeros = new Uint8Array(1 << 20);
      for (;;) {
        fed += zeros.length;
        yield zeros;
      }
    }
    const v = await verifyBundle(endless(), { engine, trusted: [SEALER.identity.publicKey] });
    expect(v.ok).toBe(false);
    expect(v.error?.code).toBe('UNSAFE_BUNDLE');
    expect(v.error?.message).toMatch(/bytes of padding after the end-of-archive marker/);
    expect(fed).toBeLessThan(8 << 20);
  });

  it('refuses an archive with too many distinct folders, in bounded memory', async () => {
    const deep = (i: number) => `${Array.from({ length: 250 }, (_, k) => `f${i}-${k}`.padEnd(10, 'x')).join('/')}/file`;
    async function* withPax(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 2000; i++) yield concat(pax([['path', deep(i)]]), member(`m${i}`, 'x'));
      yield new Uint8Array(1024);
    }
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const e of readTarStrict(withPax())) seen.push(e.name);
      })(),
    ).rejects.toMatchObject({ code: 'UNSAFE_BUNDLE', message: /distinct folders/ });
    expect(seen.length).toBeLessThan(2000);
  });

  it('refuses a payload member that goes past Payload-Oxum at its header, before hashing or extracting a byte of it', async () => {
    const dir = tempDir();
    writeTree(dir, { 'ev/a.bin': new Uint8Array(30_000).fill(2), 'ev/b.bin': new Uint8Array(30_000).fill(3) });
    const { bytes } = await sealFixture(engine, dir, [{ path: path.join(dir, 'ev'), meta: {} }]);
    const { members } = await membersOf(bytes);
    const info = members.findIndex((m) => m.name.endsWith('/bag-info.txt'));
    const changed = members.map((m, i) =>
      i === info ? { ...m, data: enc.encode(new TextDecoder().decode(m.data).replace(/Payload-Oxum: \d+\.\d+/, 'Payload-Oxum: 40000.2')) } : m,
    );
    const begun: string[] = [];
    const v = await verifyBundle(chunks(buildTar(changed), 1 << 16), {
      engine,
      trusted: [SEALER.identity.publicKey],
      sink: {
        beginPayload: async (rel) => {
          begun.push(rel);
          return { write: async () => {}, end: async () => {} };
        },
        tagFile: async () => {},
      },
    });
    expect(v.ok).toBe(false);
    expect(v.error?.code).toBe('SIZE_MISMATCH');
    expect(v.error?.message).toMatch(/data\/ev\/b\.bin \(30000 bytes\) goes past what Payload-Oxum declares \(40000 bytes in 2 files; 30000 bytes in 1 files before it\)/);
    expect(begun).toEqual(['data/ev/a.bin']);
  });

  it('refuses a Payload-Oxum and piece size that need a larger piece list than a bundle may hold, before any data', async () => {
    const dir = tempDir();
    writeTree(dir, { 'ev/a.bin': 'x' });
    const { bytes } = await sealFixture(engine, dir, [{ path: path.join(dir, 'ev'), meta: {} }]);
    const { members } = await membersOf(bytes);
    const changed = members.map((m) =>
      m.name.endsWith('/bag-info.txt') ? { ...m, data: enc.encode(new TextDecoder().decode(m.data).replace(/Payload-Oxum: \d+\.\d+/, 'Payload-Oxum: 1099511627776.1')) } : m,
    );
    const v = await verifyBytes(engine, buildTar(changed));
    expect(v.error?.message).toMatch(/needs more lines than custody\/pieces-sha256\.txt may hold/);
  });

  it('does not parse a tag file whose hash already failed (a forged 60 MiB custody/manifest.json)', async () => {
    const dir = tempDir();
    writeTree(dir, { 'ev/a.bin': 'x' });
    const { bytes } = await sealFixture(engine, dir, [{ path: path.join(dir, 'ev'), meta: {} }]);
    const { members } = await membersOf(bytes);
    const huge = enc.encode(`{"files":[${'{"a":[1,2,3,4,5,6,7,8]},'.repeat(2_500_000)}{}]}`);
    const changed = members.map((m) => (m.name.endsWith('custody/manifest.json') ? { ...m, data: huge } : m));
    const v = await verifyBytes(engine, buildTar(changed));
    expect(v.error?.code).toBe('HASH_MISMATCH');
    expect(v.error?.message).toMatch(/tag file custody\/manifest\.json does not match/);
    expect(v.checks.find((c) => c.check === 'custody/manifest.json')?.detail).toMatch(/^not checked/);
    expect(v.manifest).toBeUndefined();
  });
});

describe('the default verify says what it did not recompute', () => {
  it('puts "pieces checked; flat hashes not recomputed (use --full)" on the verdict line, and not with --full', () => {
    const dir = tempDir();
    writeTree(dir, { 'ev/a.bin': 'x' });
    const k = JSON.parse(runCli(['--home', path.join(dir, 'h'), '--json', 'key', 'new', '--name', 'Ana', '--no-passphrase']).stdout);
    const bundle = path.join(dir, 'b.tar');
    expect(runCli(['--home', path.join(dir, 'h'), 'seal', path.join(dir, 'ev'), '--case', 'T-3', '--out', bundle]).code).toBe(0);
    const quick = runCli(['verify', bundle, '--trust', k.pubFile]);
    expect(quick.stdout.split('\n')[0]).toMatch(/^VERIFIED .*pieces checked; flat hashes not recomputed \(use --full\)/);
    const full = runCli(['verify', '--full', bundle, '--trust', k.pubFile]);
    expect(full.stdout.split('\n')[0]).not.toMatch(/not recomputed/);
  });
});

describe('nothing a forger writes reaches a report raw', () => {
  it('shows bidi and C1 characters as \\uXXXX in the HTML form', async () => {
    const { escapeHtml } = await import('../src/cli/report/form.js');
    expect(escapeHtml('invoice\u202Efdp.exe <b>\u009b')).toBe('invoice\\u202Efdp.exe &lt;b&gt;\\u009B');
  });
});
