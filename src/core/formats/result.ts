/** The result of hashing one input, as every output format sees it. */
import type { Algo } from '../algorithms.js';
import type { PieceDigests } from '../engine.js';
import type { EwfSummary } from '../ewf/hash-ewf.js';

export interface FileHash {
  /** The path as the user gave it (`-` for stdin); for --split, the first segment. */
  path: string;
  size: number;
  digests: Partial<Record<Algo, string>>;
  pieces?: PieceDigests;
  /** --split: every segment, in order, hashed as one logical image. */
  segments?: string[];
  /** An EWF image: the digests are of the media it holds; this is what the image says of itself. */
  image?: EwfSummary;
}

/** A line-oriented format cannot hold a path with a line break or other control characters unescaped. */
export function hasControlChars(s: string): boolean {
  return /[\u0000-\u001f\u007f]/.test(s);
}

export interface ReferenceEntry {
  path: string;
  size?: number;
  digests: Partial<Record<Algo, string>>;
}
