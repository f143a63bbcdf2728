/**
 * The files of one item, held compactly: the names of a folder of 1,000,000
 * files as one byte buffer with offsets, sizes and times in typed arrays
 * (about 60 bytes a file, where an object per file took 360), so that
 * collecting a large export does not exhaust memory before a byte is hashed.
 * Also the order BagIt manifests list the files in (by path bytes), computed
 * once while walking, so that seal can write them sorted without holding
 * every path as a string.
 *
 * An ItemFile object is made only when one file is looked at.
 */
import path from 'node:path';
import { escapePathBytes } from './layout.js';

export interface ItemFile {
  /** Path on disk, to read (its bytes, where a name in it is not valid UTF-8). */
  abs: string | Buffer;
  /** The original bytes of `rel`, where a name in it is not valid UTF-8 (`rel` is then escaped: escapeNameBytes). */
  relBytes?: Buffer;
  /** Path inside the item ('/'-separated, as on disk). */
  rel: string;
  size: number;
  mtime: Date;
}

function grown<T extends Float64Array | Uint8Array>(a: T, need: number, make: (n: number) => T): T {
  if (need <= a.length) return a;
  const b = make(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

export class ItemFiles implements Iterable<ItemFile> {
  /** Files added as objects (a single file, image segments); then the compact arrays are unused. */
  private readonly objects: ItemFile[] = [];
  private names = Buffer.alloc(1 << 12);
  private namesLength = 0;
  private starts = new Float64Array(64);
  private sizes = new Float64Array(64);
  private mtimes = new Float64Array(64);
  /** 1: some component of the path is not valid UTF-8 (the path is sealed escaped, read by its bytes). */
  private escaped = new Uint8Array(64);
  private count = 0;
  /** Sum of the sizes. */
  totalBytes = 0;
  /**
   * Indexes of the files in the order of their paths' bytes (the manifests'
   * order); undefined = the order they were added in is that order.
   */
  sorted: ArrayLike<number> | undefined;

  /** `base`: the item's folder on disk (walked files are `base/rel`). */
  constructor(private readonly base: string) {}

  get length(): number {
    return this.objects.length + this.count;
  }

  push(f: ItemFile): void {
    if (this.count > 0) throw new Error('ItemFiles: objects and walked files do not mix');
    this.objects.push(f);
    this.totalBytes += f.size;
  }

  /** A file found by walking `base`: its path inside the item as bytes. Returns its index. */
  pushWalked(relBytes: Uint8Array, escaped: boolean, size: number, mtimeMs: number): number {
    if (this.objects.length > 0) throw new Error('ItemFiles: objects and walked files do not mix');
    const i = this.count++;
    this.names = grown(this.names, this.namesLength + relBytes.length, (n) => Buffer.alloc(n));
    this.names.set(relBytes, this.namesLength);
    this.starts = grown(this.starts, this.count + 1, (n) => new Float64Array(n));
    this.sizes = grown(this.sizes, this.count, (n) => new Float64Array(n));
    this.mtimes = grown(this.mtimes, this.count, (n) => new Float64Array(n));
    this.escaped = grown(this.escaped, this.count, (n) => new Uint8Array(n));
    this.starts[i] = this.namesLength;
    this.namesLength += relBytes.length;
    this.starts[i + 1] = this.namesLength;
    this.sizes[i] = size;
    this.mtimes[i] = mtimeMs;
    this.escaped[i] = escaped ? 1 : 0;
    this.totalBytes += size;
    return i;
  }

  size(i: number): number {
    return this.objects.length > 0 ? this.objects[i]!.size : this.sizes[i]!;
  }

  /** The path inside the item, as sealed (escaped where a name is not valid UTF-8). */
  rel(i: number): string {
    if (this.objects.length > 0) return this.objects[i]!.rel;
    const bytes = this.names.subarray(this.starts[i]!, this.starts[i + 1]!);
    return this.escaped[i] ? escapePathBytes(bytes) : bytes.toString('utf8');
  }

  get(i: number): ItemFile {
    if (this.objects.length > 0) return this.objects[i]!;
    const rel = this.rel(i);
    const f: ItemFile = { abs: '', rel, size: this.sizes[i]!, mtime: new Date(Math.round(this.mtimes[i]!)) }; // as Node makes Stats.mtime
    if (this.escaped[i]) {
      const relBytes = Buffer.from(this.names.subarray(this.starts[i]!, this.starts[i + 1]!));
      f.relBytes = relBytes;
      f.abs = Buffer.concat([Buffer.from(this.base), Buffer.from('/'), relBytes]);
    } else {
      f.abs = path.join(this.base, rel);
    }
    return f;
  }

  /** Manifest order (path bytes) as indexes. */
  order(): ArrayLike<number> {
    return this.sorted ?? Array.from({ length: this.length }, (_, i) => i);
  }

  *[Symbol.iterator](): Iterator<ItemFile> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  /** Gives back the spare room of the growable arrays once the walk is done. */
  trim(): void {
    if (this.count === 0) return;
    this.names = Buffer.from(this.names.subarray(0, this.namesLength));
    this.starts = this.starts.slice(0, this.count + 1);
    this.sizes = this.sizes.slice(0, this.count);
    this.mtimes = this.mtimes.slice(0, this.count);
    this.escaped = this.escaped.slice(0, this.count);
  }
}
