/**
 * HASHDEEP-1.0 known-file lists, as written by `hashdeep` and audited by
 * `hashdeep -a -k`. hashdeep knows md5, sha1, sha256, tiger and whirlpool;
 * we write the first three and read any, comparing the ones we compute.
 */
import type { Algo } from '../algorithms.js';
import { CustodyError } from '../errors.js';
import { hasControlChars, type FileHash, type ReferenceEntry } from './result.js';

export const HASHDEEP_ALGOS: Algo[] = ['md5', 'sha1', 'sha256'];

export function hashdeepAlgos(algos: Algo[]): Algo[] {
  const extra = algos.filter((a) => !HASHDEEP_ALGOS.includes(a));
  if (extra.length > 0) {
    throw new CustodyError('USAGE', `--format hashdeep holds only md5, sha1 and sha256, not ${extra.join(', ')}`, {
      hint: 'drop them from --algo or use --format json',
    });
  }
  return HASHDEEP_ALGOS.filter((a) => algos.includes(a)); // hashdeep's own column order
}

export function formatHashdeep(files: FileHash[], algos: Algo[], invokedFrom: string, commandLine: string): string[] {
  const cols = hashdeepAlgos(algos);
  const lines = ['%%%% HASHDEEP-1.0', `%%%% size,${cols.join(',')},filename`, `## Invoked from: ${invokedFrom}`, `## $ ${commandLine}`, '## '];
  for (const f of files) {
    // One record per line, the file name last (it may hold commas): a line break would forge a record.
    if (hasControlChars(f.path)) throw new CustodyError('USAGE', `--format hashdeep cannot hold the file name ${JSON.stringify(f.path)}`);
    lines.push([String(f.size), ...cols.map((a) => f.digests[a]!), f.path].join(','));
  }
  return lines;
}

export function parseHashdeep(text: string): ReferenceEntry[] {
  const lines = text.split(/\r?\n/);
  const header = lines.find((l) => l.startsWith('%%%% ') && /(^|,)filename$/.test(l.slice(5)));
  if (!header) throw new CustodyError('USAGE', 'hashdeep check file has no column header (%%%% size,…,filename)');
  const cols = header.slice(5).split(',');
  if (cols.at(-1) !== 'filename') throw new CustodyError('USAGE', 'hashdeep column header must end with filename');
  const known = new Set<string>(HASHDEEP_ALGOS);
  if (!cols.some((c) => known.has(c))) throw new CustodyError('USAGE', `hashdeep check file holds no md5, sha1 or sha256 column`);
  const out: ReferenceEntry[] = [];
  lines.forEach((line, i) => {
    if (line === '' || line.startsWith('%%%%') || line.startsWith('#')) return;
    const parts = line.split(',');
    if (parts.length < cols.length) throw new CustodyError('USAGE', `hashdeep check file line ${i + 1} has too few fields`);
    const path = parts.slice(cols.length - 1).join(','); // the name is last and may hold commas
    const e: ReferenceEntry = { path, digests: {} };
    cols.slice(0, -1).forEach((c, k) => {
      const v = parts[k]!;
      if (c === 'size') {
        if (!/^\d+$/.test(v)) throw new CustodyError('USAGE', `hashdeep check file line ${i + 1} has a bad size`);
        e.size = Number(v);
      } else if (known.has(c)) {
        if (!/^[0-9a-fA-F]+$/.test(v)) throw new CustodyError('USAGE', `hashdeep check file line ${i + 1} has a bad ${c}`);
        e.digests[c as Algo] = v.toLowerCase();
      }
    });
    out.push(e);
  });
  return out;
}
