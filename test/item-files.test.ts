/**
 * Seal's walk keeps each file as its folder's number and its own name
 * (item-files.ts). Every accessor must give back what a plain walk of the
 * same tree finds: the path inside the item, the original bytes where a name
 * is not valid UTF-8 (in a folder name or the file's own), the file to read
 * (its contents), size and time — for random trees with files at every depth,
 * folders holding only folders, and names that need the escape.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { collectItems } from '../src/bundle/collect-items.js';
import { escapePathBytes } from '../src/bundle/layout.js';
import { tempDir } from './helpers/cli.js';

const root = tempDir('custody-item-files-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A name component: plain ASCII, accented UTF-8, or bytes that are not valid UTF-8. */
const component = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,7}$/).map((s) => Buffer.from(s)),
  fc.constantFrom('é', 'ü-x', 'naïve').map((s) => Buffer.from(s)),
  fc.uint8Array({ minLength: 1, maxLength: 3 }).map((b) => Buffer.concat([Buffer.from('n'), Buffer.from(b.map((x) => 0x80 | (x & 0x3f)))])),
);
/** A path of 1–4 components. */
const filePath = fc.array(component, { minLength: 1, maxLength: 4 });

/** Every file under dir (bytes of its path inside dir → bytes), walked plainly. */
function plainWalk(dir: Buffer, rel: Buffer | undefined, out: Map<string, { rel: Buffer; abs: Buffer }>): void {
  for (const name of fs.readdirSync(dir, { encoding: 'buffer' })) {
    const abs = Buffer.concat([dir, Buffer.from('/'), name]);
    const r = rel === undefined ? name : Buffer.concat([rel, Buffer.from('/'), name]);
    if (fs.lstatSync(abs).isDirectory()) plainWalk(abs, r, out);
    else out.set(r.toString('hex'), { rel: r, abs });
  }
}

const validUtf8 = (b: Buffer) => Buffer.from(b.toString('utf8')).equals(b);

describe('the files of a walked item', () => {
  it('give back every file path, its original bytes, its contents, size and time, as a plain walk finds them', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(filePath, { minLength: 1, maxLength: 25, selector: (p) => Buffer.concat(p).toString('hex') }), async (paths) => {
        const item = Buffer.from(path.join(root, `t${run++}`));
        fs.mkdirSync(item);
        let n = 0;
        for (const p of paths) {
          const abs = Buffer.concat([item, ...p.flatMap((c) => [Buffer.from('/'), c])]);
          const parent = abs.subarray(0, abs.lastIndexOf(0x2f));
          try {
            fs.mkdirSync(parent, { recursive: true });
            fs.writeFileSync(abs, `file ${n++}`);
          } catch {
            // a path whose folder is already a file (or the reverse): the tree keeps the first
          }
        }
        const want = new Map<string, { rel: Buffer; abs: Buffer }>();
        plainWalk(item, undefined, want);
        const [it] = await collectItems([{ path: item.toString(), meta: {} }]).catch((e: unknown) => {
          // Two names whose escapes collide are refused (names-as-they-are.test.ts); not this test's case.
          if (String(e).includes('would be sealed as')) return [undefined];
          throw e;
        });
        if (it === undefined) return;
        const files = it.files;
        expect(files.length).toBe(want.size);
        const seen = new Set<string>();
        for (let i = 0; i < files.length; i++) {
          const f = files.get(i);
          const bytes = Buffer.from(files.relBytes(i) ?? Buffer.from(files.rel(i)));
          const w = want.get(bytes.toString('hex'));
          expect(w, files.rel(i)).toBeDefined();
          seen.add(bytes.toString('hex'));
          const plain = validUtf8(w!.rel);
          expect(files.rel(i)).toBe(plain ? w!.rel.toString('utf8') : escapePathBytes(w!.rel));
          expect(f.rel).toBe(files.rel(i));
          expect(files.relBytes(i) === undefined).toBe(plain);
          if (!plain) expect(Buffer.from(f.relBytes!).equals(w!.rel)).toBe(true);
          expect(fs.readFileSync(f.abs)).toEqual(fs.readFileSync(w!.abs));
          const st = fs.statSync(w!.abs);
          expect(files.size(i)).toBe(st.size);
          expect(files.mtime(i).getTime()).toBe(st.mtime.getTime());
        }
        expect(seen.size).toBe(want.size);
      }),
      { numRuns: 60 },
    );
  });
});
