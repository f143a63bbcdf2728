/** The six tar readers (and bagit-python) the tests read bundles with, as a receiving authority would. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli.js';

export const BAGIT = process.env.CUSTODY_BAGIT ?? path.resolve(ROOT, '..', 'shared', 'peers', 'bagit');

/** How each reader extracts a tar into the current folder. */
export const EXTRACTORS: Record<string, (tar: string) => [string, string[]]> = {
  'GNU tar': (tar) => ['tar', ['-xf', tar]],
  bsdtar: (tar) => ['bsdtar', ['-xf', tar]],
  'Python tarfile': (tar) => ['python3', ['-c', 'import sys,tarfile\ntarfile.open(sys.argv[1]).extractall(".", filter="data")', tar]],
  'BusyBox tar': (tar) => ['busybox', ['tar', '-xf', tar]],
  '7-Zip': (tar) => ['7zz', ['x', '-y', '-bd', tar]],
  'MirBSD pax': (tar) => ['pax', ['-r', '-f', tar]],
};

/** Every regular file under `root`: relative name → [size, sha256]. */
export function treeOf(root: string): Map<string, [number, string]> {
  const out = new Map<string, [number, string]>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(root, p), [fs.statSync(p).size, createHash('sha256').update(fs.readFileSync(p)).digest('hex')]);
    }
  };
  walk(root);
  return out;
}

