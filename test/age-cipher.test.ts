/**
 * The age payload cipher's two paths: libsodium (sodium-native's prebuilt
 * binary, used wherever it loads) and node:crypto (what runs where it cannot
 * load, or with CUSTODY_AGE_CIPHER=node). Both must write the same bytes,
 * refuse a damaged chunk without releasing any of its plaintext, end C2SP's
 * vectors as they expect, and interoperate with stock age byte for byte; and
 * the stream code, which seals and opens into buffers it reuses, must keep
 * every yielded buffer intact until the one after the next is asked for.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { allAgeVectors, appliesToCustody, inPieces, type Outcome } from './helpers/age-vectors.js';
import { tempDir } from './helpers/cli.js';

type Primitives = typeof import('../src/custody/age/primitives.js');
type Stream = typeof import('../src/custody/age/stream.js');
type Recipients = typeof import('../src/custody/age/recipients.js');
interface AgeCode {
  p: Primitives;
  s: Stream;
  r: Recipients;
}

/** The age modules loaded afresh, on the default cipher or forced onto node:crypto. */
async function load(cipher: 'default' | 'node'): Promise<AgeCode> {
  vi.resetModules();
  if (cipher === 'node') process.env.CUSTODY_AGE_CIPHER = 'node';
  else delete process.env.CUSTODY_AGE_CIPHER;
  try {
    const [p, s, r] = await Promise.all([
      import('../src/custody/age/primitives.js'),
      import('../src/custody/age/stream.js'),
      import('../src/custody/age/recipients.js'),
    ]);
    return { p, s, r };
  } finally {
    delete process.env.CUSTODY_AGE_CIPHER;
  }
}

const paths = { libsodium: await load('default'), 'node:crypto': await load('node') };
const dir = tempDir('custody-age-cipher-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the ChaCha20-Poly1305 in use', () => {
  it('is libsodium here (sodium-native’s prebuilt binary loads), and node:crypto when CUSTODY_AGE_CIPHER=node', () => {
    expect(paths.libsodium.p.aead.name).toBe('libsodium');
    expect(paths['node:crypto'].p.aead.name).toBe('node:crypto');
  });

  it('seals the same bytes on both paths, and each path opens what the other sealed', () => {
    const sodium = paths.libsodium.p.aead;
    const node = paths['node:crypto'].p.aead;
    for (const size of [0, 1, 15, 16, 17, 1000, 65535, 65536]) {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const plain = randomBytes(size);
      const a = new Uint8Array(size + 16);
      const b = new Uint8Array(size + 16);
      sodium.sealInto(key, nonce, plain, a);
      node.sealInto(key, nonce, plain, b);
      expect(Buffer.from(a).equals(Buffer.from(b)), `size ${size}`).toBe(true);
      for (const [opener, sealed] of [[node, a], [sodium, b]] as const) {
        const out = new Uint8Array(size);
        expect(opener.openInto(key, nonce, sealed, out)).toBe(true);
        expect(Buffer.from(out).equals(plain)).toBe(true);
      }
    }
  });

  it('releases no plaintext from a chunk whose ciphertext, tag or nonce was changed, on either path', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const plain = new Uint8Array(4096).fill(0x5c);
    const sealed = new Uint8Array(plain.length + 16);
    paths.libsodium.p.aead.sealInto(key, nonce, plain, sealed);
    const otherNonce = Uint8Array.from(nonce, (b, i) => (i === 11 ? b ^ 1 : b));
    const damaged: [string, Uint8Array, Uint8Array][] = [
      ['a ciphertext byte', Uint8Array.from(sealed, (b, i) => (i === 100 ? b ^ 1 : b)), nonce],
      ['a tag byte', Uint8Array.from(sealed, (b, i) => (i === sealed.length - 1 ? b ^ 0x80 : b)), nonce],
      ['the nonce (the final flag)', sealed, otherNonce],
    ];
    for (const [name, { p }] of Object.entries(paths)) {
      for (const [what, bytes, n] of damaged) {
        const out = new Uint8Array(plain.length).fill(0xaa);
        expect(p.aead.openInto(key, n, bytes, out), `${name}: ${what}`).toBe(false);
        expect(out.every((b) => b !== 0x5c), `${name}: ${what} left plaintext in the buffer`).toBe(true);
        expect(p.open(key, n, bytes)).toBeNull();
      }
    }
  });
});

