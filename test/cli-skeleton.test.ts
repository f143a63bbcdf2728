import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { exitCodeFor } from '../src/cli/exit-codes.js';
import { VERIFICATION_CODES, USAGE_CODES, RUNTIME_CODES } from '../src/core/errors.js';

describe('CLI skeleton', () => {
  it('prints the version', () => {
    const r = runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('an unknown command exits 2 with one custody: line', () => {
    const r = runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^custody: unknown command 'frobnicate'/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('an unknown flag exits 2 with one custody: line', () => {
    const r = runCli(['--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^custody: unknown option '--bogus'/);
  });

  it('--json turns a usage error into a JSON document', () => {
    const r = runCli(['--json', 'frobnicate']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, error: { code: 'USAGE' } });
  });

  it('maps every error code to the documented exit code', () => {
    for (const c of VERIFICATION_CODES) expect(exitCodeFor(c)).toBe(1);
    for (const c of USAGE_CODES) expect(exitCodeFor(c)).toBe(2);
    for (const c of RUNTIME_CODES) expect(exitCodeFor(c)).toBe(3);
  });
});
