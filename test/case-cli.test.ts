/** `custody case new|list|show` through the built CLI, against a real ledger in a temp home. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLedger } from '../src/ledger/index.js';
import { BIN, runCli, tempDir } from './helpers/cli.js';
import { sealInput } from './helpers/ledger-fixtures.js';

function home(): string {
  return path.join(tempDir(), 'home');
}

describe('custody case', () => {
  it('new creates a case that list shows, in text and JSON', () => {
    const h = home();
    const r = runCli(['--home', h, 'case', 'new', '2026-041', '--title', 'Fraud at ACME GmbH', '--authority', 'Public Prosecutor, Vienna']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^created case 2026-041: Fraud at ACME GmbH\n$/);
    runCli(['--home', h, 'case', 'new', 'B-2', '--title', 'second']);

    const text = runCli(['--home', h, 'case', 'list']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CASE\s+BUNDLES\s+CREATED\s+AUTHORITY\s+TITLE$/);
    expect(lines[1]).toMatch(/^2026-041\s+0\s+\d{4}-\d\d-\d\d\s+Public Prosecutor, Vienna\s+Fraud at ACME GmbH$/);
    expect(lines[2]).toMatch(/^B-2\s+0\s+\S+\s+-\s+second$/);

    const json = runCli(['--home', h, '--json', 'case', 'list']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.cases).toEqual([
      { id: '2026-041', title: 'Fraud at ACME GmbH', authority: 'Public Prosecutor, Vienna', createdAt: expect.any(String), bundles: 0 },
      { id: 'B-2', title: 'second', authority: null, createdAt: expect.any(String), bundles: 0 },
    ]);
    expect(Date.parse(doc.cases[0].createdAt)).not.toBeNaN();
  });

  it('new --json returns the case', () => {
    const r = runCli(['--home', home(), '--json', 'case', 'new', 'X.1', '--title', 't']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, case: { id: 'X.1', title: 't', authority: null, bundles: 0 } });
  });

  it('an existing id exits 2 (EXISTS) and keeps the first title', () => {
    const h = home();
    runCli(['--home', h, 'case', 'new', 'C1', '--title', 'first']);
    const r = runCli(['--home', h, 'case', 'new', 'C1', '--title', 'second']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('custody: case C1 already exists (custody case list shows the cases)\n');
    const j = runCli(['--home', h, '--json', 'case', 'new', 'C1', '--title', 'second']);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { code: 'EXISTS' } });
    expect(JSON.parse(runCli(['--home', h, '--json', 'case', 'list']).stdout).cases.map((c: { title: string }) => c.title)).toEqual(['first']);
  });

  it.each([
    [['case', 'new', '../evil', '--title', 't'], /^custody: invalid case id "\.\.\/evil" \(use 1-128 letters/],
    [['case', 'new', 'ok'], /^custody: required option '--title <text>' not specified/],
    [['case', 'new', 'ok', '--title', 'a\u001b[31mb'], /^custody: the case title contains a control character \(\\u001B\)/],
    [['case'], /^custody: case needs a subcommand: new, list or show/],
    [['case', 'frob'], /^custody: unknown command 'case frob'/],
    [['case', 'list', 'extra'], /^custody: too many arguments/],
    [['case', 'show', 'nope'], /^custody: no case nope in the ledger/],
  ])('usage error %j exits 2 with one custody: line', (args, message) => {
    const h = home();
    const r = runCli(['--home', h, ...args]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('show lists the bundles of the case with their state', () => {
    const h = home();
    const ledger = openLedger(h);
    const s = sealInput({ caseId: 'S-1' });
    ledger.recordSeal(s);
    ledger.close();
    const r = runCli(['--home', h, 'case', 'show', 'S-1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('title      -');
    expect(r.stdout).toMatch(new RegExp(`^${s.bundleDigest}\\s+sealed\\s+1\\s+case-2026-041\\s+/evidence/case-2026-041.tar$`, 'm'));
    const j = JSON.parse(runCli(['--home', h, '--json', 'case', 'show', 'S-1']).stdout);
    expect(j.bundles).toEqual([
      { digest: s.bundleDigest, name: s.bundleName, path: s.path, state: 'sealed', records: 1, updatedAt: expect.any(String) },
    ]);
    expect(JSON.parse(runCli(['--home', h, '--json', 'case', 'list']).stdout).cases[0]).toMatchObject({ id: 'S-1', title: null, bundles: 1 });
  });

  it('every case command has an example in its help', () => {
    for (const sub of [[], ['new'], ['list'], ['show']]) {
      const r = runCli(['case', ...sub, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Examples?:\n {2}\$ custody (--json )?case/);
    }
  });

  it('a corrupt ledger exits 3 with one line naming the file, no stack trace', () => {
    const h = tempDir();
    fs.writeFileSync(path.join(h, 'ledger.db'), 'not a database '.repeat(100));
    for (const args of [['case', 'list'], ['case', 'new', 'A', '--title', 't']]) {
      const r = runCli(['--home', h, ...args]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^custody: the ledger .*ledger\.db is corrupt or not a ledger/);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
    const j = runCli(['--home', h, '--json', 'case', 'list']);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { code: 'IO_ERROR', message: expect.stringContaining(h) } });
  });

  it('a home that cannot be created exits 3', () => {
    const file = path.join(tempDir(), 'file');
    fs.writeFileSync(file, 'x');
    const r = runCli(['--home', path.join(file, 'home'), 'case', 'list']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^custody: cannot create the ledger .*file\/home\/ledger\.db/);
  });

  it('two `case new` processes at once on a fresh home both succeed', async () => {
    const h = home();
    const run = (id: string) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [BIN, '--home', h, 'case', 'new', id, '--title', id], { stdio: 'ignore' });
        child.on('close', resolve);
      });
    const codes = await Promise.all(['P1', 'P2', 'P3', 'P4'].map(run));
    expect(codes).toEqual([0, 0, 0, 0]);
    const doc = JSON.parse(runCli(['--home', h, '--json', 'case', 'list']).stdout);
    expect(doc.cases.map((c: { id: string }) => c.id).sort()).toEqual(['P1', 'P2', 'P3', 'P4']);
  });
});
