/**
 * File access for multi-file images: opens EWF segments by number and finds
 * the segments of a split raw image beside its first one. The only module of
 * the image readers that touches node:fs, so the parsers stay usable on bytes
 * from anywhere (a browser File, a tar member).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CustodyError, fromSystemError } from '../errors.js';
import type { SegmentReader, SegmentSource } from './reader.js';
import { isEwfSignature } from './format.js';
import { ewfFirst, ewfSegmentNumber, ewfSegmentPath, splitNumber, splitPath, splitScheme } from './segments.js';

export async function openSegment(p: string): Promise<SegmentReader | undefined> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(p, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromSystemError(e, p);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new CustodyError('USAGE', `${p} is not a regular file`);
  }
  return {
    name: p,
    size: st.size,
    readInto: async (position, target) => {
      try {
        return (await fh.read(target, 0, target.length, position)).bytesRead;
      } catch (e) {
        throw fromSystemError(e, p);
      }
    },
    close: () => fh.close().catch(() => {}),
  };
}

async function siblings(p: string): Promise<string[]> {
  const dir = path.dirname(p);
  try {
    return (await fs.readdir(dir)).map((n) => (dir === '.' && !p.startsWith('./') ? n : path.join(dir, n)));
  } catch (e) {
    throw fromSystemError(e, dir);
  }
}

/** Segments of the EWF image whose first segment is `first`, opened one at a time as the reader walks. */
export function ewfSource(first: string): SegmentSource {
  return {
    nameOf: (n) => ewfSegmentPath(first, n) ?? `segment ${n}`,
    open: async (n) => {
      const p = ewfSegmentPath(first, n);
      return p === undefined ? undefined : openSegment(p);
    },
  };
}

/** The other segment files of the EWF set beside `first` (for seal, and to fold `img.E0*` globs into one image). */
export async function ewfSegmentFiles(first: string): Promise<string[]> {
  const numbered = new Map<number, string>();
  for (const p of await siblings(first)) {
    const n = ewfSegmentNumber(first, p);
    if (n !== undefined) numbered.set(n, p);
  }
  const out: string[] = [];
  for (let n = 1; numbered.has(n); n++) out.push(numbered.get(n)!);
  const stray = [...numbered.keys()].filter((n) => n > out.length);
  if (stray.length > 0) {
    const missing = ewfSegmentPath(first, out.length + 1)!;
    throw new CustodyError('SEGMENT_MISSING', `segment ${missing} is missing, but ${numbered.get(Math.min(...stray))} exists`, {
      hint: 'keep every segment file of the image side by side',
    });
  }
  return out;
}

export interface SplitSegment {
  path: string;
  size: number;
}

/**
 * The segments of a split raw image, in order: `paths` as given (checked for
 * order and gaps), or, given only the first, every segment found beside it.
 * Every segment but the last must be as long as the first: a short one in
 * the middle is a copy that stopped early, and hashing on would give a hash
 * of a different image.
 */
export async function splitSegments(paths: string[]): Promise<SplitSegment[]> {
  const first = paths[0]!;
  const scheme = splitScheme(first);
  let list: string[];
  if (!scheme) {
    if (paths.length === 1) throw new CustodyError('USAGE', `${first} is not named like the first segment of a split image (image.001, image.aa)`);
    list = paths; // names without a scheme: trust the order given
  } else {
    const present = new Map<number, string>();
    for (const p of await siblings(first)) {
      const n = splitNumber(scheme, p);
      if (n !== undefined) present.set(n, p);
    }
    const before = scheme.start - 1;
    if (paths.length === 1 && (scheme.kind === 'alpha' ? before >= 0 : before >= 1) && present.has(before)) {
      throw new CustodyError('USAGE', `${first} is not the first segment: ${present.get(before)} exists`, { hint: 'give the first segment' });
    }
    if (paths.length > 1) {
      const numbers = paths.map((p) => {
        const n = splitNumber(scheme, p);
        if (n === undefined) throw new CustodyError('USAGE', `${p} is not a segment of the split image ${first} (named differently)`);
        return n;
      });
      const sorted = [...numbers].sort((a, b) => a - b);
      if (numbers.some((n, i) => n !== sorted[i])) {
        const order = sorted.map((n) => paths[numbers.indexOf(n)]!);
        throw new CustodyError('USAGE', `split segments are out of order: ${paths.join(' ')}`, { hint: `give them in order: ${order.join(' ')}` });
      }
      for (let i = 1; i < numbers.length; i++) {
        if (numbers[i] === numbers[i - 1]) throw new CustodyError('USAGE', `split segment ${paths[i]} is given twice`);
        if (numbers[i] !== numbers[i - 1]! + 1) {
          throw new CustodyError('SEGMENT_MISSING', `segment ${splitPath(scheme, numbers[i - 1]! + 1)} is missing between ${paths[i - 1]} and ${paths[i]}`);
        }
      }
      list = paths;
    } else {
      list = [];
      for (let n = scheme.start; present.has(n); n++) list.push(present.get(n)!);
    }
    const after = [...present.keys()].filter((n) => n >= scheme.start + list.length);
    if (paths.length === 1 && after.length > 0) {
      throw new CustodyError('SEGMENT_MISSING', `segment ${splitPath(scheme, scheme.start + list.length)} is missing, but ${present.get(Math.min(...after))} exists`);
    }
    if (list.length === 0) throw fromSystemError(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }), first);
  }
  const out: SplitSegment[] = [];
  for (const p of list) {
    let st;
    try {
      st = await fs.stat(p);
    } catch (e) {
      throw fromSystemError(e, p);
    }
    if (!st.isFile()) throw new CustodyError('USAGE', `${p} is not a regular file`);
    out.push({ path: p, size: st.size });
  }
  for (let i = 1; i < out.length - 1; i++) {
    if (out[i]!.size !== out[0]!.size) {
      throw new CustodyError('SEGMENT_TRUNCATED', `segment ${out[i]!.path} has ${out[i]!.size} bytes, but ${out[0]!.path} has ${out[0]!.size}: a segment before the last is short`);
    }
  }
  if (out.length > 1 && out[out.length - 1]!.size > out[0]!.size) {
    throw new CustodyError('SEGMENT_TRUNCATED', `the last segment ${out[out.length - 1]!.path} is longer than ${out[0]!.path}: the earlier segments look truncated`);
  }
  return out;
}

/** True when `p` is named like a first EWF segment and starts with the EWF signature. */
export async function isEwfImage(p: string): Promise<boolean> {
  if (!ewfFirst(p)) return false;
  const seg = await openSegment(p).catch(() => undefined);
  if (!seg) return false;
  try {
    const b = new Uint8Array(8);
    return (await seg.readInto(0, b)) === 8 && isEwfSignature(b);
  } finally {
    await seg.close();
  }
}

/**
 * Of the paths given to `hash`, which are EWF images (their first segment),
 * and which given paths are later segments of one of them (a shell glob
 * `img.E*` names them all; they are part of that image, not files of their own).
 */
export async function findEwfImages(paths: string[]): Promise<{ images: Set<string>; absorbed: Set<string> }> {
  const images = new Set<string>();
  for (const p of paths) if (await isEwfImage(p)) images.add(p);
  const absorbed = new Set<string>();
  for (const p of paths) {
    if (images.has(p)) continue;
    for (const first of images) {
      const n = ewfSegmentNumber(first, p);
      if (n !== undefined && n > 1) absorbed.add(p);
    }
  }
  return { images, absorbed };
}
