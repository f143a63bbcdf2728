/**
 * custody/pieces-sha256.txt: one line per piece of every payload file,
 * `<sha256 hex>  <first byte>-<last byte>  <path>` (byte range inclusive, as
 * in HTTP Range), files sorted by path bytes, pieces in file order. With it a
 * receiver can check a 2 TB image in parallel, or find which 64 MiB of it
 * changed; `dd bs=<piece size> skip=<n> count=1 | sha256sum` checks one piece
 * with stock tools. Empty when pieces are off (Custody-Piece-Size 0) or
 * every file is empty.
 */
import { CustodyError } from '../core/errors.js';
import { decodeUtf8, strictLines } from './bag-info.js';
import { compareNames, PIECES_TXT } from './layout.js';
import { decodeManifestPath, encodeManifestPath } from './manifests.js';

export interface FilePieces {
  path: string;
  size: number;
  hashes: string[];
}

export function pieceRange(pieceSize: number, size: number, index: number): [number, number] {
  const start = index * pieceSize;
  return [start, Math.min(size, start + pieceSize) - 1];
}

export function expectedPieceCount(pieceSize: number, size: number): number {
  return pieceSize === 0 ? 0 : Math.ceil(size / pieceSize);
}

export function piecesText(pieceSize: number, files: FilePieces[]): string {
  if (pieceSize === 0) return '';
  const out: string[] = [];
  for (const f of [...files].sort((a, b) => compareNames(a.path, b.path))) {
    f.hashes.forEach((h, i) => {
      const [a, b] = pieceRange(pieceSize, f.size, i);
      out.push(`${h}  ${a}-${b}  ${encodeManifestPath(f.path)}\n`);
    });
  }
  return out.join('');
}

export interface PieceLine {
  path: string;
  digest: string;
  range: [number, number];
}

/** Strict parse; the caller compares the lines with what it computed. */
export function parsePieces(bytes: Uint8Array): PieceLine[] {
  const member = PIECES_TXT;
  return strictLines(decodeUtf8(bytes, member), member, true).map((line, i) => {
    const m = /^([0-9a-f]{64})  (0|[1-9][0-9]{0,15})-(0|[1-9][0-9]{0,15})  (.+)$/.exec(line);
    if (!m) throw new CustodyError('MALFORMED_BUNDLE', `${member}: line ${i + 1} is not "<sha256>  <first>-<last>  <path>"`, { member });
    return { digest: m[1]!, range: [Number(m[2]), Number(m[3])], path: decodeManifestPath(m[4]!, member) };
  });
}
