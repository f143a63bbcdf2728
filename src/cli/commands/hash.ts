/** `custody hash`: hash files, split images or stdin; write or check hash lists (DESIGN §2 Hashing). */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_ALGOS, HEX_LENGTH, parseAlgoList, parseSize, type Algo } from '../../core/algorithms.js';
import { HashEngine, type HashDigest, type HashSpec } from '../../core/engine.js';
import { BATCH_FILE_MAX, BatchHasher } from '../../core/batch-hasher.js';
import { CustodyError, fromSystemError } from '../../core/errors.js';
import { expandInputs, totalSize, type HashInput } from '../../core/hash-inputs.js';
import { hashPaths, hashReadable } from '../../core/hash-source.js';
import { formatDfxml } from '../../core/formats/dfxml.js';
import { formatHashdeep, hashdeepAlgos } from '../../core/formats/hashdeep.js';
import { toJsonFiles } from '../../core/formats/json.js';
import { compareDigests, parseReference, summarize, type CheckLine, type ReferenceEntry } from '../../core/formats/reference.js';
import type { FileHash } from '../../core/formats/result.js';
import { formatSums, sumsAlgo } from '../../core/formats/sums.js';
import { formatText } from '../../core/formats/text.js';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import { documentOutcome, outcome, type Outcome } from '../outcome.js';
import { makeProgress } from '../progress.js';
import { checkOutputFile } from '../output-file.js';
import { errorJson } from '../run.js';
import { VERSION } from '../../core/version.js';
import { findEwfImages, splitSegments } from '../../core/ewf/files.js';
import { hashEwf, mismatchedStored } from '../../core/ewf/hash-ewf.js';

type Format = 'text' | 'json' | 'sums' | 'hashdeep' | 'dfxml';

interface HashOptions {
  recursive?: boolean;
  algo?: string;
  piece?: string;
  format: Format;
  check?: string;
  split?: boolean;
  verbose?: boolean;
  out?: string;
  force?: boolean;
}

const HELP = `
Formats:
  text      one block per file (default)
  json      {"ok":true,"files":[…]}; also what --json prints; --check reads it back
  sums      coreutils style, one algorithm: sha256 if computed, else the one --algo names
            (without --algo only sha256 is computed); sha256sum -c accepts it
  hashdeep  HASHDEEP-1.0 (md5, sha1, sha256) with absolute paths, as hashdeep writes them;
            hashdeep -a -k audits against it
  dfxml     Digital Forensics XML; pieces become <byte_runs>

--check <file> reads a json, sums or hashdeep list (detected) and reports each file as
matched, changed, missing (listed, not found) or new (given, not listed); exit 1 unless
all matched. Without paths it checks every file the list names (relative to here).
It prints only what did not match and a summary line ("N matched, N changed, N missing,
N new"); -v lists every file. --json always lists every file.

A path that does not exist does not stop the others: every readable path is hashed
and printed, then custody names the missing ones and exits 2.

-o <file> writes the output (any --format, or the --json document) to <file> instead
of stdout: under a temporary name, renamed when complete; an existing file is
replaced only with --force.

Examples:
  $ custody hash image.dd
  $ custody hash image.E01            (the media inside, checked against the MD5/SHA-1 it stores)
  $ custody hash --piece 64MiB --format json image.dd > image.hashes.json
  $ custody hash --split image.001 image.002 image.003
  $ custody hash -r --format sums export/ > SHA256SUMS && sha256sum -c SHA256SUMS
  $ custody hash --check image.hashes.json image.dd
  $ custody hash -r --format hashdeep -o evidence.hashdeep export/`;

export function register(program: Command): void {
  program
    .command('hash')
    .description('hash files, split images or stdin with several algorithms at once, reading each byte once')
    .argument('[paths...]', "files, directories with -r, or '-' for stdin")
    .option('-r, --recursive', 'hash every file under the given directories')
    .option('--algo <list>', `algorithms: md5, sha1, sha256, sha512, sha3-256, blake3 (default ${DEFAULT_ALGOS.join(',')})`)
    .option('--piece <size>', 'also SHA-256 of every <size> bytes and their Merkle root, e.g. 64MiB')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'sums', 'hashdeep', 'dfxml']).default('text'))
    .option('--check <file>', 'audit the paths against a json, sums or hashdeep list')
    .option('--split', 'the paths are segments of one image (image.001 image.002 …), hashed as one')
    .option('-v, --verbose', '--check: list every file, matched ones too')
    .option('-o, --out <file>', 'write the output to this file instead of stdout (atomically)')
    .option('--force', 'with -o: replace an existing file')
    .addHelpText('after', HELP)
    .action(action(hashCommand));
}

