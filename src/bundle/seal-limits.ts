/**
 * Refuses, before a byte of evidence is read, what the readers would refuse
 * in the bundle seal is about to write (the limits are TAG_LIMITS in
 * layout.ts, shared with verify and extract): a payload path whose line in
 * manifest-<alg>.txt or custody/pieces-sha256.txt would pass the line limit,
 * or whose member name is longer than a tar reader takes. Threat: sealing
 * for hours and handing over a bundle its own verify then rejects.
 */
import { HEX_LENGTH, type Algo } from '../core/algorithms.js';
import { CustodyError } from '../core/errors.js';
import { utf8 } from '../custody/encoding.js';
import type { CollectedItem } from './collect-items.js';
import { TAG_LIMITS } from './layout.js';
import { encodeManifestPath } from './manifests.js';
import { MAX_NAME_BYTES } from './tar-names.js';

export function assertWithinTagLimits(bagName: string, items: CollectedItem[], algos: Algo[], pieceSize: number): void {
  const digest = Math.max(64, ...algos.map((a) => HEX_LENGTH[a]));
  // A pieces line: digest, two spaces, "<first>-<last>" (at most 2 × 16 digits + '-'), two spaces, path, LF.
  const fixed = pieceSize > 0 ? Math.max(digest + 3, 64 + 2 + 33 + 2 + 1) : digest + 3;
  const rootBytes = utf8(`${bagName}/`).length;
  for (const item of items) {
    for (let i = 0; i < item.files.length; i++) {
      const rel = item.files.rel(i);
      const p = `data/${item.id}/${rel}`;
      const pathBytes = utf8(p).length;
      if (rootBytes + pathBytes > MAX_NAME_BYTES) {
        throw new CustodyError('USAGE', `cannot seal ${p}: its name in the bundle would be ${rootBytes + pathBytes} bytes, more than the ${MAX_NAME_BYTES} a bundle reader takes`, {
          hint: 'shorten the folder names, or put the folder in an archive first',
        });
      }
      const line = fixed + (p.includes('%') || /[\r\n]/.test(p) ? utf8(encodeManifestPath(p)).length : pathBytes);
      if (line > TAG_LIMITS.tagLineBytes) {
        throw new CustodyError('USAGE', `cannot seal ${p}: its line in the manifests would be ${line} bytes, more than the ${TAG_LIMITS.tagLineBytes} a bundle reader takes`, {
          hint: 'shorten the path, or put the folder in an archive first',
        });
      }
    }
  }
}
