/**
 * `--format json` (also what `--json` prints): `{"ok":true,"files":[…]}`.
 * The same document is accepted back by `--check`.
 */
import { HEX_LENGTH, isAlgo, type Algo } from '../algorithms.js';
import { CustodyError } from '../errors.js';
import type { FileHash, ReferenceEntry } from './result.js';
import { imageJson } from '../ewf/describe.js';

export interface FileHashJson {
  path: string;
  size: number;
  hashes: Partial<Record<Algo, string>>;
  segments?: string[];
  pieces?: { size: number; count: number; merkleRoot: string; sha256: string[] };
  /** An EWF image: its geometry, stored hashes (and whether they match) and acquisition metadata. */
  image?: Record<string, unknown>;
}

export function toJsonFiles(files: FileHash[]): FileHashJson[] {
  return files.map((f) => {
    const j: FileHashJson = { path: f.path, size: f.size, hashes: f.digests };
    if (f.segments) j.segments = f.segments;
    if (f.image) j.image = imageJson(f.image);
    if (f.pieces) {
      j.pieces = { size: f.pieces.pieceSize, count: f.pieces.hashes.length, merkleRoot: f.pieces.merkleRoot, sha256: f.pieces.hashes };
    }
    return j;
  });
}

function bad(why: string): CustodyError {
  return new CustodyError('USAGE', `check file is not a custody hash JSON document: ${why}`);
}

/** Reads a `custody hash --format json` document (untrusted input: every field is checked). */
export function parseJsonReference(text: string): ReferenceEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const files = (doc as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) throw bad('no "files" array');
  return files.map((f: unknown, i) => {
    const o = f as Partial<FileHashJson> | null;
    if (typeof o?.path !== 'string' || o.path === '') throw bad(`files[${i}] has no path`);
    if (o.size !== undefined && !(Number.isSafeInteger(o.size) && o.size >= 0)) throw bad(`files[${i}] has a bad size`);
    const digests: Partial<Record<Algo, string>> = {};
    for (const [k, v] of Object.entries(o.hashes ?? {})) {
      if (!isAlgo(k)) continue; // a newer custody may know more algorithms; compare what we know
      if (typeof v !== 'string' || !new RegExp(`^[0-9a-fA-F]{${HEX_LENGTH[k]}}$`).test(v)) throw bad(`files[${i}].hashes.${k} is not a ${k} digest`);
      digests[k] = v.toLowerCase();
    }
    if (Object.keys(digests).length === 0) throw bad(`files[${i}] has no known hash`);
    const e: ReferenceEntry = { path: o.path, digests };
    if (o.size !== undefined) e.size = o.size;
    return e;
  });
}
