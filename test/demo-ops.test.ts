/**
 * The demo runs through the use cases (src/ops), not the commands, and with
 * the same keys and clock it makes the same bundle, byte for byte: time and
 * randomness are injected, nothing else varies between two runs.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/cli/demo/story.js';
import { makeContext } from '../src/cli/context.js';
import { tempDir } from './helpers/cli.js';

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function ticking(start: string): () => Date {
  let t = Date.parse(start);
  return () => new Date((t += 1000));
}

describe('custody demo through the use cases', () => {
  it('gives the same bundle bytes for the same keys and clock, and another bundle for another clock', async () => {
    const seeds = { examiner: new Uint8Array(32).fill(1), authority: new Uint8Array(32).fill(2) };
    const ctx = makeContext({ home: tempDir(), quiet: true, color: false });
    // One folder for every run: the evidence's own path is recorded in custody/manifest.json.
    const dir = path.join(tempDir(), 'demo');
    const digests: { bundle: string; tampered: string }[] = [];
    let steps: string[] = [];
    for (const start of ['2026-11-28T09:00:00.000Z', '2026-11-28T09:00:00.000Z', '2026-11-28T10:00:00.000Z']) {
      fs.rmSync(dir, { recursive: true, force: true });
      // The clock must not be ahead of the machine's (verify refuses records from the future): the past is fine.
      const r = await runDemo(ctx, dir, () => {}, { seeds, clock: ticking(start) });
      digests.push({ bundle: sha(r.files.bundle), tampered: sha(r.files.tampered) });
      steps = r.steps.map((s) => s.step);
    }
    expect(digests[1]).toEqual(digests[0]);
    expect(digests[2]!.bundle).not.toBe(digests[0]!.bundle);
    expect(steps).toEqual(['evidence', 'identities', 'case', 'seal', 'trust', 'transfer', 'receive', 'verify', 'log', 'tamper', 'verify-tampered', 'report']);
  }, 120_000);
});
