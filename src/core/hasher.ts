/**
 * The hasher the verification core is given, as types only: what reading a
 * bundle needs to hash evidence while it streams past. In custody the
 * worker-thread engine (src/core/engine.ts) implements it; in the verifier
 * page a WebCrypto one will. Keeping the contract here, with no import of the
 * engine, keeps `node:worker_threads` and `node:os` out of the code that must
 * also run in a browser.
 *
 * Threat guarded against: a core that hashes evidence its own way could give
 * a different verdict from custody's for the same bundle. With one contract
 * both implementations must return the same digests and the same piece list
 * for the same bytes, and the verdict is computed by the same code.
 */
import type { Algo } from './algorithms.js';

export interface HashSpec {
  algos: Algo[];
  /** Bytes per piece for piece SHA-256 + Merkle root; 0/undefined = no pieces. */
  pieceSize?: number;
  /**
   * Hash the pieces in parallel: piece k on worker k mod n (n = all workers);
   * each worker counts the bytes of the others' pieces without hashing them,
   * and finish() merges the lanes back in piece order, so `pieces` is the same
   * as without lanes. Pays off only when several pieces fit in the slot ring
   * (a worker can run ahead by slots × slotSize bytes at most). A hasher
   * without workers may ignore it: the result must not change.
   */
  pieceLanes?: boolean;
}

export interface PieceDigests {
  pieceSize: number;
  /** Hex SHA-256 of each piece; the last may be short; an empty input has no pieces. */
  hashes: string[];
  /** RFC 6962 Merkle root over the piece digests (hex). */
  merkleRoot: string;
}

export interface HashDigest {
  size: number;
  /** Lowercase hex per algorithm. */
  digests: Partial<Record<Algo, string>>;
  pieces?: PieceDigests;
}

/** One input, hashed as it streams: update() for each chunk in order, then finish() or abort(). */
export interface HasherSession {
  /** Copies the chunk; resolves when the caller may reuse it and send more. */
  update(chunk: Uint8Array): Promise<void>;
  finish(): Promise<HashDigest>;
  /** Drops the session (after an input error); the hasher stays usable. */
  abort(): void;
}

export interface Hasher {
  /** One session at a time. */
  begin(spec: HashSpec): HasherSession;
  /** How many workers a session may use (= the number of piece lanes); 1 without workers. */
  readonly workerCount: number;
  /**
   * Optional: the digest of a small input given whole, on the calling thread
   * (no round trip to a worker: for exports of a million small files that
   * round trip was most of the time). The same result as a session; undefined
   * when this hasher cannot (an algorithm it only has in its workers), and
   * the caller then uses a session.
   */
  digestSmall?(spec: HashSpec, bytes: Uint8Array): HashDigest | undefined;
  /**
   * Optional: a streaming session of flat digests (no pieces) on the calling
   * thread, for the tag files a reader checks as they stream: sending them to
   * a worker started one more thread (and its slots) only for them. Undefined
   * when this hasher cannot; the caller then uses begin.
   */
  beginLocal?(spec: HashSpec): HasherSession | undefined;
}

/**
 * A hasher that reads the payload itself, where the bundle is a seekable
 * file: each piece is read with positioned reads on whichever worker is free,
 * so every core hashes at once instead of waiting for one sequential stream.
 * Optional: a stream (stdin, a pipe, a decrypting reader) has no positions and
 * goes through Hasher. The result for a range must equal what Hasher returns
 * for the same bytes with the same piece size.
 */
export interface RangeHasher {
  /** How many lanes hash at once. */
  readonly workerCount: number;
  /** The calling thread is one of those lanes (the others are worker threads); said in the verdict. */
  readonly mainLane?: boolean;
  /**
   * The pieces of the source's bytes [offset, offset + size), cut every
   * pieceSize bytes from offset. Resolves once the work is queued (it waits
   * while every worker is busy: backpressure); `result` then resolves with the
   * pieces. onBytes reports bytes hashed, as they are.
   */
  queue(offset: number, size: number, pieceSize: number, onBytes?: (n: number) => void): Promise<{ result: Promise<PieceDigests> }>;
  /** Starts what is gathered but not yet sent (small ranges travel together). */
  flush(): void;
  /** Drops what is not started and waits for what is, so the source may be closed (after a failure). */
  settle(): Promise<void>;
  /**
   * Every range is hashed and no more will be queued: lanes that are idle may
   * end now, while the caller goes on with other work (optional; the owner
   * still closes the hasher).
   */
  release?(): void;
}
