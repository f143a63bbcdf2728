/**
 * The commands of a VERIFY.txt, as a person would type them: each `   $ ` line,
 * with the `   > ` lines after it as its continuation (a shell's PS2 prompt).
 */
import { spawnSync } from 'node:child_process';

export function verifyTxtCommands(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('   $ ')) out.push(line.slice(5));
    else if (line.startsWith('   > ')) {
      if (out.length === 0) throw new Error(`continuation line before any command: ${line}`);
      out[out.length - 1] += `\n${line.slice(5)}`;
    }
  }
  return out;
}

/** Runs the commands in one shell, in order (a `cd` carries over), stopping at the first failure; `### i` marks each. */
export function runVerifyTxt(commands: string[], cwd: string, shell = 'bash'): { code: number; out: string } {
  const script = [shell === 'bash' ? 'set -e -o pipefail' : 'set -e', ...commands.flatMap((c, i) => [`echo "### ${i}"`, c])].join('\n');
  const r = spawnSync(shell, ['-c', script], { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}
