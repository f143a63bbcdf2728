#!/usr/bin/env node
/**
 * Starts custody. `npm run build` (scripts/build-cli.mjs) makes one bundle per
 * command in dist/bundled/ — every module that command needs in one CommonJS
 * file — and V8's code cache for each: started from those, a run reads two
 * files and compiles from the cache, instead of resolving, reading and parsing
 * a hundred ES modules (a `custody log --case` spent most of its time there).
 * CommonJS (bin/package.json) because Node 20 has no code cache for ES modules
 * and its ES module loader costs every run its own start-up.
 *
 * Threat guarded against: running code that is not the code built from the
 * sources in dist/. A bundle is used only when the build's manifest says it was
 * made from the dist/ there now (tsc rewrites every file, so a newer
 * dist/cli/entry.js means the bundles are stale) and the bundle is the file the
 * build wrote (size and time); otherwise custody starts from dist/ as ES modules.
 * A code cache is offered to V8 only beside the bundle it was made from, and V8
 * itself refuses one made by another V8, with other flags or for other source.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const DIST = path.join(__dirname, '..', 'dist');
const BUNDLES = path.join(DIST, 'bundled');

/** The one source text V8 compiles for a bundle (the build's cache is made from exactly this). */
function wrap(source) {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

/** Compiles a bundle, from its code cache when given and V8 accepts it (script.cachedDataRejected says). */
function compileBundle(file, cachedData) {
  const vm = require('node:vm');
  // latin1: the build writes pure ASCII, so this is the text, read without a UTF-8 decode.
  const source = fs.readFileSync(file, 'latin1');
  return new vm.Script(wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
}

/** Compiles and runs a bundle's top level; returns its exports and the script. */
function loadBundle(file, cachedData) {
  const { createRequire } = require('node:module');
  const script = compileBundle(file, cachedData);
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
  return { exports: module.exports, script };
}

/** File times as the build saw them; a copy that keeps times may round them to the millisecond. */
function sameTime(a, b) {
  return Math.abs(a - b) < 1;
}

/**
 * `custody verify <bundle file>` hashes on piece workers beside the main thread
 * (src/core/piece-pool.ts), and a worker thread takes ~0.1 s to start: started
 * here, before the program is even read, that start runs on another core while
 * this thread loads the program, and the workers are ready when the first
 * pieces are. The same script the pool would start (dist/core/piece-worker.js),
 * left where the pool takes them from (Symbol.for('custody.earlyPieceWorkers'));
 * unref'd, so that a run that does not use them (a usage error) is not held up.
 * One per core beyond this thread, at most 15: the pool's default lanes.
 */
function startPieceWorkers(argv, piecesLikely) {
  if (!piecesLikely(argv)) return;
  const n = Math.min(require('node:os').availableParallelism(), 16) - 1;
  if (n < 1) return;
  const { Worker } = require('node:worker_threads');
  const file = path.join(DIST, 'core', 'piece-worker.js');
  const early = [];
  for (let i = 0; i < n; i++) {
    const w = { worker: new Worker(file, { execArgv: [] }), dead: false };
    w.worker.unref();
    w.worker.once('error', () => (w.dead = true));
    w.worker.once('exit', () => (w.dead = true));
    early.push(w);
  }
  globalThis[Symbol.for('custody.earlyPieceWorkers')] = early;
}

/** The bundle (and its code cache) for this argv, or undefined when dist/ must be used as it is. */
function chooseBundle(argv) {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(BUNDLES, 'manifest.json'), 'utf8'));
    if (!sameTime(fs.statSync(path.join(DIST, 'cli', 'entry.js')).mtimeMs, manifest.stamp)) return undefined;
  } catch {
    return undefined;
  }
  const { commandOf, versionOnly, logCaseOnly, piecesLikely } = require(path.join(BUNDLES, 'argv-command.cjs'));
  let name = commandOf(argv, manifest.commands) ?? (versionOnly(argv) ? 'version' : 'all');
  // log --case and nothing a case read does not take: the log bundle without its bundle readers.
  if (name === 'log' && manifest.bundles['log-case'] && typeof logCaseOnly === 'function' && logCaseOnly(argv)) name = 'log-case';
  const entry = manifest.bundles[name];
  if (name === 'verify' && entry && piecesLikely) startPieceWorkers(argv, piecesLikely);
  const file = path.join(BUNDLES, `${name}.cjs`);
  try {
    const st = fs.statSync(file);
    if (!entry || st.size !== entry.size || !sameTime(st.mtimeMs, entry.mtimeMs)) return undefined;
  } catch {
    return undefined;
  }
  let cachedData;
  try {
    const cache = fs.readFileSync(path.join(BUNDLES, `${name}.cache`));
    if (cache.length === entry.cacheSize) cachedData = cache;
  } catch {
    /* no cache: compiled from the source */
  }
  return { file, cachedData };
}

function start(argv) {
  const chosen = chooseBundle(argv);
  if (chosen === undefined) {
    import('../dist/cli/entry.js').then((m) => m.main(argv));
    return;
  }
  loadBundle(chosen.file, chosen.cachedData).exports.main(argv);
}

/**
 * Build time only (scripts/build-cli.mjs): runs `argv` from a bundle, compiled
 * from `cacheFile` when there is one, and writes V8's code cache at exit, when
 * the functions this run compiled are in it, to $CUSTODY_CODE_CACHE_OUT.
 */
function trainCodeCache(file, cacheFile, argv) {
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    /* the first run of this bundle */
  }
  const out = process.env.CUSTODY_CODE_CACHE_OUT;
  const { exports, script } = loadBundle(file, cachedData);
  process.once('exit', () => fs.writeFileSync(out, script.createCachedData()));
  exports.main(argv);
}

module.exports = { compileBundle, trainCodeCache };
if (require.main === module) start(process.argv);