function chooseAlgos(opts: HashOptions): Algo[] {
  if (opts.algo !== undefined) return parseAlgoList(opts.algo);
  return opts.format === 'sums' ? ['sha256'] : DEFAULT_ALGOS; // sums prints sha256 only: do not compute what is not shown
}

async function hashCommand(ctx: CliContext, paths: string[], opts: HashOptions): Promise<Outcome> {
  if (opts.force && opts.out === undefined) throw new CustodyError('USAGE', '--force goes with -o/--out');
  if (opts.out !== undefined) checkOutputFile(opts.out, opts.force === true);
  const result = await hashOrCheck(ctx, paths, opts);
  if (opts.out !== undefined) result.out = { file: opts.out, force: opts.force === true };
  return result;
}

/** Paths named on the command line that do not exist: reported after the others are hashed. */
async function missingPaths(paths: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const p of paths) {
    if (p === '-') continue;
    try {
      await fs.stat(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') missing.push(p);
    }
  }
  return missing;
}

async function hashOrCheck(ctx: CliContext, allPaths: string[], opts: HashOptions): Promise<Outcome> {
  const algos = chooseAlgos(opts);
  const pieceSize = opts.piece === undefined ? 0 : parseSize(opts.piece);
  if (opts.check !== undefined) return checkCommand(ctx, allPaths, opts, algos);
  if (allPaths.length === 0) throw new CustodyError('USAGE', 'nothing to hash', { hint: "give files, or '-' for stdin" });
  // A split image is one input: a missing segment is an error of the whole (splitSegments names it).
  const missing = opts.split ? [] : await missingPaths(allPaths);
  const paths = allPaths.filter((p) => !missing.includes(p));
  // Refuse impossible combinations before reading anything.
  if (opts.format === 'sums') sumsAlgo(algos);
  if (opts.format === 'hashdeep') hashdeepAlgos(algos);
  if (opts.split && (opts.recursive || paths.includes('-'))) throw new CustodyError('USAGE', '--split takes files, not directories or stdin');
  if (opts.split && (opts.format === 'sums' || opts.format === 'hashdeep')) {
    throw new CustodyError('USAGE', `--format ${opts.format} lists files one by one; it cannot hold a split image`, { hint: 'use --format text, json or dfxml' });
  }
  const expanded = await expandInputs(paths, opts.recursive === true);
  for (const s of expanded.skipped) ctx.note(`custody: skipped ${s} (not a regular file; symlinks are not followed under -r)`);
  if (opts.split && expanded.inputs.some((i) => i.kind !== 'file')) throw new CustodyError('USAGE', '--split takes regular files only');
  // An EWF image is hashed as the media it holds; its later segments (img.E02 … from a glob) are part of it.
  // Only paths named on the command line: a tree under -r is hashed file by file, E01s included.
  const named = expanded.inputs.filter((i) => i.kind === 'file' && paths.includes(i.path)).map((i) => i.path);
  const ewf = opts.split ? { images: new Set<string>(), absorbed: new Set<string>() } : await findEwfImages(named);
  const inputs = expanded.inputs.filter((i) => !ewf.absorbed.has(i.path));
  if (ewf.images.size > 0 && (opts.format === 'sums' || opts.format === 'hashdeep')) {
    throw new CustodyError('USAGE', `--format ${opts.format} lists files one by one; it cannot hold the media hash of an EWF image`, { hint: 'use --format text, json or dfxml' });
  }
  const spec: HashSpec = { algos, pieceSize };
  const files = opts.split ? await hashSplit(ctx, inputs, spec) : await hashEach(ctx, inputs, spec, ewf.images);
  const bad = files.filter((f) => f.image && mismatchedStored(f.image).length > 0);
  const gone = missing.length === 0 ? '' : `no such file${missing.length === 1 ? '' : 's'}: ${missing.join(', ')}`;
  let error: CustodyError | undefined;
  if (bad.length > 0) {
    // Evidence that does not verify (exit 1) outranks a missing path (exit 2); the message names both.
    const what = bad.map((f) => `${f.path}: the media's ${mismatchedStored(f.image!).join(' and ')} differ${mismatchedStored(f.image!).length === 1 ? 's' : ''} from the one stored in the image`);
    error = new CustodyError('HASH_MISMATCH', [...what, ...(gone ? [gone] : [])].join('; '));
  } else if (gone) {
    error = new CustodyError('NOT_FOUND', gone);
  }
  const out = render(ctx, files, opts, algos, error);
  if (error) out.error = error;
  return out;
}

