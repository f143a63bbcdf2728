/** `custody hash`: hash files, split images or stdin; write or check hash lists (DESIGN §2 Hashing). */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_ALGOS, HEX_LENGTH, parseAlgoList, parseSize, type Algo } from '../../core/algorithms.js';
import { HashEngine, type HashSpec } from '../../core/engine.js';
import { BATCH_FILE_MAX } from '../../core/batch-hasher.js';
import { PathHasher, type PathHashResult } from '../../core/path-hasher.js';
import { defaultJobs } from '../../core/piece-pool.js';
import { expandInputs, walkInputs } from '../../core/hash-walk.js';
import { CustodyError, fromSystemError } from '../../core/errors.js';
import { totalSize, type HashInput } from '../../core/hash-inputs.js';
import { hashPaths, hashReadable } from '../../core/hash-source.js';
import { formatDfxml } from '../../core/formats/dfxml.js';
import { formatHashdeep, hashdeepAlgos } from '../../core/formats/hashdeep.js';
import { toJsonFiles } from '../../core/formats/json.js';
import { hasControlChars } from '../../core/formats/result.js';
import { escapeLine, safeJson } from '../../core/text.js';
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
import { jobsHelp, parseJobs } from '../jobs.js';
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
  jobs?: string;
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
    .option('--jobs <n>', jobsHelp('many small files (-r) are spread over them, one large file uses one per algorithm'))
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
  const jobs = parseJobs(opts.jobs);
  const pieceSize = opts.piece === undefined ? 0 : parseSize(opts.piece);
  if (opts.check !== undefined) return checkCommand(ctx, allPaths, opts, algos, jobs);
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
  const walk = await walkInputs(paths, opts.recursive === true);
  const skipped = (s: string) => ctx.note(`custody: skipped ${s} (not a regular file; symlinks are not followed under -r)`);
  if (opts.split && walk.named.some((i) => i.kind !== 'file')) throw new CustodyError('USAGE', '--split takes regular files only');
  // An EWF image is hashed as the media it holds; its later segments (img.E02 … from a glob) are part of it.
  // Only paths named on the command line: a tree under -r is hashed file by file, E01s included.
  const named = walk.named.filter((i) => i.kind === 'file' && paths.includes(i.path)).map((i) => i.path);
  const ewf = opts.split ? { images: new Set<string>(), absorbed: new Set<string>() } : await findEwfImages(named);
  if (ewf.images.size > 0 && (opts.format === 'sums' || opts.format === 'hashdeep')) {
    throw new CustodyError('USAGE', `--format ${opts.format} lists files one by one; it cannot hold the media hash of an EWF image`, { hint: 'use --format text, json or dfxml' });
  }
  const inputs = function* (onSkipped?: (path: string) => void) {
    for (const i of walk.inputs(onSkipped)) if (!ewf.absorbed.has(i.path)) yield i;
  };
  const spec: HashSpec = { algos, pieceSize };
  const hashing: HashingOptions = {
    images: ewf.images,
    ...(jobs === undefined ? {} : { jobs }),
    // Threads pay for themselves from a handful of small files on (or any tree).
    pool: walk.hasDirectories || walk.named.filter((i) => isSmall(i, ewf.images)).length >= BATCH_FROM_FILES,
  };
  const gone = missing.length === 0 ? '' : `no such file${missing.length === 1 ? '' : 's'}: ${missing.join(', ')}`;
  if (!opts.split && ewf.images.size === 0) {
    // No result can change the verdict now (only an EWF image's stored hashes could): print as hashed.
    if (opts.format === 'hashdeep' || opts.format === 'dfxml') {
      // These lists cannot hold every name: refuse before the first line, as when the list was made whole.
      for (const i of inputs()) if (hasControlChars(i.path)) throw new CustodyError('USAGE', `--format ${opts.format} cannot hold the file name ${JSON.stringify(opts.format === 'hashdeep' && i.path !== '-' ? path.resolve(i.path) : i.path)}`);
    }
    const progress = makeProgress(ctx, 'hashing', walk.hasDirectories ? undefined : totalSize(walk.named));
    const files = hashStream(inputs(skipped), spec, { ...hashing, progress });
    const error = gone ? new CustodyError('NOT_FOUND', gone) : undefined;
    const out = outcome({}, []);
    out.stream = streamBody(ctx, files, opts, algos, error);
    if (error) out.error = error;
    return out;
  }
  const files = opts.split ? await hashSplit(ctx, [...inputs(skipped)], spec) : await hashEach(ctx, [...inputs(skipped)], spec, hashing);
  const bad = files.filter((f) => f.image && mismatchedStored(f.image).length > 0);
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

