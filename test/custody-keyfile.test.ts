/** The secret key file: round trip, every header field bound, hostile parameters refused fast. */
import { describe, expect, it } from 'vitest';
import { decryptKeyFile, encryptKeyFile, readKeyFileHeader, DEFAULT_KDF, type KdfParams } from '../src/custody/keyfile.js';
import { signerFromSeed } from '../src/custody/identity.js';
import { CustodyError } from '../src/core/errors.js';
import { keyId } from '../src/custody/ed25519.js';

// Small parameters keep the tests fast; the format and checks are the same.
const FAST: KdfParams = { memoryKiB: 256, iterations: 1, parallelism: 1 };
const seed = new Uint8Array(32).fill(21);
const signer = signerFromSeed(seed, { name: 'Ana Examiner', org: 'Police Lab', role: 'examiner' });
const CREATED = '2026-11-27T14:03:00.000Z';
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return e instanceof CustodyError ? e.code : `not a CustodyError: ${String(e)}`;
  }
}

describe('key file', () => {
  it('round-trips with a passphrase, and the header is readable without it', async () => {
    const file = await encryptKeyFile(seed, signer.identity, 'correct horse', CREATED, { kdf: FAST });
    const h = readKeyFileHeader(file);
    expect(h).toMatchObject({ created: CREATED, encrypted: true, identity: { name: 'Ana Examiner', keyid: signer.identity.keyid } });
    const out = await decryptKeyFile(file, 'correct horse');
    expect(out.seed).toEqual(seed);
    expect(out.identity.fingerprint).toBe(signer.identity.fingerprint);
    expect(dec(file)).not.toContain(Buffer.from(seed).toString('base64'));
  });

  it('uses Argon2id m=64 MiB, t=3, p=1 by default', async () => {
    expect(DEFAULT_KDF).toEqual({ memoryKiB: 65536, iterations: 3, parallelism: 1 });
    const file = await encryptKeyFile(seed, signer.identity, 'pw', CREATED);
    expect(JSON.parse(dec(file)).kdf).toMatchObject({ name: 'argon2id', memoryKiB: 65536, iterations: 3, parallelism: 1 });
  });

  it('a wrong passphrase is WRONG_PASSPHRASE naming the key', async () => {
    const file = await encryptKeyFile(seed, signer.identity, 'right', CREATED, { kdf: FAST });
    await expect(decryptKeyFile(file, 'wrong', 'ana.key')).rejects.toThrow('wrong passphrase for ana.key');
    expect(await codeOf(decryptKeyFile(file, 'wrong'))).toBe('WRONG_PASSPHRASE');
  });

  it('the passphrase is NFC-normalised (same words typed on another system still open it)', async () => {
    const file = await encryptKeyFile(seed, signer.identity, 'cafe\u0301', CREATED, { kdf: FAST });
    expect((await decryptKeyFile(file, 'caf\u00e9')).seed).toEqual(seed);
  });

  it('every header field changed makes opening fail', async () => {
    const file = await encryptKeyFile(seed, signer.identity, 'pw', CREATED, { kdf: FAST });
    const doc = JSON.parse(dec(file));
    const other = signerFromSeed(new Uint8Array(32).fill(22), { name: 'Eve' }).identity;
    const mutations: [string, (d: any) => void][] = [
      ['name', (d) => (d.name = 'Eve')],
      ['org', (d) => (d.org = 'Other Lab')],
      ['org removed', (d) => delete d.org],
      ['role', (d) => (d.role = 'admin')],
      ['created', (d) => (d.created = '2020-01-01T00:00:00.000Z')],
      ['publicKey + keyid', (d) => ((d.publicKey = Buffer.from(other.publicKey).toString('base64')), (d.keyid = other.keyid))],
      ['keyid', (d) => (d.keyid = '0123456789abcdef')],
      ['kdf.memoryKiB', (d) => (d.kdf.memoryKiB = 512)],
      ['kdf.iterations', (d) => (d.kdf.iterations = 2)],
      ['kdf.parallelism', (d) => (d.kdf.parallelism = 2)],
      ['kdf.salt', (d) => (d.kdf.salt = Buffer.alloc(16, 1).toString('base64'))],
      ['kdf.name', (d) => (d.kdf.name = 'argon2i')],
      ['cipher.nonce', (d) => (d.cipher.nonce = Buffer.alloc(12, 1).toString('base64'))],
      ['cipher.name', (d) => (d.cipher.name = 'chacha20-poly1305')],
      ['version', (d) => (d.version = 2)],
      ['type', (d) => (d.type = 'other')],
      ['sealedSeed', (d) => (d.sealedSeed = Buffer.from(d.sealedSeed, 'base64').map((b: number, i: number) => (i === 0 ? b ^ 1 : b)).toString('base64'))],
      ['extra field', (d) => (d.comment = 'hi')],
      ['made unencrypted', (d) => ((d.kdf = { name: 'none' }), (d.cipher = { name: 'none' }), (d.seed = d.sealedSeed), delete d.sealedSeed)],
    ];
    for (const [what, mutate] of mutations) {
      const d = structuredClone(doc);
      mutate(d);
      const code = await codeOf(decryptKeyFile(enc(JSON.stringify(d)), 'pw'));
      expect(['WRONG_PASSPHRASE', 'BAD_KEY'], `${what}: ${code}`).toContain(code);
    }
    // sanity: the unmodified document re-serialised still opens (whitespace is not authenticated, values are)
    expect((await decryptKeyFile(enc(JSON.stringify(doc)), 'pw')).seed).toEqual(seed);
  });

  it('absurd KDF parameters are refused quickly, before any work', async () => {
    const file = await encryptKeyFile(seed, signer.identity, 'pw', CREATED, { kdf: FAST });
    for (const kdf of [
      { memoryKiB: 4 * 1024 * 1024 },
      { memoryKiB: 2 ** 40 },
      { iterations: 1_000_000 },
      { parallelism: 255 },
      { memoryKiB: -1 },
      { iterations: 1.5 },
      { memoryKiB: '65536' },
    ]) {
      const d = JSON.parse(dec(file));
      Object.assign(d.kdf, kdf);
      const t0 = performance.now();
      const err = await decryptKeyFile(enc(JSON.stringify(d)), 'pw').catch((e) => e);
      expect(performance.now() - t0).toBeLessThan(200);
      expect(err).toBeInstanceOf(CustodyError);
      expect(err.code).toBe('BAD_KEY');
      expect(err.message).toMatch(/unacceptable Argon2id parameters/);
    }
  });

  it('an unencrypted key (--no-passphrase) opens without a passphrase and says it is unencrypted', async () => {
    const file = await encryptKeyFile(seed, signer.identity, null, CREATED);
    expect(readKeyFileHeader(file).encrypted).toBe(false);
    expect((await decryptKeyFile(file, null)).seed).toEqual(seed);
  });

  it('a seed that does not derive the stored public key is refused', async () => {
    const file = await encryptKeyFile(seed, signer.identity, null, CREATED);
    const d = JSON.parse(dec(file));
    d.seed = Buffer.alloc(32, 99).toString('base64');
    await expect(decryptKeyFile(enc(JSON.stringify(d)), null)).rejects.toThrow(/does not match the public key/);
  });

  it('an encrypted key without a passphrase is a usage error; an empty passphrase cannot be set', async () => {
    const file = await encryptKeyFile(seed, signer.identity, 'pw', CREATED, { kdf: FAST });
    expect(await codeOf(decryptKeyFile(file, null))).toBe('USAGE');
    expect(await codeOf(encryptKeyFile(seed, signer.identity, '', CREATED))).toBe('USAGE');
  });

  it('refuses garbage, a weak public key and duplicate keys', async () => {
    expect(await codeOf(decryptKeyFile(enc('not json'), 'pw'))).toBe('BAD_KEY');
    const file = await encryptKeyFile(seed, signer.identity, null, CREATED);
    const weak = new Uint8Array(32);
    weak[0] = 1;
    const d = JSON.parse(dec(file));
    d.publicKey = Buffer.from(weak).toString('base64');
    d.keyid = keyId(weak);
    expect(await codeOf(decryptKeyFile(enc(JSON.stringify(d)), null))).toBe('BAD_KEY');
    const dup = dec(file).replace('"name": "Ana Examiner"', '"name": "Ana Examiner", "name": "Eve"');
    expect(await codeOf(decryptKeyFile(enc(dup), null))).toBe('BAD_KEY');
  });
});

describe('key file round trip (property)', () => {
  it('any seed, name and passphrase: opens with that passphrase only', async () => {
    const fc = (await import('fast-check')).default;
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.stringMatching(/^[A-Za-z][A-Za-z .'-]{0,30}$/),
        fc.string({ minLength: 1, maxLength: 40 }),
        async (s, name, pass) => {
          const id = signerFromSeed(s, { name }).identity;
          const file = await encryptKeyFile(s, id, pass, CREATED, { kdf: FAST });
          const out = await decryptKeyFile(file, pass);
          expect(out.seed).toEqual(s);
          expect(out.identity.name).toBe(name.normalize('NFC'));
          expect(await codeOf(decryptKeyFile(file, `${pass}x`))).toBe('WRONG_PASSPHRASE');
        },
      ),
      { numRuns: 15 },
    );
  });
});
