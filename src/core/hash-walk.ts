/**
 * The inputs of `custody hash` as a stream: the paths named on the command
 * line are checked at once (a missing one, or a directory without -r, fails
 * before any byte is hashed), and the files under a directory are produced as
 * the walk reaches them, so a tree of a million files is never held as a list.
 *
 * Threat guarded against: memory that grows with the evidence (an export of
 * 10⁶ files) and a walk that escapes the tree: symlinks inside it are not
 * followed, only regular files are hashed, and each folder is listed in
 * byte order so the same tree gives the same list on every run and machine.
 * Entry types come with the listing (no stat per file): whoever reads a file
 * learns its size then.
 */
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import { CustodyError, fromSystemError } from './errors.js';
import type { HashInput } from './hash-inputs.js';

export interface InputWalk {
  /** The named paths that are not directories, in order (their size known for regular files). */
  named: HashInput[];
  /** Whether a directory was named (then the file count and total size are not known up front). */
  hasDirectories: boolean;
  /** Every input in order: named files as named, each named directory's files where it stood. */
  inputs(onSkipped?: (path: string) => void): Generator<HashInput>;
}

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

function* walk(dir: string, onSkipped: (path: string) => void): Generator<HashInput> {
  let entries: fsSync.Dirent[];
  try {
    entries = fsSync.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw fromSystemError(e, dir);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of entries) {
    const p = join(dir, d.name);
    if (d.isDirectory()) yield* walk(p, onSkipped);
    else if (d.isFile()) yield { path: p, kind: 'file' };
    else onSkipped(p);
  }
}

export async function walkInputs(paths: string[], recursive: boolean): Promise<InputWalk> {
  type Named = HashInput | { kind: 'dir'; path: string };
  const all: Named[] = [];
  let stdinSeen = false;
  for (const p of paths) {
    if (p === '-') {
      if (stdinSeen) throw new CustodyError('USAGE', "'-' (stdin) given twice");
      stdinSeen = true;
      all.push({ path: '-', kind: 'stdin' });
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
      all.push({ kind: 'dir', path: p });
    } else if (st.isFile()) all.push({ path: p, kind: 'file', size: st.size });
    else all.push({ path: p, kind: 'device' }); // block devices, FIFOs: read to the end, size unknown up front
  }
  return {
    named: all.filter((n): n is HashInput => n.kind !== 'dir'),
    hasDirectories: all.some((n) => n.kind === 'dir'),
    *inputs(onSkipped = () => {}) {
      for (const n of all) {
        if (n.kind === 'dir') yield* walk(n.path, onSkipped);
        else yield n;
      }
    },
  };
}

/**
 * The same inputs as a list, each regular file with its size (one lstat per
 * file): for `hash --check`, which compares the whole tree with the whole list.
 */
export async function expandInputs(paths: string[], recursive: boolean): Promise<{ inputs: HashInput[]; skipped: string[] }> {
  const skipped: string[] = [];
  const inputs: HashInput[] = [];
  for (const i of (await walkInputs(paths, recursive)).inputs((p) => skipped.push(p))) {
    if (i.kind === 'file' && i.size === undefined) {
      try {
        inputs.push({ ...i, size: fsSync.lstatSync(i.path).size });
      } catch (e) {
        throw fromSystemError(e, i.path);
      }
    } else inputs.push(i);
  }
  return { inputs, skipped };
}
