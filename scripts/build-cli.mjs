#!/usr/bin/env node
/**
 * Builds the bundles bin/custody.js starts from (part of `npm run build`, after
 * tsc): dist/bundled/<command>.cjs for each command (that command, the global
 * options and everything they import, as one CommonJS file), version.cjs
 * (`custody --version`), all.cjs (the whole program: --help, a bare run,
 * anything entry.ts leaves to it), argv-command.cjs (how bin/ picks one), and
 * for each bundle V8's code cache, made by running it once (a `--help`, or a
 * real run where the command's own work is worth caching), and manifest.json.
 *
 * Why: Node 20 resolves, reads and compiles every ES module of a run one by one
 * (a `custody log --case` loaded 75 of them) and has no code cache for them; a
 * bundle is one read, and its code cache spares the parse and compile.
 *
 * Threat guarded against: a bundle that is not what dist/ holds. The bundles
 * are made from tsc's output, not from src/, so they hold the code tsc checked
 * and the tests import; the manifest records dist/cli/entry.js's time (tsc
 * rewrites it on every run) and each bundle's size and time, and bin/custody.js
 * uses a bundle only while both still match.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
export const BUNDLES = path.join(DIST, 'bundled');
const BIN = path.join(ROOT, 'bin', 'custody.js');

/**
 * `import.meta.url` of each module as the URL of its file in dist/ (beside the
 * bundle's folder), so that what a module finds beside itself — the worker
 * scripts, the verifier page, package.json — it finds there still.
 */
/**
 * The drivers the ledger loads on first use (`load('pg')`, `load('better-sqlite3')`
 * through createRequire, so that commands without a ledger never load them): in a
 * bundle, a plain require() of the same package at the same place, so that esbuild
 * bundles their JavaScript (code-cached with the rest) and it still runs only then.
 * Their native addons stay where npm put them. A build that no longer finds the
 * call where it was fails here rather than silently loading from node_modules.
 */
const BUNDLED_LOADS = { 'ledger/pg.js': ['pg', 2], 'ledger/open.js': ['better-sqlite3', 1] };

const moduleUrls = {
  name: 'module-urls',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(DIST + path.sep)) return undefined;
      const rel = path.relative(DIST, args.path).split(path.sep).join('/');
      let text = await fs.promises.readFile(args.path, 'utf8');
      text = text.replace(/\bimport\.meta\.url\b/g, `__custodyModuleUrl(${JSON.stringify(rel)})`);
      const lazy = BUNDLED_LOADS[rel];
      if (lazy) {
        const [pkg, count] = lazy;
        const call = new RegExp(`\\bload\\('${pkg}'\\)`, 'g');
        const found = text.match(call)?.length ?? 0;
        if (found !== count) throw new Error(`${rel}: expected ${count} load('${pkg}') to bundle, found ${found}`);
        text = text.replace(call, `require(${JSON.stringify(pkg)})`);
      }
      return { contents: text, loader: 'js' };
    });
  },
};
/**
 * "use strict" first: ES modules are strict, and the bundle's functions (esbuild hoists
 * them out of each module's init) must stay so; the CommonJS packages bundled with them
 * (commander, pg, better-sqlite3's JavaScript, tweetnacl) are strict-clean.
 */
const BANNER = '"use strict";\nconst __custodyModuleUrl = (rel) => require("node:url").pathToFileURL(require("node:path").join(__dirname, "..", rel)).href;';

/**
 * For the log-case bundle: what the log command and use case import only to read a bundle file
 * (bundle readers, verify, age) becomes a module that throws. bin/ runs that bundle only for an
 * argv with --case and no bundle (logCaseOnly), where nothing imports them; were it ever wrong,
 * the run ends with an internal error, never with a wrong answer.
 */
