#!/usr/bin/env node
/**
 * Writes a tree of many small files for the small-file bench and the big
 * tests: `node test/bench/make-tree.mjs <dir> <files> [minBytes] [maxBytes]`.
 * Deterministic (seeded by the file count): 3–6 folder levels, ~100 files per
 * folder, sizes uniform in [minBytes, maxBytes] (default 1–64 KiB), contents
 * from an AES-CTR keystream (cheap, incompressible). A finished tree carries
 * `<dir>.complete` beside it; running again on it does nothing, so a tree is made once
 * under /tmp and reused.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function makeTree(dir, files, minBytes = 1024, maxBytes = 64 << 10) {
  const marker = `${dir}.complete`; // beside the tree, not in it
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === `${files} ${minBytes} ${maxBytes}\n`) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const key = crypto.createHash('sha256').update(`custody-tree-${files}`).digest();
  const stream = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  let pool = stream.update(zeros);
  let poolAt = 0;
  const take = (n) => {
    if (poolAt + n > pool.length) {
      pool = stream.update(zeros);
      poolAt = 0;
    }
    poolAt += n;
    return pool.subarray(poolAt - n, poolAt);
  };
  // A small deterministic PRNG for sizes and depths (xorshift32).
  let s = 0x9e3779b9 ^ files;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
  const perFolder = 100;
  const made = new Set();
  for (let i = 0; i < files; i++) {
    const folder = Math.floor(i / perFolder);
    const depth = 3 + (folder % 4); // 3–6 levels
    const parts = [];
    let f = folder;
    for (let d = 0; d < depth; d++) {
      parts.push(`d${d}-${f % 10}`);
      f = Math.floor(f / 10);
    }
    parts.push(`f${folder}`);
    const sub = path.join(dir, ...parts);
    if (!made.has(sub)) {
      fs.mkdirSync(sub, { recursive: true });
      made.add(sub);
    }
    const size = minBytes + Math.floor(rnd() * (maxBytes - minBytes + 1));
    fs.writeFileSync(path.join(sub, `file-${i}.bin`), size <= 0 ? '' : take(size));
  }
  fs.writeFileSync(marker, `${files} ${minBytes} ${maxBytes}\n`);
  return dir;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, files, min, max] = process.argv.slice(2);
  if (!dir || !files) {
    process.stderr.write('usage: make-tree.mjs <dir> <files> [minBytes] [maxBytes]\n');
    process.exit(2);
  }
  makeTree(dir, Number(files), min === undefined ? undefined : Number(min), max === undefined ? undefined : Number(max));
}
