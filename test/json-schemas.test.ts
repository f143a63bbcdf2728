/**
 * Every command's `--json` document, on success and on failure, checked
 * against its JSON Schema in schemas/ (2020-12, with ajv) through the built
 * CLI, as a lab pipeline runs it. Also: the lists the schemas and README
 * carry (error codes with exit codes, check ids, chain rules, actions) equal
 * the code's; every time field is `at` (a record's) or ends in `At`; seal's
 * document carries every file's hashes.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from './helpers/cli.js';
import { makeMedia } from './helpers/ewf.js';
import { exitCodeFor } from '../src/cli/exit-codes.js';
import { errorCodeTable } from '../src/cli/error-codes.js';
import { RUNTIME_CODES, USAGE_CODES, VERIFICATION_CODES } from '../src/core/errors.js';
// @ts-expect-error: a plain ES module shared with scripts/sync-contract.mjs
import { contractLists, OPS_CHECK_IDS, syncedReadme, syncedSchemas } from '../scripts/contract-lists.mjs';

const SCHEMAS = path.join(ROOT, 'schemas');
const BASE = 'https://custody.invalid/schemas/';
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
for (const f of fs.readdirSync(SCHEMAS)) ajv.addSchema(JSON.parse(fs.readFileSync(path.join(SCHEMAS, f), 'utf8')));
const COMMAND_SCHEMAS = fs.readdirSync(SCHEMAS).map((f) => f.replace(/\.schema\.json$/, '')).filter((n) => n !== 'common' && n !== 'error');

interface Seen {
  schema: string;
  args: string[];
  doc: Record<string, any>;
}
const seen: Seen[] = [];

function validate(schema: string, doc: unknown): void {
  const v = ajv.getSchema(`${BASE}${schema}.schema.json`);
  if (!v) throw new Error(`no schema ${schema}`);
  expect(v(doc), `${schema}: ${ajv.errorsText(v.errors, { separator: '\n' })}\n${JSON.stringify(doc).slice(0, 2000)}`).toBe(true);
}

/** Runs `custody --json …`, checks the exit code, validates the document (failures also against the failure schema). */
function j(schema: string, args: string[], code = 0, cwd?: string): Record<string, any> {
  const r = runCli(['--json', ...args], cwd ? { cwd } : {});
  expect(r.code, `${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(code);
  expect(r.stdout.endsWith('\n') && r.stdout.indexOf('\n') === r.stdout.length - 1, 'one JSON document, one line').toBe(true);
  const doc = JSON.parse(r.stdout) as Record<string, any>;
  expect(doc.ok).toBe(code === 0);
  validate(schema, doc);
  if (code !== 0) {
    validate('error', doc);
    expect(exitCodeFor(doc.error.code)).toBe(code);
  }
  seen.push({ schema, args, doc });
  return doc;
}

let d: string;
let homeE: string; // the examiner
let homeA: string; // the receiving authority
let pubE: string;
let pubA: string;
let fpE: string;
let sealed: string;
let bundle: string;
let tampered: string;

function flipPayloadByte(file: string): void {
  const b = fs.readFileSync(file);
  const at = b.indexOf(Buffer.alloc(64, 7));
  expect(at).toBeGreaterThan(0);
  b[at + 10] ^= 1;
  fs.writeFileSync(file, b);
}

beforeAll(() => {
  d = tempDir('custody-schemas-');
  homeE = path.join(d, 'examiner');
  homeA = path.join(d, 'authority');
  fs.mkdirSync(path.join(d, 'evidence'));
  fs.writeFileSync(path.join(d, 'evidence', 'disk.img'), Buffer.alloc(5000, 7));
  fs.writeFileSync(path.join(d, 'evidence', 'notes.txt'), 'seized 2026-11-27\n');
});

describe('every --json document follows its schema', () => {
  it('key new, import, list, show, export', () => {
    const e = j('key-new', ['--home', homeE, 'key', 'new', '--name', 'Ana Lima', '--org', 'Police Lab', '--no-passphrase']);
    pubE = e.pubFile;
    fpE = e.fingerprint;
    pubA = j('key-new', ['--home', homeA, 'key', 'new', '--name', 'Central Authority', '--no-passphrase']).pubFile;
    j('key-new', ['--home', homeE, 'key', 'new', '--no-passphrase'], 2); // --name is required
    const pem = path.join(d, 'imported.pem');
    expect(spawnSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', pem]).status).toBe(0);
    j('key-import', ['--home', homeE, 'key', 'import', pem, '--name', 'Imported', '--out', path.join(d, 'imported'), '--no-passphrase']);
    j('key-import', ['--home', homeE, 'key', 'import', path.join(d, 'no-such.pem'), '--name', 'X', '--no-passphrase'], 2);
    expect(j('key-list', ['--home', homeE, 'key', 'list']).keys).toHaveLength(1);
    j('key-list', ['--home', homeE, 'key', 'list', '--bogus'], 2);
    j('key-show', ['--home', homeE, 'key', 'show', e.keyid]);
    j('key-show', ['--home', homeE, 'key', 'show', 'nobody-of-that-name'], 2);
    for (const format of ['pem', 'minisign', 'ssh', 'json']) j('key-export', ['--home', homeE, 'key', 'export', e.keyid, '--format', format]);
    j('key-export', ['--home', homeE, 'key', 'export', e.keyid, '--format', 'ssh-private', '--out', path.join(d, 'ssh-key'), '--no-passphrase']);
    j('key-export', ['--home', homeE, 'key', 'export', e.keyid, '--format', 'ssh-private'], 2); // --out required
  }, 180_000);

  it('trust add and list, case new, list and show', () => {
    j('trust-add', ['--home', homeA, 'trust', 'add', pubE]);
    j('trust-add', ['--home', homeA, 'trust', 'add', path.join(d, 'no-such.pub')], 2);
    expect(j('trust-list', ['--home', homeA, 'trust', 'list']).keys).toHaveLength(1);
    j('trust-list', ['--home', homeA, 'trust', 'list', 'extra'], 2);
    j('case-new', ['--home', homeE, 'case', 'new', 'C-1', '--title', 'Fraud at ACME', '--authority', 'Prosecutor, Lyon']);
    j('case-new', ['--home', homeE, 'case', 'new', 'bad id!', '--title', 'x'], 2);
    j('case-list', ['--home', homeE, 'case', 'list']);
    j('case-list', ['--home', homeE, 'case', 'list', '--bogus'], 2);
    j('case-show', ['--home', homeE, 'case', 'show', 'C-1']);
    j('case-show', ['--home', homeE, 'case', 'show', 'C-404'], 2);
  }, 180_000);

  it('hash and hash --check', () => {
    const img = path.join(d, 'evidence', 'disk.img');
    j('hash', ['hash', '--piece', '4KiB', img]);
    validate('hash', JSON.parse(runCli(['hash', '--format', 'json', img]).stdout)); // the --format json document is the same
    const partial = j('hash', ['hash', img, path.join(d, 'missing.img')], 2);
    expect(partial.files.map((f: { path: string }) => f.path)).toEqual([img]);
    expect(partial.error).toEqual({ code: 'NOT_FOUND', message: `no such file: ${path.join(d, 'missing.img')}` });
    j('error', ['hash', '--bogus'], 2);
    j('hash', ['hash', '--bogus'], 2);
    const list = path.join(d, 'list.json');
    fs.writeFileSync(list, runCli(['hash', '--format', 'json', 'evidence/disk.img', 'evidence/notes.txt'], { cwd: d }).stdout);
    j('hash-check', ['hash', '--check', list], 0, d);
    fs.writeFileSync(path.join(d, 'evidence', 'later.txt'), 'new');
    const bad = j('hash-check', ['hash', '--check', list, 'evidence/disk.img', 'evidence/later.txt'], 1, d);
    expect(bad.summary).toEqual({ matched: 1, changed: 0, missing: 1, new: 1 });
    fs.rmSync(path.join(d, 'evidence', 'later.txt'));
  }, 180_000);

  it('hash and seal of an EWF image (the media, its stored hashes and acquisition metadata)', () => {
    const media = path.join(d, 'ewf');
    fs.mkdirSync(media);
    fs.writeFileSync(path.join(media, 'disk.raw'), makeMedia(8));
    const acq = spawnSync('ewfacquire', ['-u', '-q', '-c', 'deflate:fast', '-d', 'sha1', '-C', 'CASE 7', '-e', 'Ana Lima', '-t', 'disk', 'disk.raw'], { cwd: media, encoding: 'utf8' });
    expect(acq.status, acq.stderr).toBe(0);
    const h = j('hash', ['hash', path.join(media, 'disk.E01')]);
    expect(h.files[0].image.stored.md5).toMatch(/^[0-9a-f]{32}$/);
    const s = j('seal', ['--home', homeE, 'seal', path.join(media, 'disk.E01'), '--case', 'C-2', '--out', path.join(d, 'ewf.tar')]);
    expect(s.items[0]).toMatchObject({ kind: 'image', image: { format: 'ewf' } });
  }, 180_000);

  it('seal, verify, transfer, receive, extract, log, report', () => {
    sealed = path.join(d, 'sealed.tar');
    const s = j('seal', ['--home', homeE, 'seal', path.join(d, 'evidence'), '--case', 'C-1', '--out', sealed, '--piece', '4KiB']);
    expect(s.fileHashes).toHaveLength(2);
    j('seal', ['--home', homeE, 'seal', path.join(d, 'evidence'), '--case', 'C-1', '--out', sealed], 2); // exists
    j('verify', ['--home', homeA, 'verify', sealed]);
    j('verify', ['--home', homeA, 'verify', '--full', sealed]);
    j('verify', ['--home', homeE, 'verify', path.join(d, 'no-such.tar')], 2);

    bundle = path.join(d, 'bundle.tar');
    fs.copyFileSync(sealed, bundle);
    const t = j('transfer', ['--home', homeE, 'transfer', bundle, '--to', pubA, '--reason', 'MLA 2026/117', '--location', 'Lyon']);
    expect(t.seq).toBe(1);
    j('transfer', ['--home', homeE, 'transfer', bundle, '--to', pubA, '--reason', 'again'], 2); // still in transit
    tampered = path.join(d, 'tampered.tar');
    fs.copyFileSync(bundle, tampered);
    flipPayloadByte(tampered);
    const nv = j('verify', ['--home', homeA, 'verify', tampered], 1);
    expect(nv.verdict.verified).toBe(false);
    expect(nv.verdict.failedCheck).toBe('payload.pieces');
    const refused = j('receive', ['--home', homeA, 'receive', tampered, '--condition', 'seal broken'], 1);
    expect(refused.received).toBe(false);
    j('receive', ['--home', homeA, 'receive', bundle, '--condition', 'intact', '--location', 'Vienna']);
    j('receive', ['--home', homeA, 'receive', '-'], 2);
    const receipt = path.join(d, 'receipt.json');
    const copy = path.join(d, 'copy.tar');
    fs.copyFileSync(sealed, copy);
    // A second copy of the same sealed bundle, handled in homes of its own (a shared ledger would call it stale).
    const keyOf = (pub: string): string => pub.replace(/\.pub$/, '.key');
    j('transfer', ['--home', path.join(d, 'examiner-copy'), 'transfer', copy, '--to', pubA, '--reason', 'second copy', '--key', keyOf(pubE)]);
    expect(j('receive', ['--home', path.join(d, 'authority-copy'), 'receive', copy, '--receipt-out', receipt, '--key', keyOf(pubA), '--trust', pubE]).appended).toBe(false);

    j('extract', ['--home', homeA, 'extract', bundle, '--into', path.join(d, 'out')]);
    const nx = j('extract', ['--home', homeA, 'extract', tampered, '--into', path.join(d, 'out2')], 1);
    expect(nx.extracted).toBe(false);
    j('extract', ['--home', homeA, 'extract', bundle], 2); // --into required

    j('log', ['--home', homeA, 'log', bundle]);
    j('log', ['--home', homeA, 'log', '--case', 'C-1']);
    j('log', ['--home', homeA, 'log'], 2);
    j('log', ['--home', homeA, 'log', path.join(d, 'no-such.tar')], 2);

    j('report', ['--home', homeA, 'report', bundle, '--html', path.join(d, 'r.html'), '--case-jsonld', path.join(d, 'r.jsonld')]);
    j('report', ['--home', homeA, 'report', tampered, '--html', path.join(d, 'bad.html')], 1);
    j('report', ['--home', homeA, 'report', bundle], 2);

    j('transfer', ['--home', homeE, 'transfer', bundle, '--to', pubA, '--reason', 'not mine any more'], 2);
  }, 300_000);

  it('trust remove', () => {
    j('trust-remove', ['--home', homeA, 'trust', 'remove', fpE]);
    j('trust-remove', ['--home', homeA, 'trust', 'remove', fpE], 2);
  });

  it('demo', () => {
    j('demo', ['demo', '--dir', path.join(d, 'demo')]);
    j('demo', ['demo', '--dir', path.join(d, 'evidence')], 2); // not empty
  }, 180_000);

  it('every command schema was met with ok true and with ok false', () => {
    for (const name of COMMAND_SCHEMAS) {
      expect(seen.some((s) => s.schema === name && s.doc.ok), `${name} ok`).toBe(true);
      expect(seen.some((s) => s.schema === name && !s.doc.ok), `${name} failure`).toBe(true);
    }
  });

  it('a document that breaks its schema is refused (the schemas are not vacuous)', () => {
    const good = seen.find((s) => s.schema === 'verify' && s.doc.ok)!.doc;
    const v = ajv.getSchema(`${BASE}verify.schema.json`)!;
    const broken = structuredClone(good);
    broken.verdict.checks[0].id = 'no.such.check';
    expect(v(broken)).toBe(false);
    expect(v({ ...good, error: { code: 'USAGE', message: 'x' } })).toBe(false);
    expect(v({ ok: false, error: { code: 'NO_SUCH_CODE', message: 'x' } })).toBe(false);
    expect(v({ ...good, laterField: 1 })).toBe(true);
  });
});

describe('time fields have one naming', () => {
  const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
  it('every timestamp in every document is a record\'s `at` or a field ending in `At`', () => {
    const bad: string[] = [];
    const walk = (v: unknown, where: string): void => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (typeof x === 'string' && ISO.test(x) && k !== 'at' && !k.endsWith('At')) bad.push(`${where}.${k}`);
          walk(x, `${where}.${k}`);
        }
      }
    };
    for (const s of seen) walk(s.doc, s.args.slice(0, 4).join(' '));
    expect(bad).toEqual([]);
    const key = seen.find((s) => s.schema === 'key-new' && s.doc.ok)!.doc;
    expect(key.createdAt).toMatch(ISO);
    expect(key).not.toHaveProperty('created');
  });
});

describe("seal's document", () => {
  it('lists every file with its path, size, hashes, piece count and Merkle root, equal to the bytes sealed', () => {
    const s = seen.find((x) => x.schema === 'seal' && x.doc.ok && x.doc.case === 'C-1')!.doc;
    const byPath = new Map(s.fileHashes.map((f: any) => [f.path, f]));
    for (const name of ['disk.img', 'notes.txt']) {
      const bytes = fs.readFileSync(path.join(d, 'evidence', name));
      const f: any = byPath.get(`data/evidence/${name}`);
      expect(f, name).toBeDefined();
      expect(f.size).toBe(bytes.length);
      for (const a of ['md5', 'sha1', 'sha256']) expect(f.hashes[a]).toBe(createHash(a).update(bytes).digest('hex'));
      expect(f.pieces.count).toBe(Math.ceil(bytes.length / 4096));
      expect(f.pieces.merkleRoot).toMatch(/^[0-9a-f]{64}$/);
    }
    // The same digests `custody hash --piece` gives for the file.
    const h = seen.find((x) => x.schema === 'hash' && x.doc.ok && x.args.includes('4KiB'))!.doc.files[0];
    expect(byPath.get('data/evidence/disk.img')).toMatchObject({ hashes: h.hashes, pieces: { count: h.pieces.count, merkleRoot: h.pieces.merkleRoot } });
  });
});

describe('error codes, check ids and chain rules are listed in one place', () => {
  it('every code has exactly one exit code, and the table covers every code errors.ts declares', () => {
    const table = errorCodeTable();
    expect(table.map((r) => r.code).sort()).toEqual([...VERIFICATION_CODES, ...USAGE_CODES, ...RUNTIME_CODES].sort());
    for (const r of table) expect(r.exit).toBe(exitCodeFor(r.code));
    expect(new Set(table.map((r) => r.code)).size).toBe(table.length);
  });

  it("README's error-code table and the schemas' enums are those the code gives (npm run sync:contract)", async () => {
    const lists = await contractLists(ROOT);
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(lists.errorMarkdown);
    expect(syncedReadme(readme, lists)).toBe(readme);
    for (const [file, schema] of Object.entries(syncedSchemas(ROOT, lists))) {
      expect(JSON.parse(fs.readFileSync(file, 'utf8')), path.basename(file)).toEqual(schema);
    }
    const enumOf = ajv.getSchema(`${BASE}error.schema.json#/$defs/code`)!.schema as { enum: string[] };
    expect(enumOf.enum).toEqual(errorCodeTable().map((r) => r.code));
  });

  it("the check ids src/ops adds are those src/bundle/verify.ts's CheckId type names", () => {
    const src = fs.readFileSync(path.join(ROOT, 'src', 'bundle', 'verify.ts'), 'utf8');
    const line = /export type CheckId =([^;]*);/.exec(src)![1]!;
    const literals = [...line.matchAll(/'([^']+)'/g)].map((m) => m[1]).filter((x) => x !== 'manifest.<alg>');
    expect(literals.sort()).toEqual([...OPS_CHECK_IDS].sort());
  });
});
