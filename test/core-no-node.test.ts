/**
 * The verification core imports no Node: walked from its entry files through
 * every import (type-only imports too, since the verifier page's bundler
 * follows them), no file may import a Node builtin (`node:fs` or plain `fs`),
 * a package not known to run in a browser, or use the `Buffer`/`process`
 * globals. Then: the Node-free code that replaced Buffer and node:crypto
 * gives exactly what the Node code gave.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { blake2b } from '@noble/hashes/blake2.js';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareNames } from '../src/bundle/layout.js';
import { merkleRootHex } from '../src/core/merkle.js';
import { decodeBase64Canonical, fromBase64Strict, fromHexStrict, toBase64, utf8 } from '../src/custody/encoding.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The verification core: these files and everything they import must run in a browser. */
const CORE_ENTRIES = [
  'src/bundle/verify.ts',
  'src/bundle/read-bundle.ts',
  'src/bundle/tar-reader.ts',
  'src/custody/chain.ts',
  'src/custody/dsse.ts',
  'src/custody/record.ts',
  'src/custody/ed25519.ts',
  'src/custody/minisign.ts',
  'src/custody/pem.ts', // trusted keys given to verify as SPKI PEM
  'src/custody/openssh.ts',
  'src/bundle/bag-info.ts',
  'src/bundle/manifests.ts',
  'src/bundle/pieces.ts',
  'src/bundle/custody-manifest.ts',
  'src/bundle/layout.ts',
  'src/core/text.ts',
  'src/core/digest.ts',
  'src/core/hasher.ts',
];

/** Core entry files that still reach Node, checked apart (none left). */
const PENDING_LEAD: string[] = [];

/**
 * Packages the core may import: pure JavaScript, made for browsers and Node
 * alike. Not hash-wasm, although it runs in browsers: it compiles WebAssembly,
 * which the verifier page's CSP (default-src 'none') forbids unless it also
 * grants 'wasm-unsafe-eval'; the core needs none (evidence is hashed by the
 * injected hasher, small digests by @noble/hashes). Everything else — commander,
 * chalk, cli-progress, better-sqlite3, pg, tar-stream … — is refused.
 */
const BROWSER_SAFE_PACKAGES = new Set(['@noble/hashes', '@noble/ed25519']);

const NODE_GLOBALS = ['Buffer', 'process', 'require', '__dirname', '__filename'];

/**
 * The source with comments blanked (`imports`) and, in `code`, the contents of
 * string, template and regular-expression literals blanked too, so a comment
 * or a message that mentions `process` or `from 'node:fs'` is not taken for
 * code. Same length as the source (newlines kept), so offsets give line numbers.
 */
function scanSource(src: string): { imports: string; code: string } {
  let imports = '';
  let code = '';
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  const emit = (forImports: string, forCode: string) => {
    imports += forImports;
    code += forCode;
  };
  const braces: ('template' | 'block')[] = [];
  let prev = ''; // last non-space character of code, to tell a regex from a division
  let i = 0;
  const regexMayStart = () => {
    if (prev === '' || '(,=:[!&|?{};+-*%<>~^'.includes(prev)) return true;
    return /(?:^|[^\w$])(?:return|typeof|case|do|else|in|of|void|yield|await|delete|throw|new)\s*$/.test(code);
  };
  /** A template chunk from i (at ` or at the } closing a ${…}) to its closing ` or its next ${. */
  const templateChunk = () => {
    let j = i + 1;
    while (j < src.length && src[j] !== '`' && !(src[j] === '$' && src[j + 1] === '{')) j += src[j] === '\\' ? 2 : 1;
    const end = src[j] === '`' ? j + 1 : j + 2;
    if (src[j] !== '`') braces.push('template');
    const chunk = src.slice(i, end);
    const tail = src[j] === '`' ? 1 : 2;
    emit(chunk, chunk[0] + blank(chunk.slice(1, chunk.length - tail)) + chunk.slice(chunk.length - tail));
    i = end;
    prev = '`';
  };
  while (i < src.length) {
    const c = src[i]!;
    const d = src[i + 1];
    if (c === '/' && d === '/') {
      const nl = src.indexOf('\n', i);
      const end = nl < 0 ? src.length : nl;
      emit(blank(src.slice(i, end)), blank(src.slice(i, end)));
      i = end;
    } else if (c === '/' && d === '*') {
      const close = src.indexOf('*/', i + 2);
      const end = close < 0 ? src.length : close + 2;
      emit(blank(src.slice(i, end)), blank(src.slice(i, end)));
      i = end;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      const lit = src.slice(i, j + 1);
      emit(lit, c + blank(lit.slice(1, -1)) + c);
      i = j + 1;
      prev = c;
    } else if (c === '`') {
      templateChunk();
    } else if (c === '}' && braces.at(-1) === 'template') {
      braces.pop();
      templateChunk();
    } else if (c === '/' && regexMayStart()) {
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== '\n' && (src[j] !== '/' || inClass)) {
        if (src[j] === '[') inClass = true;
        else if (src[j] === ']') inClass = false;
        j += src[j] === '\\' ? 2 : 1;
      }
      const lit = src.slice(i, j + 1);
      emit(lit, '/' + blank(lit.slice(1, -1)) + '/');
      i = j + 1;
      prev = '/';
    } else {
      if (c === '{') braces.push('block');
      else if (c === '}') braces.pop();
      emit(c, c);
      if (!/\s/.test(c)) prev = c;
      i++;
    }
  }
  return { imports, code };
}