const withoutBundleReaders = {
  name: 'without-bundle-readers',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind !== 'dynamic-import' || !/[\\/]dist[\\/](cli[\\/]commands|ops)[\\/]log\.js$/.test(args.importer)) return undefined;
      return { path: args.path, namespace: 'not-in-log-case' };
    });
    build.onLoad({ filter: /.*/, namespace: 'not-in-log-case' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`the log --case bundle does not hold ${args.path} (bin/custody.js chose it for an argv that reads a bundle)`)});`,
      loader: 'js',
    }));
  },
};

/**
 * One copy of each Node builtin's namespace (log-case bundle). esbuild turns `import fs from
 * 'node:fs'` in each module into its own __toESM(require('node:fs')), which copies every export of
 * the builtin (a getter each) once per importing module: twenty-odd copies of node:fs at every
 * start. Here every ES import of a builtin goes through one small module per builtin, copied once.
 * Only where every builtin so imported is loaded at start anyway: esbuild initialises these
 * modules with the first module that needs one, so a builtin imported only by code that runs
 * later would load at start (test/log-case-route.test.ts checks that log --case loads every one).
 */
const builtinsOnce = {
  name: 'builtins-once',
  setup(build) {
    // pg's own require('crypto') and require('dns') (SCRAM and MD5 logins; host names): lazy too.
    build.onResolve({ filter: /^(crypto|dns)$/ }, (args) => {
      if (args.kind !== 'require-call' || !/[\\/]node_modules[\\/]pg[\\/]lib[\\/]/.test(args.importer)) return undefined;
      return { path: `node:${args.path}`, namespace: 'builtin-lazy' };
    });
    build.onResolve({ filter: /^node:/ }, (args) => {
      if (LAZY_BUILTINS.includes(args.path) && args.namespace !== 'builtin-lazy' && (args.kind === 'import-statement' || args.kind === 'require-call')) {
        return { path: args.path, namespace: 'builtin-lazy' };
      }
      if (args.namespace !== 'file' || args.kind !== 'import-statement' || !args.importer.startsWith(DIST + path.sep)) return undefined;
      return { path: args.path, namespace: 'builtin-once' };
    });
    build.onLoad({ filter: /.*/, namespace: 'builtin-once' }, (args) => ({
      contents: `import m from ${JSON.stringify(args.path)}; export default m; export * from ${JSON.stringify(args.path)};`,
      loader: 'js',
      resolveDir: DIST,
    }));
    build.onLoad({ filter: /.*/, namespace: 'builtin-lazy' }, async (args) => {
      const names = Object.keys(await import(args.path)).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
      return {
        contents: `const id = ${JSON.stringify(args.path)}; let m; const lazy = {};
