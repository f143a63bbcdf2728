/**
 * The hash algorithms custody computes, how they are named on the command
 * line, and the size syntax used by `--piece`. Pure parsing: no I/O.
 */
import { CustodyError } from './errors.js';

export const ALGOS = ['md5', 'sha1', 'sha256', 'sha512', 'sha3-256', 'blake3'] as const;
export type Algo = (typeof ALGOS)[number];

/** What examiners' imaging tools (FTK Imager, dc3dd, ewfacquire) print, so hashes can be compared. */
export const DEFAULT_ALGOS: Algo[] = ['md5', 'sha1', 'sha256'];

/** Hex digest length of each algorithm (used to recognise sums files). */
export const HEX_LENGTH: Record<Algo, number> = {
  md5: 32,
  sha1: 40,
  sha256: 64,
  sha512: 128,
  'sha3-256': 64,
  blake3: 64,
};

/**
 * Relative CPU cost per byte measured on the reference machine (ms per MiB,
 * one core): used only to balance algorithms across worker threads.
 */
export const ALGO_COST: Record<Algo, number> = {
  md5: 1.48,
  sha1: 0.71,
  sha256: 0.83,
  sha512: 1.14,
  'sha3-256': 3.42,
  blake3: 1.47,
};

export function isAlgo(s: string): s is Algo {
  return (ALGOS as readonly string[]).includes(s);
}

/** `md5,sha1,sha256` → ['md5','sha1','sha256']; accepts `SHA-256`/`sha_256` spellings. */
export function parseAlgoList(s: string): Algo[] {
  const names = s.split(',').map((x) => x.trim().toLowerCase());
  if (names.length === 0 || names.some((n) => n === '')) {
    throw new CustodyError('USAGE', `empty algorithm in --algo '${s}'`, { hint: `choose from ${ALGOS.join(', ')}` });
  }
  const out: Algo[] = [];
  for (const raw of names) {
    const n = raw === 'sha3_256' || raw === 'sha3' ? 'sha3-256' : raw.replace(/^sha-(1|256|512)$/, 'sha$1');
    if (!isAlgo(n)) {
      throw new CustodyError('USAGE', `unknown hash algorithm '${raw}'`, { hint: `choose from ${ALGOS.join(', ')}` });
    }
    if (out.includes(n)) throw new CustodyError('USAGE', `hash algorithm '${n}' given twice`);
    out.push(n);
  }
  return out;
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** '64MiB' → 67108864, '4096' → 4096, '0' → 0. Whole bytes only; refuses anything it cannot read exactly. */
export function parseSize(s: string): number {
  const m = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(s);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new CustodyError('USAGE', `cannot read size '${s}'`, { hint: 'e.g. 64MiB, 1GiB, 4096' });
  }
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(n)) throw new CustodyError('USAGE', `size '${s}' is too large`);
  return n;
}

/** 67108864 → '64 MiB' (for people). */
export function formatSize(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  return `${v} ${units[i]}`;
}
