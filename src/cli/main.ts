/**
 * The whole commander program (every command registered): what --help lists and
 * what the tests inspect. bin/ starts through entry.ts, which loads one command.
 */
import type { Command } from 'commander';
import { registerAll } from './commands/index.js';
import { baseProgram, runProgram } from './program.js';

export function buildProgram(): Command {
  const program = baseProgram();
  registerAll(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await runProgram(buildProgram(), argv);
}