const applicable = allAgeVectors.filter(appliesToCustody);

for (const [name, code] of Object.entries(paths)) {
  describe(`age on the ${name} path`, () => {
    it('ends every applicable C2SP vector as it expects, releasing exactly the plaintext it allows', async () => {
      expect(applicable.length).toBeGreaterThanOrEqual(60);
      for (const v of applicable) {
        const ids = (v.meta.get('identity') ?? []).map(code.r.parseX25519Identity);
        const released: Buffer[] = [];
        let outcome: Outcome = 'success';
        try {
          const d = await code.s.decryptAge(inPieces(v.file, 4099), ids);
          for await (const c of d.plaintext) released.push(Buffer.from(c));
        } catch (e) {
          const { code: errorCode, message } = e as { code?: string; message: string };
          if (errorCode === 'NOT_RECIPIENT') outcome = 'no match';
          else if (errorCode !== 'CIPHERTEXT_ERROR') throw e;
          else if (/^age header MAC/.test(message)) outcome = 'HMAC failure';
          else if (/^age header:/.test(message)) outcome = 'header failure';
          else if (/^age payload:/.test(message)) outcome = 'payload failure';
          else throw e;
        }
        expect(outcome, v.name).toBe(v.meta.get('expect')![0]);
        const payload = v.meta.get('payload')?.[0];
        const all = Buffer.concat(released);
        if (payload !== undefined) expect(createHash('sha256').update(all).digest('hex'), v.name).toBe(payload);
        else expect(all.length, v.name).toBe(0);
      }
    });

    it('round-trips with stock age byte for byte over several reused buffers, each intact until the one after the next is asked for', async () => {
      const keyFile = path.join(dir, `${name.replace(':', '-')}.key`);
      execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
      const keyText = fs.readFileSync(keyFile, 'utf8');
      const secret = keyText.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
      const recipient = /public key: (age1\S+)/.exec(keyText)![1]!;
      // Three and a bit 1 MiB segments, fed in pieces that cut across every chunk boundary.
      const plain = randomBytes(3 * (1 << 20) + 12345);

      const parts: Buffer[] = [];
      let previous: { view: Uint8Array; copy: Buffer } | undefined;
      for await (const c of code.s.encryptAge(inPieces(plain, 100_003), [code.r.parseX25519Recipient(recipient)])) {
        if (previous) expect(Buffer.from(previous.view).equals(previous.copy), 'the segment before was changed too early').toBe(true);
        previous = { view: c, copy: Buffer.from(c) };
        parts.push(Buffer.from(c));
      }
      const ours = path.join(dir, `${name.replace(':', '-')}.age`);
      fs.writeFileSync(ours, Buffer.concat(parts));
      expect(execFileSync('age', ['-d', '-i', keyFile, ours], { maxBuffer: 1 << 23 }).equals(plain)).toBe(true);

      const theirs = execFileSync('age', ['-r', recipient], { input: plain, maxBuffer: 1 << 23 });
      const d = await code.s.decryptAge(inPieces(theirs, 65_552 * 3 + 7), [code.r.parseX25519Identity(secret)]);
      const out: Buffer[] = [];
      previous = undefined;
      for await (const c of d.plaintext) {
        if (previous) expect(Buffer.from(previous.view).equals(previous.copy), 'the chunk before was changed too early').toBe(true);
        previous = { view: c, copy: Buffer.from(c) };
        out.push(Buffer.from(c));
      }
      expect(Buffer.concat(out).equals(plain)).toBe(true);
    });
  });
}
