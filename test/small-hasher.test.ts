/**
 * The small-member hasher (core/small-hasher.ts) hashes a file whole on the
 * reading thread; its digests must be exactly those of the engine's path:
 * each flat algorithm over the bytes, SHA-256 of each piece, and the RFC 6962
 * Merkle root over the pieces (core/merkle.ts). The one-piece shortcut (the
 * member's own SHA-256 as its only leaf, the root in one call) is held to the
 * same answer, with and without SHA-256 among the flat algorithms.
 */
import crypto from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { merkleRootHex } from '../src/core/merkle.js';
import { digestSmall } from '../src/core/small-hasher.js';

const hex = (algo: string, b: Uint8Array) => crypto.createHash(algo).update(b).digest('hex');

function expected(bytes: Uint8Array, algos: string[], pieceSize: number) {
  const leaves: string[] = [];
  for (let at = 0; at < bytes.length; at += pieceSize) leaves.push(hex('sha256', bytes.subarray(at, at + pieceSize)));
  return {
    size: bytes.length,
    digests: Object.fromEntries(algos.map((a) => [a, hex(a, bytes)])),
    pieces: { pieceSize, hashes: leaves, merkleRoot: merkleRootHex(leaves) },
  };
}

describe('digestSmall', () => {
  it('gives the flat digests, the piece digests and the Merkle root the engine path gives, for any size around the piece size (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 260 }),
        fc.constantFrom(1, 7, 64, 128, 1 << 20),
        fc.constantFrom(['md5', 'sha1', 'sha256'], ['sha256'], ['md5'], [] as string[]),
        (bytes, pieceSize, algos) => {
          expect(digestSmall({ algos: algos as never, pieceSize }, bytes)).toEqual(expected(bytes, algos, pieceSize));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('one piece exactly the piece size, one byte over, and nothing at all', () => {
    for (const n of [64, 65, 0]) {
      const bytes = crypto.randomBytes(n);
      for (const algos of [['sha256'], []]) expect(digestSmall({ algos: algos as never, pieceSize: 64 }, bytes)).toEqual(expected(bytes, algos, 64));
    }
    // The empty member has no piece and the root of no leaves.
    expect(digestSmall({ algos: [], pieceSize: 64 }, new Uint8Array(0))!.pieces).toEqual({ pieceSize: 64, hashes: [], merkleRoot: merkleRootHex([]) });
  });

  it('a digest returned earlier is not changed by the next call (the reused leaf buffer stays inside)', () => {
    const a = digestSmall({ algos: [], pieceSize: 64 }, new Uint8Array([1]))!;
    const root = a.pieces!.merkleRoot;
    digestSmall({ algos: [], pieceSize: 64 }, new Uint8Array([2]));
    expect(a.pieces!.merkleRoot).toBe(root);
    expect(root).toBe(expected(new Uint8Array([1]), [], 64).pieces.merkleRoot);
  });
});
