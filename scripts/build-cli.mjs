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
import { execFileSync } from 'node:child_process';
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
const moduleUrls = {
  name: 'module-urls',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(DIST + path.sep)) return undefined;
      const rel = path.relative(DIST, args.path).split(path.sep).join('/');
      const text = await fs.promises.readFile(args.path, 'utf8');
      return { contents: text.replace(/\bimport\.meta\.url\b/g, `__custodyModuleUrl(${JSON.stringify(rel)})`), loader: 'js' };
    });
  },
};
const BANNER = 'const __custodyModuleUrl = (rel) => require("node:url").pathToFileURL(require("node:path").join(__dirname, "..", rel)).href;';

async function bundle(name, contents) {
  const outfile = path.join(BUNDLES, `${name}.cjs`);
  const result = await esbuild.build({
    stdin: { contents, resolveDir: DIST, sourcefile: `${name}-main.js`, loader: 'js' },
    bundle: true,
    outfile,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // Native addons, and what their packages load beside them, stay where npm put them.
    external: ['better-sqlite3', 'sodium-native', 'pg-native'],
    banner: { js: BANNER },
    plugins: [moduleUrls],
    minifyWhitespace: true,
    minifySyntax: true,
    // ASCII only: bin/ reads the text as latin1, with no UTF-8 decode.
    charset: 'ascii',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  // Every import() must have been bundled: a script compiled by node:vm cannot import.
  const dynamic = Object.values(result.metafile.inputs).flatMap((i) => i.imports.filter((x) => x.kind === 'dynamic-import' && x.external));
  if (dynamic.length > 0) throw new Error(`${name}: import() left in the bundle: ${dynamic.map((x) => x.path).join(', ')}`);
  return outfile;
}

/** Runs one bundle with `argv` (in a fresh home) and keeps V8's code cache of what it compiled. */
function train(file, cacheOut, argv) {
  const code = `require(${JSON.stringify(BIN)}).trainCodeCache(${JSON.stringify(file)}, ${JSON.stringify(cacheOut)}, ['node', 'custody', ...${JSON.stringify(argv)}])`;
  execFileSync(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
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
  const files = {};
  await Promise.all(Object.entries(mains).map(async ([name, contents]) => (files[name] = await bundle(name, contents))));

  // Training runs: a --help loads and sets up all a command's modules; log --case reads a ledger too.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'custody-build-'));
  try {
    const runs = { version: ['--version'], all: ['--help'] };
    for (const name of COMMAND_NAMES) runs[name] = [name, '--help'];
    runs.case = ['--home', home, 'case', 'new', 'CACHE-1', '--title', 'code cache training'];
    runs.log = ['--home', home, 'log', '--case', 'CACHE-1', '--json'];
    const order = ['case', ...Object.keys(runs).filter((n) => n !== 'case')];
    for (const name of order) train(files[name], path.join(BUNDLES, `${name}.cache`), runs[name]);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
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
