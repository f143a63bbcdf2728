/**
 * What `custody hash` reads: a file, stdin or a device (the paths given are
 * turned into inputs by hash-walk.ts, which checks them all before any byte
 * is hashed: a missing path fails at once, not after an hour spent on the
 * image next to it).
 */

export interface HashInput {
  /** As the user gave it; under -r, the given directory + '/' + the relative name. */
  path: string;
  kind: 'file' | 'stdin' | 'device';
  /** Known for regular files (for progress), undefined for stdin and devices. */
  size?: number;
}

/** Total bytes to read, or undefined when some input's size is not known up front. */
export function totalSize(inputs: HashInput[]): number | undefined {
  let t = 0;
  for (const i of inputs) {
    if (i.size === undefined) return undefined;
    t += i.size;
  }
  return t;
}