interface HashingOptions {
  /** EWF images named on the command line: hashed as the media they hold. */
  images: Set<string>;
  jobs?: number;
  /** Hand small files to worker threads that read and hash them (path-hasher.ts). */
  pool: boolean;
  progress?: { update(n: number): void; stop(): void };
}

/**
 * Hashes the inputs in order and yields each result as soon as it and every
 * one before it are done: small files go to the path hasher's workers (a
 * window of them in flight), everything else streams through the engine.
 * Nothing is kept once yielded, so memory does not grow with the file count.
 */
async function* hashStream(inputs: Iterable<HashInput>, spec: HashSpec, o: HashingOptions): AsyncGenerator<FileHash> {
  const engine = new HashEngine(o.jobs === undefined ? {} : { workers: o.jobs });
  const pool = o.pool ? new PathHasher(spec, { workers: o.jobs ?? defaultJobs() }) : undefined;
  const waiting: { path: string; ticket: number; result: Promise<PathHashResult> }[] = [];
  let before = 0;
  const streamed = async (input: HashInput): Promise<FileHash> => {
    const onProgress = (n: number) => o.progress?.update(before + n);
    let f: FileHash;
    if (o.images.has(input.path)) {
      const r = await hashEwf(engine, input.path, spec, { onStoredProgress: onProgress });
      f = { path: input.path, size: r.size, digests: r.digests, ...(r.pieces ? { pieces: r.pieces } : {}), segments: r.image.segments, image: r.image };
      before += input.size ?? 0;
    } else {
      const d =
        input.kind === 'stdin'
          ? await hashReadable(engine, process.stdin, spec, { label: 'stdin', onProgress })
          : await hashPaths(engine, [input.path], spec, { onProgress });
      f = { path: input.path, ...d };
      before += d.size;
    }
    o.progress?.update(before);
    return f;
  };
  const oldest = async (): Promise<FileHash> => {
    const w = waiting.shift()!;
    pool!.flushThrough(w.ticket);
    const r = await w.result;
    if ('large' in r) return streamed({ path: w.path, kind: 'file', size: r.size });
    before += r.digest.size;
    o.progress?.update(before);
    return { path: w.path, ...r.digest };
  };
  try {
    for (const input of inputs) {
      if (pool && input.kind === 'file' && !o.images.has(input.path) && (input.size === undefined || input.size <= BATCH_FILE_MAX)) {
        waiting.push({ path: input.path, ...pool.hash(input.path) });
        while (waiting.length > pool.window) yield await oldest();
        continue;
      }
      while (waiting.length > 0) yield await oldest();
      yield await streamed(input);
    }
    while (waiting.length > 0) yield await oldest();
  } finally {
    o.progress?.stop();
    await pool?.close();
    await engine.close();
  }
}

/** Every result, in order (for --check, --split and EWF images, which need them all before printing). */
async function hashEach(ctx: CliContext, inputs: HashInput[], spec: HashSpec, o: HashingOptions): Promise<FileHash[]> {
  const out: FileHash[] = [];
  for await (const f of hashStream(inputs, spec, { ...o, progress: makeProgress(ctx, 'hashing', totalSize(inputs)) })) out.push(f);
  return out;
}

