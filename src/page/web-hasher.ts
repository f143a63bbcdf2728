/**
 * The verification core's Hasher (src/core/hasher.ts) for a browser: piece
 * SHA-256s with WebCrypto, flat digests (md5, sha1, sha256, sha512, sha3-256,
 * blake3) streaming with @noble/hashes. What custody's worker engine returns
 * for the same bytes, this returns too: the same flat digests, the same piece
 * list (the last piece may be short, an empty input has none) and the same
 * RFC 6962 Merkle root (core/merkle.ts, shared).
 *
 * Threat guarded against: a tab that runs out of memory on a 2 TB image, or
 * a verifier that hashes what it did not read. At most one piece is buffered
 * (filled from the stream, handed to crypto.subtle.digest, which copies it,
 * then reused), plus the copies of at most `inFlight` pieces WebCrypto is
 * still hashing off the main thread; the flat hashers keep only their state.
 * Pieces are hashed strictly in the order they were filled.
 */
import type { Algo } from '../core/algorithms.js';
import { CustodyError } from '../core/errors.js';
import type { HashDigest, Hasher, HasherSession, HashSpec } from '../core/hasher.js';
import { merkleRootHex } from '../core/merkle.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { md5, sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { bytesToHex } from '@noble/hashes/utils.js';

interface Streaming {
  update(b: Uint8Array): unknown;
  digest(): Uint8Array;
}

const FLAT: Record<Algo, () => Streaming> = {
  md5: () => md5.create(),
  sha1: () => sha1.create(),
  sha256: () => sha256.create(),
  sha512: () => sha512.create(),
  'sha3-256': () => sha3_256.create(),
  blake3: () => blake3.create(),
};

/** The subset of WebCrypto used: SHA-256 of one piece. */
export type DigestFn = (data: Uint8Array) => Promise<ArrayBuffer>;

export interface WebHasherOptions {
  /** Pieces WebCrypto may hash at once (each holds a copy of its piece); default 1: the next piece fills while one is hashed. */
  inFlight?: number;
  /** Default crypto.subtle.digest('SHA-256', …). */
  digest?: DigestFn;
}

export class WebHasher implements Hasher {
  private active: WebSession | undefined;
  readonly workerCount: number;
  private readonly digest: DigestFn;

  constructor(o: WebHasherOptions = {}) {
    this.workerCount = Math.max(1, o.inFlight ?? 1);
    this.digest = o.digest ?? ((data) => crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  }

  begin(spec: HashSpec): HasherSession {
    if (this.active) throw new CustodyError('INTERNAL', 'web hasher: one session at a time');
    const pieceSize = spec.pieceSize ?? 0;
    if (!Number.isSafeInteger(pieceSize) || pieceSize < 0) throw new CustodyError('USAGE', `bad piece size ${pieceSize}`);
    const algos = [...new Set(spec.algos)];
    if (algos.length === 0 && pieceSize === 0) throw new CustodyError('USAGE', 'no hash algorithm chosen');
    for (const a of algos) if (!(a in FLAT)) throw new CustodyError('USAGE', `unknown hash algorithm ${String(a)}`);
    const session = new WebSession(spec.algos, pieceSize, this.workerCount, this.digest, () => {
      if (this.active === session) this.active = undefined;
    });
    this.active = session;
    return session;
  }
}

class WebSession implements HasherSession {
  private readonly flat: [Algo, Streaming][];
  private size = 0;
  private piece: Uint8Array = new Uint8Array(0);
  private fill = 0;
  /** Digests in piece order; a promise until WebCrypto answers. */
  private readonly hashes: Promise<string>[] = [];
  private readonly running = new Set<Promise<unknown>>();
  private done = false;

  constructor(
    private readonly algos: Algo[],
    private readonly pieceSize: number,
    private readonly inFlight: number,
    private readonly digest: DigestFn,
    private readonly ended: () => void,
  ) {
    this.flat = [...new Set(algos)].map((a) => [a, FLAT[a]()]);
  }

  async update(chunk: Uint8Array): Promise<void> {
    if (this.done) throw new CustodyError('INTERNAL', 'hash session already finished');
    for (const [, h] of this.flat) h.update(chunk);
    this.size += chunk.length;
    if (this.pieceSize === 0) return;
    let off = 0;
    while (off < chunk.length) {
      if (this.fill === this.piece.length && this.piece.length < this.pieceSize) this.grow();
      const take = Math.min(chunk.length - off, this.piece.length - this.fill);
      this.piece.set(chunk.subarray(off, off + take), this.fill);
      this.fill += take;
      off += take;
      if (this.fill === this.pieceSize) await this.sendPiece();
    }
  }

  async finish(): Promise<HashDigest> {
    if (this.done) throw new CustodyError('INTERNAL', 'hash session already finished');
    try {
      if (this.fill > 0) await this.sendPiece();
      this.done = true;
      const digests: Partial<Record<Algo, string>> = {};
      const byAlgo = new Map(this.flat.map(([a, h]) => [a, bytesToHex(h.digest())]));
      for (const a of this.algos) digests[a] = byAlgo.get(a)!;
      const out: HashDigest = { size: this.size, digests };
      if (this.pieceSize > 0) {
        const hashes = await Promise.all(this.hashes);
        out.pieces = { pieceSize: this.pieceSize, hashes, merkleRoot: merkleRootHex(hashes) };
      }
      return out;
    } finally {
      this.done = true;
      this.release();
    }
  }

  abort(): void {
    this.done = true;
    this.release();
  }

  private release(): void {
    this.piece = new Uint8Array(0);
    this.ended();
  }

  /** The piece buffer grows by doubling up to one piece: a 5-byte file in 64 MiB pieces costs no 64 MiB. */
  private grow(): void {
    const bigger = new Uint8Array(Math.min(this.pieceSize, Math.max(1 << 20, this.piece.length * 2)));
    bigger.set(this.piece.subarray(0, this.fill));
    this.piece = bigger;
  }

  /** Hands the filled piece to WebCrypto (which copies it) and waits while too many are being hashed. */
  private async sendPiece(): Promise<void> {
    while (this.running.size >= this.inFlight) await Promise.race(this.running);
    const p = this.digest(this.piece.subarray(0, this.fill)).then((buf) => bytesToHex(new Uint8Array(buf)));
    const tracked = p.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(tracked);
    void tracked.then(() => this.running.delete(tracked));
    this.hashes.push(p);
    // Unhandled until finish(): keep a rejection from being reported early.
    p.catch(() => undefined);
    this.fill = 0;
  }
}