async function withEngine<T>(fn: (engine: HashEngine) => Promise<T>): Promise<T> {
  const engine = new HashEngine();
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

async function hashEach(ctx: CliContext, inputs: HashInput[], spec: HashSpec, images = new Set<string>()): Promise<FileHash[]> {
  const progress = makeProgress(ctx, 'hashing', totalSize(inputs));
  // Many small files: hashed in batches (one worker message per slot of files), see core/batch-hasher.ts.
  const batch = smallFiles(inputs, images).length >= BATCH_FROM_FILES ? new BatchHasher(spec) : undefined;
  try {
    return await withEngine(async (engine) => {
      const out: FileHash[] = [];
      const waiting: { at: number; digest: Promise<HashDigest> }[] = [];
      const settle = async (keep: number) => {
        if (waiting.length > keep) batch!.flush();
        while (waiting.length > keep) {
          const w = waiting.shift()!;
          out[w.at] = { path: inputs[w.at]!.path, ...(await w.digest) };
        }
      };
      let before = 0;
      for (const [at, input] of inputs.entries()) {
        if (batch && isSmall(input, images, batch.maxFileSize)) {
          waiting.push({ at, digest: (await batch.add(input.path, input.size)).digest });
          before += input.size!;
          progress.update(before);
          await settle(batch.window);
          continue;
        }
        await settle(0);
        const onProgress = (n: number) => progress.update(before + n);
        if (images.has(input.path)) {
          const r = await hashEwf(engine, input.path, spec, { onStoredProgress: onProgress });
          before += input.size ?? 0;
          out[at] = { path: input.path, size: r.size, digests: r.digests, ...(r.pieces ? { pieces: r.pieces } : {}), segments: r.image.segments, image: r.image };
          continue;
        }
        const d =
          input.kind === 'stdin'
            ? await hashReadable(engine, process.stdin, spec, { label: 'stdin', onProgress })
            : await hashPaths(engine, [input.path], spec, { onProgress });
        before += d.size;
        out[at] = { path: input.path, ...d };
      }
      await settle(0);
      return out;
    });
  } finally {
    progress.stop();
    await batch?.close();
  }
}

/** From this many small files on, a batch hasher pays for its threads. */
const BATCH_FROM_FILES = 8;

function isSmall(input: HashInput, images: Set<string>, max = BATCH_FILE_MAX): boolean {
  return input.kind === 'file' && input.size !== undefined && input.size <= max && !images.has(input.path);
}

function smallFiles(inputs: HashInput[], images: Set<string>): HashInput[] {
  return inputs.filter((i) => isSmall(i, images));
}

async function hashSplit(ctx: CliContext, inputs: HashInput[], spec: HashSpec): Promise<FileHash[]> {
  // Given the first segment the rest are found; given several, their order and continuity are checked.
  const found = await splitSegments(inputs.map((i) => i.path));
  const progress = makeProgress(ctx, 'hashing', found.reduce((t, s) => t + s.size, 0));
  try {
    const segments = found.map((s) => s.path);
    const d = await withEngine((engine) => hashPaths(engine, segments, spec, { onProgress: (n) => progress.update(n) }));
    return [{ path: segments[0]!, segments, ...d }];
  } finally {
    progress.stop();
  }
}

function render(ctx: CliContext, files: FileHash[], opts: HashOptions, algos: Algo[], error?: CustodyError): Outcome {
  const data = { files: toJsonFiles(files) };
  const commandLine = ['custody', ...process.argv.slice(2)].join(' ');
  switch (opts.format) {
    case 'json':
      return documentOutcome(data, JSON.stringify({ ok: error === undefined, ...data, ...(error ? { error: errorJson(error) } : {}) }, null, 2));
    case 'sums':
      return documentOutcome(data, formatSums(files, sumsAlgo(algos)));
    case 'hashdeep':
      // Absolute paths, as hashdeep itself writes them: `hashdeep -a -k` compares absolute names.
      return documentOutcome(data, formatHashdeep(files.map((f) => (f.path === '-' ? f : { ...f, path: path.resolve(f.path) })), algos, process.cwd(), commandLine));
    case 'dfxml':
      return documentOutcome(data, formatDfxml(files, { version: VERSION, commandLine, startTime: new Date().toISOString() }));
    default:
      return outcome(data, formatText(files));
  }
}

async function checkCommand(ctx: CliContext, paths: string[], opts: HashOptions, explicit: Algo[]): Promise<Outcome> {
  const listPath = opts.check!;
  let text: string;
  try {
    text = await fs.readFile(listPath, 'utf8');
  } catch (e) {
    throw fromSystemError(e, listPath);
  }
  // A bare 64-hex sums line is sha256 unless --algo names one other 64-hex algorithm (b3sum, sha3sum lists).
  const bare64 = opts.algo !== undefined && explicit.length === 1 && HEX_LENGTH[explicit[0]!] === 64 ? explicit[0]! : 'sha256';
  const { format, entries } = parseReference(text, bare64);
  const algos = [...new Set(entries.flatMap((e) => Object.keys(e.digests) as Algo[]))];
  const key = (p: string) => path.resolve(p);

  // Which files exist now: the paths given, or (none given) whatever the list names.
  const present = new Map<string, HashInput>();
  if (paths.length > 0) {
    if (paths.includes('-')) throw new CustodyError('USAGE', '--check compares files, not stdin');
    const { inputs } = await expandInputs(paths, opts.recursive === true);
    for (const i of inputs) present.set(key(i.path), i);
  } else {
    for (const e of entries) {
      try {
        const st = await fs.stat(e.path);
        if (!st.isDirectory()) present.set(key(e.path), { path: e.path, kind: st.isFile() ? 'file' : 'device', size: st.isFile() ? st.size : undefined });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, e.path);
      }
    }
  }

  const listed = new Map<string, ReferenceEntry>();
  for (const e of entries) {
    if (listed.has(key(e.path))) throw new CustodyError('USAGE', `check file lists ${e.path} twice`);
    listed.set(key(e.path), e);
  }
  const toHash = entries.map((e) => present.get(key(e.path))).filter((i): i is HashInput => i !== undefined);
  const hashed = await hashEach(ctx, toHash, { algos });
  const byKey = new Map(hashed.map((h) => [key(h.path), h]));

  const lines: CheckLine[] = [];
  for (const e of entries) {
    const got = byKey.get(key(e.path));
    if (!got) {
      lines.push({ path: e.path, status: 'missing' });
      continue;
    }
    const differences = compareDigests(e, got)!;
    lines.push(differences.length === 0 ? { path: e.path, status: 'matched' } : { path: e.path, status: 'changed', differences });
  }
  for (const [k, i] of present) if (!listed.has(k)) lines.push({ path: i.path, status: 'new' });

  const summary = summarize(lines);
  // Like hashdeep's "Audit passed": only what did not match, unless -v asks for every line.
  const shown = opts.verbose ? lines : lines.filter((l) => l.status !== 'matched');
  const text2 = shown.map((l) => {
    const diff = l.differences?.map((d) => `${d.what} expected ${d.expected}, got ${d.actual}`).join('; ');
    return `${l.status.toUpperCase().padEnd(8)} ${l.path}${diff ? `  (${diff})` : ''}`;
  });
  text2.push(`${summary.matched} matched, ${summary.changed} changed, ${summary.missing} missing, ${summary.new} new (${format} list ${listPath})`);
  const result = outcome({ check: listPath, format, files: lines, summary }, text2);
  if (summary.matched !== lines.length) {
    const bad = (['changed', 'missing', 'new'] as const).filter((s) => summary[s] > 0).map((s) => `${summary[s]} ${s}`);
    result.error = new CustodyError('CHECK_FAILED', `check failed: ${bad.join(', ')}`);
  }
  return result;
}
