/**
 * An append reuses a header walk made before it took the lock (receive walks
 * the headers to read the chain before it hashes the evidence) only while
 * that walk still describes the file; after anything another command may
 * have done in between, the headers are walked again under the lock.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendMembers } from '../src/bundle/tar-append.js';
import { locateEndOfData } from '../src/bundle/tar-locate.js';
import { TarWriter } from '../src/bundle/tar-writer.js';
import { tempDir } from './helpers/cli.js';
import { readAll } from './helpers/tar-read.js';

const enc = new TextEncoder();
const RECORD = { name: 'bag/custody/chain/0001-transfer.dsse.json', bytes: new Uint8Array(700).fill(0x7b) };
const NEXT = { name: 'bag/custody/chain/0002-receive.dsse.json', bytes: enc.encode('{"next":true}\n') };

async function makeBundle(dir: string, name = 'case.tar'): Promise<string> {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'w');
  const w = new TarWriter(fd);
  await w.addDirectory('bag');
  await w.addFile('bag/bagit.txt', enc.encode('BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n'));
  await w.addFile('bag/custody/chain/0000-seal.dsse.json', enc.encode('{"payloadType":"x","payload":"e30=","signatures":[]}\n'));
  await w.finish();
  fs.closeSync(fd);
  return file;
}

/** The walk a reader makes without the lock, with the file's identity. */
async function walk(file: string) {
  const fh = await fsp.open(file, 'r');
  try {
    const st = await fh.stat({ bigint: true });
    const located = await locateEndOfData(fh, Number(st.size));
    return { located, dev: st.dev, ino: st.ino };
  } finally {
    await fh.close();
  }
}

const names = async (file: string) => (await readAll(fs.readFileSync(file))).members.map((m) => m.name);

describe('appending with a walk made before the lock', () => {
  it('uses the walk when nothing changed since (a member list it alone holds decides the name check)', async () => {
    const file = await makeBundle(tempDir());
    const before = await walk(file);
    // Doctored so that reuse shows: were the headers walked again, the name would be free.
    const doctored = { ...before, located: { ...before.located, members: [...before.located.members, { ...before.located.members[0]!, name: RECORD.name }] } };
    await expect(appendMembers(file, [RECORD], { expectEndOfData: before.located.endOfData, walkedBefore: doctored })).rejects.toThrow(/0001-transfer/);
    // The same walk, as made: the record is appended where the walk said the data ends.
    await appendMembers(file, [RECORD], { expectEndOfData: before.located.endOfData, walkedBefore: before });
    expect((await names(file)).slice(-2)).toEqual(['bag/custody/chain/0000-seal.dsse.json', RECORD.name]);
  });

  it('refuses when another command appended since the walk, and leaves that append as it is', async () => {
    const file = await makeBundle(tempDir());
    const before = await walk(file);
    await appendMembers(file, [RECORD]);
    const after = fs.readFileSync(file);
    await expect(appendMembers(file, [NEXT], { expectEndOfData: before.located.endOfData, walkedBefore: before })).rejects.toThrow(/changed since it was read/);
    expect(fs.readFileSync(file).equals(after)).toBe(true);
  });

  it('walks again for another file put in its place, even one of the same size', async () => {
    const dir = tempDir();
    const file = await makeBundle(dir);
    const before = await walk(file);
    const doctored = { ...before, located: { ...before.located, members: [...before.located.members, { ...before.located.members[0]!, name: RECORD.name }] } };
    fs.renameSync(await makeBundle(dir, 'other.tar'), file); // same bytes, another inode
    await appendMembers(file, [RECORD], { expectEndOfData: before.located.endOfData, walkedBefore: doctored });
    expect((await names(file)).pop()).toBe(RECORD.name);
  });
});
