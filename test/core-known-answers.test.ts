/**
 * Known-answer tests: every algorithm through the real engine (worker threads)
 * against published vectors, so a wiring mistake (wrong algorithm on a worker,
 * a dropped chunk) cannot hide behind a self-consistent implementation.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import type { Algo } from '../src/core/algorithms.js';

const engine = new HashEngine();
afterAll(() => engine.close());

async function digest(algo: Algo, data: Uint8Array, chunk = 1 << 20): Promise<string> {
  const s = engine.begin({ algos: [algo] });
  for (let i = 0; i < data.length; i += chunk) await s.update(data.subarray(i, i + chunk));
  return (await s.finish()).digests[algo]!;
}

const ascii = (s: string) => new TextEncoder().encode(s);
const MILLION_A = new Uint8Array(1_000_000).fill(0x61);
const NIST448 = ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
const NIST896 = ascii(
  'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
);

// [algo, input, expected hex, source]
const VECTORS: [Algo, Uint8Array, string, string][] = [
  // RFC 1321 §A.5 test suite
  ['md5', ascii(''), 'd41d8cd98f00b204e9800998ecf8427e', 'RFC 1321 A.5'],
  ['md5', ascii('a'), '0cc175b9c0f1b6a831c399e269772661', 'RFC 1321 A.5'],
  ['md5', ascii('abc'), '900150983cd24fb0d6963f7d28e17f72', 'RFC 1321 A.5'],
  ['md5', ascii('message digest'), 'f96b697d7cb7938d525a2f31aaf161d0', 'RFC 1321 A.5'],
  ['md5', ascii('abcdefghijklmnopqrstuvwxyz'), 'c3fcd3d76192e4007dfb496cca67e13b', 'RFC 1321 A.5'],
  ['md5', ascii('1234567890'.repeat(8)), '57edf4a22be3c955ac49da2e2107b67a', 'RFC 1321 A.5'],
  // FIPS 180 examples (NIST CSRC "Examples with intermediate values")
  ['sha1', ascii('abc'), 'a9993e364706816aba3e25717850c26c9cd0d89d', 'FIPS 180 SHA-1 example'],
  ['sha1', NIST448, '84983e441c3bd26ebaae4aa1f95129e5e54670f1', 'FIPS 180 SHA-1 example'],
  ['sha1', MILLION_A, '34aa973cd4c4daa4f61eeb2bdbad27316534016f', 'FIPS 180 SHA-1 example'],
  ['sha256', ascii('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'FIPS 180 SHA-256 example'],
  ['sha256', NIST448, '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1', 'FIPS 180 SHA-256 example'],
  ['sha256', MILLION_A, 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0', 'FIPS 180 SHA-256 example'],
  ['sha512', ascii('abc'), 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f', 'FIPS 180 SHA-512 example'],
  ['sha512', NIST896, '8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909', 'FIPS 180 SHA-512 example'],
  ['sha512', MILLION_A, 'e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b', 'FIPS 180 SHA-512 example'],
  // FIPS 202 examples (NIST CSRC SHA3-256 "Examples with intermediate values")
  ['sha3-256', ascii(''), 'a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a', 'FIPS 202 SHA3-256 example'],
  ['sha3-256', ascii('abc'), '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532', 'FIPS 202 SHA3-256 example'],
  ['sha3-256', NIST448, '41c0dba2a9d6240849100376a8235e2c82e1b9998a999e21db32dd97496d3376', 'FIPS 202 SHA3-256 example'],
  ['sha3-256', MILLION_A, '5c8875ae474a3634ba4fd55ec85bffd661f32aca75c6d699d0cdcb6c115891c1', 'FIPS 202 SHA3-256 example'],
];

// BLAKE3-team/BLAKE3 test_vectors/test_vectors.json: input byte i is i % 251; first 32 bytes of "hash".
const BLAKE3_OFFICIAL: [number, string][] = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [63, 'e9bc37a594daad83be9470df7f7b3798297c3d834ce80ba85d6e207627b7db7b'],
  [64, '4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98'],
  [65, 'de1e5fa0be70df6d2be8fffd0e99ceaa8eb6e8c93a63f2d8d1c30ecb6b263dee'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
  [2048, 'e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a'],
];

describe('known answers through the engine', () => {
  for (const [algo, input, hex, source] of VECTORS) {
    it(`${algo} of ${input.length} bytes (${source})`, async () => {
      expect(await digest(algo, input)).toBe(hex);
      expect(await digest(algo, input, 7)).toBe(hex); // across odd chunk and slot boundaries
    });
  }
  for (const [len, hex] of BLAKE3_OFFICIAL) {
    it(`blake3 of ${len} bytes (official BLAKE3 test vectors)`, async () => {
      const input = Uint8Array.from({ length: len }, (_, i) => i % 251);
      expect(await digest('blake3', input)).toBe(hex);
      expect(await digest('blake3', input, 3)).toBe(hex);
    });
  }
});
