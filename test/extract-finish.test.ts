/**
 * The finishing pass of extract (finishExtraction) sets each file's sealed
 * time unless the writer thread did already; with nothing left to do per
 * file (times set, no name renamed or restored to its original bytes) it
 * does not walk the files at all, and leaves them as they are. The sink
 * keeps a time (so the reader need not) only where its writer thread will
 * set it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CustodyManifest } from '../src/bundle/custody-manifest.js';
import { directorySink, finishExtraction, type FileTimes } from '../src/bundle/extract.js';
import { tempDir } from './helpers/cli.js';

const SEALED = Date.parse('2024-03-01T10:20:30.456Z');

function tree(): { root: string; files: FileTimes; m: CustodyManifest } {
  const root = tempDir('custody-finish-');
  const paths = ['data/it/a.txt', 'data/it/sub/b.txt'];
  for (const p of paths) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), p);
  }
  const files: FileTimes = { count: paths.length, path: (i) => paths[i]!, item: () => 'it', mtime: (i) => SEALED + i * 1000, nameBytes: () => undefined, anyNameBytes: false };
  const m = { items: [{ id: 'it', emptyDirectories: [] }], files: [] } as unknown as CustodyManifest;
  return { root, files, m };
}

describe('finishing an extraction', () => {
  it('sets every file time as sealed where the writer thread did not', async () => {
    const { root, files, m } = tree();
    expect(await finishExtraction(root, m, undefined, files, false)).toEqual([]);
    expect(fs.statSync(path.join(root, 'data/it/a.txt')).mtimeMs).toBe(SEALED);
    expect(fs.statSync(path.join(root, 'data/it/sub/b.txt')).mtimeMs).toBe(SEALED + 1000);
  });

  it('leaves the files alone where the writer thread set the times and no name is renamed or restored', async () => {
    const { root, files, m } = tree();
    const before = fs.statSync(path.join(root, 'data/it/a.txt')).mtimeMs;
    let asked = 0;
    const counted: FileTimes = { ...files, path: (i) => (asked++, files.path(i)) };
    expect(await finishExtraction(root, m, undefined, counted, true)).toEqual([]);
    expect(asked).toBe(0);
    expect(fs.statSync(path.join(root, 'data/it/a.txt')).mtimeMs).toBe(before);
  });

  it('the sink takes a time only where its writer thread will set it; the reader keeps the others for the finishing pass', async () => {
    const before = directorySink(tempDir('custody-sink-'));
    expect(before.fileTime!(0, SEALED)).toBe(false);
    expect(before.fileTimesSet()).toBe(false);
    await before.close();
    const withWriter = directorySink(tempDir('custody-sink-'));
    const f = await withWriter.beginPayload('data/it/x', 1);
    await f.write(Uint8Array.of(1));
    await f.end();
    expect(withWriter.fileTime!(0, SEALED)).toBe(true);
    expect(withWriter.fileTimesSet()).toBe(true);
    await withWriter.drain();
    await withWriter.close();
  });
});