for (const k of ${JSON.stringify(names)}) Object.defineProperty(lazy, k, { enumerable: true, get: () => (m ??= require(id))[k] });
module.exports = lazy;`,
        loader: 'js',
        resolveDir: DIST,
      };
    });
  },
};

/**
 * Builtins the log-case bundle imports that a case read never uses: commander's child_process
 * (for executable subcommands, which custody has none of), fs/promises (atomic-output, for
 * writing files) and node:crypto (keys, temporaries; OpenSSL's primitives, which the log-case
 * main replaces by libsodium's). Each becomes an object of getters that loads the builtin on
 * first use, so that log --case does not load them (with child_process came net and dgram; with
 * fs/promises readline; with crypto the streams).
 */
const LAZY_BUILTINS = ['node:child_process', 'node:fs/promises', 'node:crypto', 'node:dns'];

/**
 * pg asks for node:crypto's WebCrypto as it loads (lib/crypto/utils.js), for the SCRAM login it
 * may never do: in the log-case bundle it asks on first use instead, so that loading pg (before
 * the connection to a shared ledger can start) does not load node:crypto. A pg whose file no
 * longer reads as expected fails the build here rather than loading it eagerly unnoticed.
 */
const pgLazyWebCrypto = {
  name: 'pg-lazy-webcrypto',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]crypto[\\/]utils\.js$/ }, async (args) => {
      let text = await fs.promises.readFile(args.path, 'utf8');
      const decls = ['const webCrypto = nodeCrypto.webcrypto || globalThis.crypto\n', 'const subtleCrypto = webCrypto.subtle\n'];
      for (const d of decls) {
        if (text.split(d).length !== 2) throw new Error(`pg/lib/crypto/utils.js: expected ${JSON.stringify(d)} once`);
        text = text.replace(d, '');
      }
      text = text.replace(/\bsubtleCrypto\./g, 'webCrypto().subtle.').replace(/\bwebCrypto\.(?!subtle)/g, 'webCrypto().');
      text += '\nlet webCryptoMemo;\nfunction webCrypto() {\n  return (webCryptoMemo ??= nodeCrypto.webcrypto || globalThis.crypto);\n}\n';
      if (/\b(webCrypto|subtleCrypto)\b(?!\(\)|Memo)/.test(text.replace(/function webCrypto\(\)/, ''))) throw new Error('pg/lib/crypto/utils.js: a use of webCrypto left eager');
      return { contents: text, loader: 'js' };
    });
  },
};

async function bundle(name, contents, extraPlugins = []) {
  const outfile = path.join(BUNDLES, `${name}.cjs`);
  await esbuild.build({
    stdin: { contents, resolveDir: DIST, sourcefile: `${name}-main.js`, loader: 'js' },
    bundle: true,
    outfile,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // Native addons stay where npm put them (better-sqlite3's is loaded by path: ledger/open.ts);
    // so does hash-wasm (a quarter of some bundles, mostly WebAssembly), imported only when used.
    external: ['sodium-native', 'pg-native', 'hash-wasm'],
    // import() of what stays outside becomes require(): a script compiled by node:vm cannot import.
    supported: { 'dynamic-import': false },
    banner: { js: BANNER },
    plugins: [moduleUrls, ...extraPlugins],
    minifyWhitespace: true,
    minifySyntax: true,
    // ASCII only: bin/ reads the text as latin1, with no UTF-8 decode.
    charset: 'ascii',
    legalComments: 'none',
    logLevel: 'warning',
  });
  if (/\bimport\(/.test(fs.readFileSync(outfile, 'latin1'))) throw new Error(`${name}: import() left in the bundle`);
  return outfile;
}

/**
 * Runs one bundle with `argv` and writes V8's code cache of everything compiled
 * by then. Runs of one bundle chain: each starts from the cache the one before
 * made, so the cache holds what all of them compiled. Exit codes are not
 * checked (a training run may fail on purpose); the cache must have been written.
 */
function train(file, cache, argv) {
  const code = `require(${JSON.stringify(BIN)}).trainCodeCache(${JSON.stringify(file)}, ${JSON.stringify(cache)}, ['node', 'custody', ...${JSON.stringify(argv)}])`;
  fs.rmSync(`${cache}.new`, { force: true });
  const r = spawnSync(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', CUSTODY_CODE_CACHE_OUT: `${cache}.new` } });
  if (process.env.CUSTODY_BUILD_VERBOSE) console.log(path.basename(file), argv.join(' ').slice(-60), 'exit', r.status, r.stderr.trim().slice(0, 200));
  if (!fs.existsSync(`${cache}.new`)) throw new Error(`code cache training of ${path.basename(file)} (${argv.join(' ')}) wrote no cache`);
  fs.renameSync(`${cache}.new`, cache);
}

/**
 * The training runs, in order, in a throwaway home: a --help loads and sets up all
 * of a command's modules; the commands an examiner runs most (and the ledger reads
 * of log --case and verify) also do their work once, on a small sealed bundle.
 * log --case runs again against a PostgreSQL URL nobody listens on: that loads
 * and sets up the pg driver before it fails.
 */
function trainingRuns(work, names) {
  const home = path.join(work, 'home');
  const to = path.join(work, 'recipient');
  const bundle = path.join(work, 'cache.tar');
  fs.mkdirSync(path.join(work, 'evidence'));
  fs.writeFileSync(path.join(work, 'evidence', 'item.bin'), 'custody code cache training\n');
  // The examiner's key is the only one in the home: seal and transfer sign with it, and it is trusted for its own bundles.
  const H = ['--home', home];
  const runs = [
    ['version', ['--version']],
    ['all', ['--help']],
    ...names.map((n) => [n, [n, '--help']]),
    ['case', [...H, 'case', 'new', 'CACHE-1', '--title', 'code cache training']],
    ['key', [...H, 'key', 'new', '--name', 'Examiner', '--no-passphrase']],
    ['key', ['--home', path.join(work, 'other'), 'key', 'new', '--name', 'Recipient', '--no-passphrase', '--out', to]],
    ['seal', [...H, 'seal', path.join(work, 'evidence'), '--case', 'CACHE-1', '--out', bundle]],
    ['transfer', [...H, 'transfer', bundle, '--to', `${to}.pub`, '--reason', 'code cache training']],
    ['verify', [...H, 'verify', bundle, '--json']],
    ['log', [...H, 'log', '--case', 'CACHE-1', '--json']],
    ['log', [...H, '--ledger', 'postgresql://custody@%2Fnonexistent-custody-socket/none', 'log', '--case', 'CACHE-1', '--json']],
    ['log-case', [...H, 'log', '--case', 'CACHE-1', '--json']],
    ['log-case', [...H, 'log', '--case', 'CACHE-1']],
    ['log-case', [...H, '--ledger', 'postgresql://custody@%2Fnonexistent-custody-socket/none', 'log', '--case', 'CACHE-1', '--json']],
  ];
  return runs;
}

export async function buildCli() {
  const { COMMAND_NAMES } = await import(pathToFileURL(path.join(DIST, 'cli', 'entry.js')).href);
  const stamp = fs.statSync(path.join(DIST, 'cli', 'entry.js')).mtimeMs;
  // The old manifest goes first: until the new one is written, bin/ starts from dist/.
  fs.rmSync(BUNDLES, { recursive: true, force: true });
  fs.mkdirSync(BUNDLES, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(DIST, 'cli', 'argv-command.js')],
    bundle: true,
    outfile: path.join(BUNDLES, 'argv-command.cjs'),
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  const mains = {
    version: `export { runBase as main } from './cli/start.js';`,
    all: `export { main } from './cli/entry.js';`,
  };
  for (const name of COMMAND_NAMES) {
    mains[name] = `import { runCommand } from './cli/start.js'; import * as command from './cli/commands/${name}.js'; export const main = (argv) => runCommand(command, argv);`;
  }
  // log --case on a shared ledger connects first (cli/ledger-prewarm.ts), and the command's modules
  // (imported, so initialised only then) load while the server sets the connection up.
  // Between the two loads, one turn of the event loop: by then the server has usually set the
  // connection up, and pg sends the case's queries (PgLedger.prefetchCase) on that turn, so that
  // the server answers them while the command loads.
  mains.log = `import { prewarmSharedLedger } from './cli/ledger-prewarm.js';
