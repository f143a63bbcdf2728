/**
 * Turns the paths given to `custody hash` into the list of inputs, before any
 * byte is hashed: a missing path fails at once (exit 2) instead of after an
 * hour spent on the image next to it.
 */
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

async function walk(dir: string, out: HashInput[], skipped: string[]): Promise<void> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).sort(); // byte order: the same list on every run and machine
  } catch (e) {
    throw fromSystemError(e, dir);
  }
  for (const name of names) {
    const p = join(dir, name);
    let st;
    try {
      st = await fs.lstat(p);
    } catch (e) {
      throw fromSystemError(e, p);
    }
    // Symlinks are not followed inside a tree: they could point outside it or loop.
    if (st.isDirectory()) await walk(p, out, skipped);
    else if (st.isFile()) out.push({ path: p, kind: 'file', size: st.size });
    else skipped.push(p);
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
      await walk(p, inputs, skipped);
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