/** From this many small files on, a batch hasher pays for its threads. */
const BATCH_FROM_FILES = 8;

function isSmall(input: HashInput, images: Set<string>, max = BATCH_FILE_MAX): boolean {
  return input.kind === 'file' && input.size !== undefined && input.size <= max && !images.has(input.path);
}

/** Output chunks gathered up to this many characters before they are written. */
const CHUNK = 64 << 10;

/**
 * The same bytes render() below (and the runner) would print for these
 * results, produced as the results arrive: one format's header, one block per
 * file, its footer; with --json the runner's document, written piece by piece.
 */
async function* streamBody(ctx: CliContext, files: AsyncIterable<FileHash>, opts: HashOptions, algos: Algo[], error: CustodyError | undefined): AsyncGenerator<string> {
  const commandLine = ['custody', ...process.argv.slice(2)].join(' ');
  let header: string;
  let each: (f: FileHash, first: boolean) => string;
  let footer: (any: boolean) => string;
  const lines = (ls: string[]) => ls.map((l) => `${l}\n`).join('');
  if (ctx.opts.json) {
    header = `{"ok":${error === undefined},"files":[`;
    each = (f, first) => (first ? '' : ',') + safeJson(toJsonFiles([f])[0]);
    footer = () => `]${error ? `,"error":${safeJson(errorJson(error))}` : ''}}\n`;
  } else if (opts.format === 'json') {
    const indent = (v: unknown, by: string) => JSON.stringify(v, null, 2).replace(/\n/g, `\n${by}`);
    header = `{\n  "ok": ${error === undefined},\n  "files": [`;
    each = (f, first) => `${first ? '' : ','}\n    ${indent(toJsonFiles([f])[0], '    ')}`;
    footer = (any) => `${any ? '\n  ' : ''}]${error ? `,\n  "error": ${indent(errorJson(error), '  ')}` : ''}\n}\n`;
  } else if (opts.format === 'sums') {
    const algo = sumsAlgo(algos);
    header = '';
    each = (f) => lines(formatSums([f], algo));
    footer = () => '';
  } else if (opts.format === 'hashdeep') {
    const cwd = process.cwd();
    const top = formatHashdeep([], algos, cwd, commandLine);
    header = lines(top);
    // Absolute paths, as hashdeep itself writes them: `hashdeep -a -k` compares absolute names.
    each = (f) => lines(formatHashdeep([f.path === '-' ? f : { ...f, path: path.resolve(f.path) }], algos, cwd, commandLine).slice(top.length));
    footer = () => '';
  } else if (opts.format === 'dfxml') {
    const creator = { version: VERSION, commandLine, startTime: new Date().toISOString() };
    const empty = formatDfxml([], creator);
    header = lines(empty.slice(0, -1));
    each = (f) => lines(formatDfxml([f], creator).slice(empty.length - 1, -1));
    footer = () => lines(empty.slice(-1));
  } else {
    // Every line escaped for the terminal, as the runner escapes a command's text.
    const color = ctx.opts.color && opts.out === undefined;
    header = '';
    each = (f) => formatText([f]).map((l) => `${escapeLine(l, color)}\n`).join('');
    footer = () => '';
  }
  let buf = header;
  let first = true;
  for await (const f of files) {
    buf += each(f, first);
    first = false;
    if (buf.length >= CHUNK) {
      yield buf;
      buf = '';
    }
  }
  yield buf + footer(!first);
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

async function checkCommand(ctx: CliContext, paths: string[], opts: HashOptions, explicit: Algo[], jobs: number | undefined): Promise<Outcome> {
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
  const hashed = await hashEach(ctx, toHash, { algos }, {
    images: new Set(),
    ...(jobs === undefined ? {} : { jobs }),
    pool: toHash.filter((i) => isSmall(i, new Set())).length >= BATCH_FROM_FILES,
  });
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
