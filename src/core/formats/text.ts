/** Human-readable output of `custody hash`. */
import { formatSize } from '../algorithms.js';
import type { FileHash } from './result.js';
import { describeImage } from '../ewf/describe.js';

export function formatText(files: FileHash[]): string[] {
  const lines: string[] = [];
  for (const f of files) {
    const name = JSON.stringify(f.path) === `"${f.path}"` ? f.path : JSON.stringify(f.path); // make odd names visible
    lines.push(`${name}  (${f.size} bytes${f.image ? ' of media in an EWF image' : ''}${f.segments ? `, ${f.segments.length} segment${f.segments.length === 1 ? "" : "s"}` : ''})`);
    const width = Math.max(...Object.keys(f.digests).map((a) => a.length), 6);
    for (const [algo, hex] of Object.entries(f.digests)) lines.push(`  ${algo.padEnd(width)}  ${hex}`);
    if (f.pieces) {
      lines.push(`  ${'pieces'.padEnd(width)}  ${f.pieces.hashes.length} × ${formatSize(f.pieces.pieceSize)}, Merkle root ${f.pieces.merkleRoot}`);
    }
    if (f.image) lines.push(...describeImage(f.image));
  }
  return lines;
}
