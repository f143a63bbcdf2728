/**
 * Turns the paths given to `custody hash` into the list of inputs, before any
 * byte is hashed: a missing path fails at once (exit 2) instead of after an
 * hour spent on the image next to it.
 */
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import { CustodyError, fromSystemError } from './errors.js';

export interface HashInput {
  /** As the user gave it; under -r, the given directory + '/' + the relative name. */
  path: string;
  kind: 'file' | 'stdin' | 'device';
  /** Known for regular files (for progress), undefined for stdin and devices. */
  size?: number;
}

export interface ExpandResult {
  inputs: HashInput[];
  /** Entries -r passed over (symlinks, sockets), for a note to the user. */
  skipped: string[];
}

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/**
 * Synchronous calls: a round trip through the thread pool per entry (readdir,
 * then lstat of each name) made a tree of 10,000 small files wait seconds on
 * a busy machine before a byte was hashed. The entry types come with the
 * listing; only regular files are stat'ed (for their size).
 */
function walk(dir: string, out: HashInput[], skipped: string[]): void {
  let entries: import('node:fs').Dirent[];
  try {
    entries = fsSync.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw fromSystemError(e, dir);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)); // the same list on every run and machine
  for (const d of entries) {
    const p = join(dir, d.name);
    // Symlinks are not followed inside a tree: they could point outside it or loop.
    if (d.isDirectory()) walk(p, out, skipped);
    else if (d.isFile()) {
      let size: number;
      try {
        size = fsSync.lstatSync(p).size;
      } catch (e) {
        throw fromSystemError(e, p);
      }
      out.push({ path: p, kind: 'file', size });
    } else skipped.push(p);
  }
}

export async function expandInputs(paths: string[], recursive: boolean): Promise<ExpandResult> {
  const inputs: HashInput[] = [];
  const skipped: string[] = [];
  let stdinSeen = false;
  for (const p of paths) {
    if (p === '-') {
      if (stdinSeen) throw new CustodyError('USAGE', "'-' (stdin) given twice");
      stdinSeen = true;
      inputs.push({ path: '-', kind: 'stdin' });
      continue;
    }
    let st;
    try {
      st = await fs.stat(p); // a path named by the user is followed if it is a symlink
    } catch (e) {
      throw fromSystemError(e, p);
    }
    if (st.isDirectory()) {
      if (!recursive) throw new CustodyError('USAGE', `${p} is a directory`, { hint: 'use -r to hash the files inside it' });
      walk(p, inputs, skipped);
    } else if (st.isFile()) {
      inputs.push({ path: p, kind: 'file', size: st.size });
    } else {
      inputs.push({ path: p, kind: 'device' }); // block devices, FIFOs: read to the end, size unknown up front
    }
  }
  return { inputs, skipped };
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
