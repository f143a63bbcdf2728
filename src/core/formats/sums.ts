/**
 * coreutils checksum files (`sha256sum`, `md5sum`, `b3sum` …): one algorithm
 * per file, `<hex>  <path>`. A path holding a backslash or line break is
 * escaped the way coreutils does it (line starts with `\`), so that a crafted
 * file name cannot inject a second line into the list.
 */
import { HEX_LENGTH, type Algo } from '../algorithms.js';
import { CustodyError } from '../errors.js';
import type { FileHash, ReferenceEntry } from './result.js';

/**
 * Which algorithm a sums file holds: sha256 when it was computed (the default,
 * and what `sha256sum -c` checks), otherwise the only algorithm asked for.
 */
export function sumsAlgo(algos: Algo[]): Algo {
  if (algos.includes('sha256')) return 'sha256';
  if (algos.length === 1) return algos[0]!;
  throw new CustodyError('USAGE', `--format sums holds one algorithm; --algo ${algos.join(',')} is ambiguous`, {
    hint: 'add sha256 or give one algorithm, e.g. --algo md5',
  });
}

function escapePath(p: string): { escaped: boolean; text: string } {
  if (!/[\\\n\r]/.test(p)) return { escaped: false, text: p };
  return { escaped: true, text: p.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r') };
}

export function formatSums(files: FileHash[], algo: Algo): string[] {
  return files.map((f) => {
    const hex = f.digests[algo];
    if (hex === undefined) throw new CustodyError('INTERNAL', `${algo} was not computed for ${f.path}`);
    const { escaped, text } = escapePath(f.path);
    return `${escaped ? '\\' : ''}${hex}  ${text}`;
  });
}

function unescapePath(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

const TAGGED: Record<string, Algo> = { MD5: 'md5', SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512', 'SHA3-256': 'sha3-256', BLAKE3: 'blake3' };

/**
 * GNU (`<hex>  path`, `<hex> *path`) and BSD tagged (`SHA256 (path) = <hex>`)
 * lines. A bare 64-hex digest is read as `bare64` (sha256 unless told otherwise).
 */
export function parseSums(text: string, bare64: Algo = 'sha256'): ReferenceEntry[] {
  const byLength = new Map<number, Algo>([
    [32, 'md5'],
    [40, 'sha1'],
    [64, bare64],
    [128, 'sha512'],
  ]);
  const out: ReferenceEntry[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, i) => {
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) return;
    const escaped = line.startsWith('\\');
    if (escaped) line = line.slice(1);
    const fix = (p: string) => (escaped ? unescapePath(p) : p);
    const tagged = /^([A-Z0-9-]+) \((.*)\) = ([0-9a-fA-F]+)$/.exec(line);
    if (tagged) {
      const algo = TAGGED[tagged[1]!];
      if (!algo || tagged[3]!.length !== HEX_LENGTH[algo]) throw badLine(i, raw);
      out.push({ path: fix(tagged[2]!), digests: { [algo]: tagged[3]!.toLowerCase() } });
      return;
    }
    const gnu = /^([0-9a-fA-F]+) [ *](.+)$/.exec(line);
    const algo = gnu ? byLength.get(gnu[1]!.length) : undefined;
    if (!gnu || !algo) throw badLine(i, raw);
    out.push({ path: fix(gnu[2]!), digests: { [algo]: gnu[1]!.toLowerCase() } });
  });
  return out;
}

function badLine(i: number, raw: string): CustodyError {
  return new CustodyError('USAGE', `check file line ${i + 1} is not a checksum line: ${JSON.stringify(raw.slice(0, 80))}`);
}