interface Found {
  line: number;
  what: string;
  /** Set for an import: the module specifier. */
  spec?: string;
}

/** Every import specifier (static, side-effect, re-export, type-only, dynamic, `import('x').T`) and every use of a Node global. */
function findNodeUse(src: string): Found[] {
  const { imports, code } = scanSource(src);
  const lineAt = (offset: number) => src.slice(0, offset).split('\n').length;
  const found: Found[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[\w$*{}\s,]*?\bfrom\s*(['"])([^'"\n]+)\1/g,
    /\bimport\s*(['"])([^'"\n]+)\1/g,
    /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of imports.matchAll(re)) found.push({ line: lineAt(m.index), what: `imports ${m[2]}`, spec: m[2]! });
  }
  for (const m of code.matchAll(/\bimport\s*\(\s*(?!['"\s])/g)) {
    found.push({ line: lineAt(m.index), what: 'imports a module whose name is computed (cannot be checked)' });
  }
  const globals = new RegExp(`(?<![\\w$.])(${NODE_GLOBALS.join('|')})(?![\\w$])`, 'g');
  for (const m of code.matchAll(globals)) found.push({ line: lineAt(m.index), what: `uses the Node global ${m[1]}` });
  return found.sort((a, b) => a.line - b.line);
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function isNodeBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || builtinModules.includes(spec) || builtinModules.includes(spec.split('/')[0]!);
}

interface Walk {
  /** Files reached (relative to the repository), entries included. */
  files: Map<string, string[]>;
  /** One line per offence: file:line, what, and the import path that reached the file. */
  problems: string[];
}

/** Follows every relative import from the entries; judges every file reached. */
function walk(entries: string[]): Walk {
  const via = new Map<string, string[]>(); // file -> import chain from an entry
  const queue: string[] = [];
  for (const e of entries) {
    via.set(e, [e]);
    queue.push(e);
  }
  const problems: string[] = [];
  while (queue.length > 0) {
    const file = queue.shift()!;
    const chain = via.get(file)!;
    const reached = chain.length > 1 ? ` (reached via ${chain.join(' → ')})` : '';
    const src = fs.readFileSync(path.join(ROOT, file), 'utf8');
    for (const f of findNodeUse(src)) {
      const where = `${file}:${f.line}`;
      if (f.spec === undefined) {
        problems.push(`${where} ${f.what}${reached}`);
      } else if (f.spec.startsWith('.')) {
        const target = path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), f.spec.replace(/\.js$/, '.ts')));
        if (!fs.existsSync(path.join(ROOT, target))) {
          problems.push(`${where} ${f.what}, which does not resolve to a .ts file${reached}`);
        } else if (!via.has(target)) {
          via.set(target, [...chain, target]);
          queue.push(target);
        }
      } else if (isNodeBuiltin(f.spec)) {
        problems.push(`${where} ${f.what} (a Node builtin)${reached}`);
      } else if (!BROWSER_SAFE_PACKAGES.has(packageName(f.spec))) {
        problems.push(`${where} ${f.what} (package ${packageName(f.spec)} is not on the browser-safe list)${reached}`);
      }
    }
  }
  return { files: via, problems };
}

describe('the verification core runs without Node', () => {
  it('every entry file exists, and the walk reaches the files they import', () => {
    for (const f of [...CORE_ENTRIES, ...PENDING_LEAD]) expect(fs.existsSync(path.join(ROOT, f)), f).toBe(true);
    const { files } = walk(CORE_ENTRIES);
    // Imports the entries do not list themselves: proof the walk follows imports.
    for (const f of ['src/core/errors.ts', 'src/custody/encoding.ts', 'src/custody/strict-json.ts', 'src/custody/identity.ts', 'src/bundle/tar-header.ts']) {
      expect([...files.keys()], f).toContain(f);
    }
    expect(files.size).toBeGreaterThan(CORE_ENTRIES.length);
  });

  it('no file of the core imports a Node builtin or a Node-only package, or uses Buffer or process', () => {
    expect(walk(CORE_ENTRIES).problems).toEqual([]);
  });

  it('the pending entry files are reported (warning) until they reach no Node; then they must join CORE_ENTRIES', () => {
    const clean: string[] = [];
    for (const entry of PENDING_LEAD) {
      const { problems } = walk([entry]);
      if (problems.length === 0) clean.push(entry);
      else console.warn(`PENDING_LEAD ${entry} still reaches Node:\n  ${problems.join('\n  ')}`);
    }
    expect(clean, 'these reach no Node any more: move them from PENDING_LEAD to CORE_ENTRIES').toEqual([]);
  });

  it('the scanner finds imports and globals in code, and not in comments, strings, templates or regexes', () => {
    const src = [
      "import fs from 'node:fs';",
      "import type { X } from 'better-sqlite3';",
      "export { y } from './y.js';",
      "import 'os';",
      'type D = import(\'node:fs\').Dirent;',
      '// process.exit(1) and Buffer.from in a comment',
      '/* import a from "node:path" */',
      "const m = 'process and Buffer in a string';",
      'const t = `Buffer ${Buffer.alloc(1)} process`;',
      'const r = /process|Buffer/g;',
      'const q = a / b / process.pid;',
      'const s = obj.process + x.Buffer;',
      'const z = require("fs");',
    ].join('\n');
    expect(findNodeUse(src).map((f) => `${f.line} ${f.what}`)).toEqual([
      '1 imports node:fs',
      '2 imports better-sqlite3',
      '3 imports ./y.js',
      '4 imports os',
      '5 imports node:fs',
      '9 uses the Node global Buffer',
      '11 uses the Node global process',
      '13 uses the Node global require',
    ]);
  });
});

describe('the Node-free code gives what the Node code gave', () => {
  /** The strict base64 rule as it was written with Buffer. */
  const bufferStrict = (s: string): Uint8Array | null => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
    const b = Buffer.from(s, 'base64');
    return b.toString('base64') === s ? new Uint8Array(b) : null;
  };
  const base64ish = fc.string({ unit: fc.constantFrom(...'AQgw+/=AZaz09 -_.\n'.split('')), maxLength: 12 });

  it('strict base64 accepts and decodes exactly what the Buffer rule did (property)', () => {
    fc.assert(
      fc.property(base64ish, (s) => {
        expect(decodeBase64Canonical(s)).toEqual(bufferStrict(s));
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64');
        expect(toBase64(bytes)).toBe(text);
        expect(fromBase64Strict(text, 'x')).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
    // Non-zero unused bits, missing or extra padding, a lone final character: all refused.
    for (const bad of ['QR==', 'QQ', 'QQ=', 'QUJ=', 'Q', 'QQ==QQ==', 'QQ===']) expect(decodeBase64Canonical(bad), bad).toBeNull();
    expect(toBase64(new Uint8Array(200_000).fill(0xfb))).toBe(Buffer.alloc(200_000, 0xfb).toString('base64'));
  });

  it('strict hex decodes as Buffer did', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        const hex = Buffer.from(bytes).toString('hex');
        expect(fromHexStrict(hex, 'x', 'MALFORMED_BUNDLE', bytes.length)).toEqual(bytes);
      }),
    );
  });

  it('names are ordered and measured by their UTF-8 bytes as Buffer did, lone surrogates included (property)', () => {
    const anyUnits = fc.array(fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0xd7f0, max: 0xe010 }), fc.integer({ min: 0, max: 0xffff })), { maxLength: 6 });
    const text = anyUnits.map((u) => String.fromCharCode(...u));
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(compareNames(a, b)).toBe(Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect(utf8(a).length).toBe(Buffer.byteLength(a));
      }),
      { numRuns: 3000 },
    );
  });

  it('SHA-512 (Ed25519) and BLAKE2b-512 (minisign) from @noble/hashes match OpenSSL (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(Buffer.from(sha512(bytes)).toString('hex')).toBe(createHash('sha512').update(bytes).digest('hex'));
        expect(Buffer.from(blake2b(bytes, { dkLen: 64 })).toString('hex')).toBe(createHash('blake2b512').update(bytes).digest('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('the Merkle root is the RFC 6962 root computed with OpenSSL', () => {
    const h = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
    const leaves = Array.from({ length: 5 }, (_, i) => h(Buffer.from([i])));
    const leaf = (x: Buffer) => h(Buffer.from([0]), x);
    const node = (a: Buffer, b: Buffer) => h(Buffer.from([1]), a, b);
    // Five leaves split 4 + 1 (largest power of two below n).
    const want = node(node(node(leaf(leaves[0]!), leaf(leaves[1]!)), node(leaf(leaves[2]!), leaf(leaves[3]!))), leaf(leaves[4]!));
    expect(merkleRootHex(leaves.map((l) => l.toString('hex')))).toBe(want.toString('hex'));
  });
});
