/**
 * Exports of many small files: the big tag files (the flat manifests,
 * custody/manifest.json, the piece list) are read as streams, bounded per
 * line and per entry, and what verify keeps per payload member is compact.
 * A 20,000-file bundle verifies in both modes and extracts to what
 * `sha256sum -c` accepts; signed bundles that break a reading bound fail with
 * the check that reads that file; with CUSTODY_MILLION_TESTS=1 (too slow for
 * CI's budget), verify of a 1,000,000-member bundle stays under 300 MB.
 * The bundles are written directly (test/helpers/many-files-bundle.mjs), not
 * sealed: sealing 20,000 files is the writing side's test.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runWithPeakRss, tempDir } from './helpers/cli.js';
// @ts-expect-error -- a plain ES module shared with the bench (no type declarations)
import { writeManyFilesBundle } from './helpers/many-files-bundle.mjs';

interface Written {
  file: string;
  files: number;
  fingerprint: string;
}
const write = writeManyFilesBundle as (o: { out: string; files: number; maxSize?: number; minSize?: number; hostile?: string }) => Promise<Written>;

const MILLION = process.env.CUSTODY_MILLION_TESTS === '1';

function verifyJson(bundle: string, home: string, fp: string, extra: string[] = []): { code: number; json: { ok: boolean; verdict: { failedCheck?: string; files?: number; checks: { id: string; ok: boolean; detail: string }[] }; error?: { message: string } } } {
  const r = runCli(['verify', bundle, '--home', home, '--trust', fp, '--json', ...extra]);
  return { code: r.code, json: JSON.parse(r.stdout) };
}

describe('a bundle of 20,000 small files', () => {
  let dir: string;
  let bundle: Written;
  beforeAll(async () => {
    dir = tempDir('custody-many-');
    bundle = await write({ out: path.join(dir, 'export.tar'), files: 20_000, maxSize: 64 });
  }, 300_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }), 300_000);

  it('verifies in pieces mode and with --full, every member counted', () => {
    for (const extra of [[], ['--full']]) {
      const { code, json } = verifyJson(bundle.file, path.join(dir, `home${extra.length}`), bundle.fingerprint, extra);
      expect(code, JSON.stringify(json.error)).toBe(0);
      expect(json.verdict.files).toBe(20_000);
      expect(json.verdict.checks.find((c) => c.id === 'custody.manifest')!.detail).toMatch(/20000 file\(s\) agree/);
    }
  }, 300_000);

  it('extracts a tree whose files sha256sum -c accepts against the bundle manifest', () => {
    const into = path.join(dir, 'out');
    const r = runCli(['extract', bundle.file, '--into', into, '--home', path.join(dir, 'home-x'), '--trust', bundle.fingerprint]);
    expect(r.code, r.stderr).toBe(0);
    const check = spawnSync('sha256sum', ['-c', '--quiet', 'manifest-sha256.txt'], { cwd: into, encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(fs.readFileSync(path.join(into, 'manifest-sha256.txt'), 'utf8').split('\n').length - 1).toBe(20_000);
  }, 300_000);
});

describe('a signed bundle that breaks a reading bound fails with the check that reads that file', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('custody-many-hostile-');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }), 300_000);

  const cases: [string, string, RegExp][] = [
    ['entry-too-big', 'custody.manifest', /custody\/manifest\.json: files\[0\] is more than 65536 bytes/],
    ['line-too-long', 'manifest.md5', /manifest-md5\.txt: line 1 is longer than 8192 bytes/],
    ['extra-entries', 'custody.manifest', /custody\/manifest\.json: lists more than 5 files; the bundle holds 5/],
  ];
  for (const [hostile, id, message] of cases) {
    it(`${hostile}: ${id} fails, exit 1`, async () => {
      const b = await write({ out: path.join(dir, `${hostile}.tar`), files: 5, hostile });
      const { code, json } = verifyJson(b.file, path.join(dir, `home-${hostile}`), b.fingerprint);
      expect(code).toBe(1);
      expect(json.verdict.failedCheck).toBe(id);
      expect(json.error!.message).toMatch(message);
      // The seal itself holds: the finding is about the file, not about a broken signature.
      expect(json.verdict.checks.find((c) => c.id === 'seal.signature')!.ok).toBe(true);
    }, 120_000);
  }
});

describe.skipIf(!MILLION)('a bundle of 1,000,000 tiny files', () => {
  let dir: string;
  let bundle: Written;
  beforeAll(async () => {
    dir = tempDir('custody-million-');
    bundle = await write({ out: path.join(dir, 'million.tar'), files: 1_000_000, maxSize: 16 });
  }, 3_600_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }), 300_000);

  it('verifies in pieces mode with a peak RSS under 300 MB', async () => {
    const r = await runWithPeakRss(['verify', bundle.file, '--home', path.join(dir, 'home'), '--trust', bundle.fingerprint, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.peakKiB).toBeGreaterThan(0);
    expect(r.peakKiB).toBeLessThan(300 * 1024);
  }, 3_600_000);
});
