/** `custody demo`: the whole story on generated evidence, in a throwaway folder (DESIGN §2). */
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import { outcome, type Outcome } from '../outcome.js';

const HELP = `
Generates evidence (an 8 MiB raw disk image and a phone export folder), makes
two throwaway identities without passphrase (an examiner and a foreign
authority), then runs the real commands in-process: case, seal, trust,
transfer, receive, verify, log; tampers with a COPY of the bundle (one bit of
the disk image) and shows verify failing with the damaged piece's byte range;
and writes the printable HTML reports. Each step is one line.

Everything goes into --dir (which must be new or empty) or a new folder under
the system's temporary directory. The demo has its own homes inside that
folder: it never reads or writes your own keys, trust store or ledger
(--home, CUSTODY_HOME and CUSTODY_KEY are ignored).

Exit: 0 when the story ran as expected (the tampered copy failing is part of
it), 2 when --dir is not empty, 3 when a step failed unexpectedly.

Example:
  $ custody demo
  $ custody demo --dir ./custody-demo --json`;

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the whole story on generated evidence with two throwaway identities, in a temporary folder')
    .option('--dir <dir>', 'where to put everything (new or empty; default: a new folder under the temp directory)')
    .addHelpText('after', HELP)
    .action(action(demoCommand));
}

async function demoCommand(ctx: CliContext, o: { dir?: string }): Promise<Outcome> {
  // Loaded on use: the story pulls in every part of the tool.
  const { runDemo } = await import('../demo/story.js');
  // A fresh name that does not exist yet, so the demo knows the folder is its own (an interrupted run removes it).
  const dir = o.dir ?? path.join(os.tmpdir(), `custody-demo-${randomBytes(6).toString('hex')}`);
  const r = await runDemo(ctx, dir);
  const c = ctx.chalk;
  const text: string[] = [c.bold(`custody demo in ${r.dir}`)];
  r.steps.forEach((s, i) => {
    text.push(`${String(i + 1).padStart(2)}. ${c.bold(s.step.padEnd(15))} ${s.line}`);
    for (const d of s.detail ?? []) text.push(`      ${d}`);
  });
  text.push('');
  text.push(`Files are in ${r.dir}:`);
  text.push(`  bundle          ${r.files.bundle}`);
  text.push(`  tampered copy   ${r.files.tampered}`);
  text.push(`  report          ${r.files.report}   (open it in a browser, print it on A4)`);
  text.push(`  evidence        ${r.files.evidence}`);
  text.push(`  homes           ${r.files.examinerHome}, ${r.files.authorityHome}`);
  text.push(`Try: custody verify ${r.files.bundle} --trust ${r.files.examinerPub}`);
  text.push(`Or with stock tools: tar -xf ${path.basename(r.files.bundle)}, then follow VERIFY.txt inside.`);
  return outcome(
    {
      dir: r.dir,
      steps: r.steps.map((s) => ({ step: s.step, line: s.line, ...(s.data ? { data: s.data } : {}) })),
      files: r.files,
    },
    text,
  );
}