export const main = async (argv) => {
  const shared = await prewarmSharedLedger(argv);
  const { runCommand } = await import('./cli/start.js');
  if (shared) await new Promise((resolve) => setImmediate(resolve));
  const command = await import('./cli/commands/log.js');
  return runCommand(command, argv);
};`;
  // log --case alone (argv-command.ts logCaseOnly): the same, without the bundle readers log imports for a
  // bundle, and with libsodium's SHA-256 and Ed25519 quick yes (cli/sodium-primitives.ts): node:crypto is
  // not loaded unless something asks for it (LAZY_BUILTINS).
  mains['log-case'] = mains.log.replace('runCommand(command, argv)', "runCommand(command, argv, 'sodium')");
  if (!mains['log-case'].includes("'sodium'")) throw new Error('log-case main: runCommand call not found');
  const files = {};
  await Promise.all(Object.entries(mains).map(async ([name, contents]) => (files[name] = await bundle(name, contents, name === 'log-case' ? [withoutBundleReaders, builtinsOnce, pgLazyWebCrypto] : []))));

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'custody-build-'));
  try {
    for (const [name, argv] of trainingRuns(work, COMMAND_NAMES)) train(files[name], path.join(BUNDLES, `${name}.cache`), argv);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }

  const bundles = {};
  for (const name of Object.keys(mains)) {
    const st = fs.statSync(files[name]);
    bundles[name] = { size: st.size, mtimeMs: st.mtimeMs, cacheSize: fs.statSync(path.join(BUNDLES, `${name}.cache`)).size };
  }
  fs.writeFileSync(path.join(BUNDLES, 'manifest.json'), `${JSON.stringify({ stamp, commands: COMMAND_NAMES, bundles }, null, 2)}\n`);
  const total = Object.values(bundles).reduce((s, b) => s + b.size + b.cacheSize, 0);
  console.log(`dist/bundled ${Object.keys(bundles).length} bundles with their code cache, ${(total / 1e6).toFixed(1)} MB`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  buildCli().catch((e) => {
    console.error(`build-cli: ${e.message}`);
    process.exit(1);
  });
}
