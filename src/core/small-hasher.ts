/**
 * Hashes small inputs whole on the calling thread with OpenSSL (node:crypto),
 * beside a worker engine that streams the large ones: for a bundle of a
 * million 4 KiB files the round trip of every file through the engine's
 * workers cost more than hashing it (verify of 20,000 members spent most of
 * its 31 s waiting on those round trips).
 *
 * Threat guarded against: a digest that differs from the engine's for the
 * same bytes (verify would then fail a good bundle or pass a bad one). The
 * piece SHA-256s and the RFC 6962 Merkle root are computed as the engine and
 * core/merkle.ts compute them, and the tests compare both paths.
 */
import crypto from 'node:crypto';
import type { Algo } from './algorithms.js';
import type { HashDigest, Hasher, HasherSession, HashSpec } from './hasher.js';

const OPENSSL: Partial<Record<Algo, string>> = { md5: 'md5', sha1: 'sha1', sha256: 'sha256', sha512: 'sha512', 'sha3-256': 'sha3-256' };
const LEAF = Buffer.of(0x00);
/** 0x00 and a leaf digest: the RFC 6962 leaf hash input of a one-piece member, filled in place. */
const ONE_LEAF = Buffer.alloc(33);
const NODE = Buffer.of(0x01);

/**
 * One digest in one call where Node has crypto.hash (20.12 and later): no Hash
 * object, ~20% less per small file; createHash on older Node 20 releases.
 */
const oneShot = (crypto as { hash?: (algo: string, data: Uint8Array, enc: 'hex') => string }).hash;
export function hashHex(algo: string, bytes: Uint8Array): string {
  return oneShot !== undefined ? oneShot(algo, bytes, 'hex') : crypto.createHash(algo).update(bytes).digest('hex');
}

function sha256(...parts: Uint8Array[]): Buffer {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** RFC 6962 Merkle tree hash over the piece digests (as core/merkle.ts). */
function merkle(leaves: Buffer[], lo: number, hi: number): Buffer {
  const n = hi - lo;
  if (n === 1) return sha256(LEAF, leaves[lo]!);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return sha256(NODE, merkle(leaves, lo, lo + k), merkle(leaves, lo + k, hi));
}

export function digestSmall(spec: HashSpec, bytes: Uint8Array): HashDigest | undefined {
  const digests: Partial<Record<Algo, string>> = {};
  for (const a of new Set(spec.algos)) {
    const name = OPENSSL[a];
    if (name === undefined) return undefined;
    digests[a] = hashHex(name, bytes);
  }
  const out: HashDigest = { size: bytes.length, digests };
  const pieceSize = spec.pieceSize ?? 0;
  if (pieceSize > 0 && bytes.length > 0 && bytes.length <= pieceSize) {
    // One piece, the member's own SHA-256: its root is SHA-256(0x00 || that digest). One-shot calls
    // on a reused buffer: a Hash object and three Buffers per file were a third of a small file's cost.
    const leaf = digests.sha256 ?? hashHex('sha256', bytes);
    ONE_LEAF.write(leaf, 1, 'hex');
    out.pieces = { pieceSize, hashes: [leaf], merkleRoot: hashHex('sha256', ONE_LEAF) };
  } else if (pieceSize > 0) {
    const leaves: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += pieceSize) leaves.push(sha256(bytes.subarray(at, at + pieceSize)));
    out.pieces = {
      pieceSize,
      hashes: leaves.map((l) => l.toString('hex')),
      merkleRoot: (leaves.length === 0 ? sha256() : merkle(leaves, 0, leaves.length)).toString('hex'),
    };
  }
  return out;
}

/** Flat digests streamed on the calling thread (no pieces), or undefined. */
export function beginLocal(spec: HashSpec): HasherSession | undefined {
  if ((spec.pieceSize ?? 0) > 0) return undefined;
  const hashes: [Algo, crypto.Hash][] = [];
  for (const a of new Set(spec.algos)) {
    const name = OPENSSL[a];
    if (name === undefined) return undefined;
    hashes.push([a, crypto.createHash(name)]);
  }
  let size = 0;
  return {
    update: async (chunk) => {
      for (const [, h] of hashes) h.update(chunk);
      size += chunk.length;
    },
    finish: async () => ({ size, digests: Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')])) }),
    abort: () => {},
  };
}

/** The engine, with small inputs and the streamed tag files hashed on the calling thread. */
export function withSmallDigests(engine: Hasher): Hasher {
  return {
    begin: (spec) => engine.begin(spec),
    get workerCount() {
      return engine.workerCount;
    },
    digestSmall,
    beginLocal,
  };
}
