/**
 * Plain words for a file that is not a bundle at all: someone handed over
 * the wrong file (an empty download, the raw image, a zip, a tar made by
 * hand). The strict tar reader would say "header checksum field is not a
 * valid octal number at offset 0", true but useless to a receiving
 * authority, who must learn at once that this is not the evidence bundle,
 * not that a bundle was tampered with.
 *
 * Only the very start of the file is judged here: a file whose first header
 * carries the tar magic is a tar archive, and any fault after that is
 * reported by the strict reader in its own words (a tampered bundle must
 * still be named as one).
 */
import { CustodyError } from '../core/errors.js';
import { BLOCK, isZeroBlock } from './tar-header.js';

export type NotABundle = 'empty' | 'not-tar' | 'no-bagit';

/** Does this first block look like a tar header (ustar or GNU magic), or the end marker of an empty tar? */
export function looksLikeTar(first: Uint8Array): boolean {
  if (first.length < BLOCK) return false;
  if (isZeroBlock(first.subarray(0, BLOCK))) return true;
  const magic = String.fromCharCode(...first.subarray(257, 263));
  return magic === 'ustar\u0000' || magic === 'ustar ';
}

/**
 * What a file that failed before its first member says about itself:
 * undefined when its first header names `<name>/bagit.txt` (a bundle, maybe
 * a damaged one: the strict reader's own words apply).
 */
export function sniffNotABundle(first: Uint8Array): NotABundle | undefined {
  if (first.length === 0) return 'empty';
  if (!looksLikeTar(first)) return 'not-tar';
  const nul = first.subarray(0, 100).indexOf(0);
  const name = String.fromCharCode(...first.subarray(0, nul < 0 ? 100 : nul));
  return first[156] === 0x30 && /^[^/]+\/bagit\.txt$/.test(name) ? undefined : 'no-bagit';
}

/**
 * Passes a byte stream through and keeps a copy of its first block, so a
 * reader that fails before the first member can say what the file was.
 */
export function keepFirstBlock(source: AsyncIterable<Uint8Array>): { stream: AsyncIterable<Uint8Array>; first(): Uint8Array } {
  const head = new Uint8Array(BLOCK);
  let got = 0;
  return {
    first: () => head.subarray(0, got),
    stream: (async function* () {
      for await (const chunk of source) {
        if (got < BLOCK && chunk.length > 0) {
          const n = Math.min(BLOCK - got, chunk.length);
          head.set(chunk.subarray(0, n), got);
          got += n;
        }
        yield chunk;
      }
    })(),
  };
}

export function notABundle(label: string, kind: NotABundle, cause?: unknown): CustodyError {
  const message =
    kind === 'empty'
      ? `${label} is empty`
      : kind === 'not-tar'
        ? `${label} is not a tar archive (not a custody bundle)`
        : `${label} is a tar archive but not a custody bundle (no <name>/bagit.txt first)`;
  return new CustodyError('MALFORMED_BUNDLE', message, cause === undefined ? {} : { cause });
}
