/**
 * The main of a one-command bundle (scripts/build-cli.mjs builds one per command,
 * started by bin/custody.js): the same run as entry.ts makes for a command argv
 * names — OpenSSL (and libsodium's key check) under the verification core, the global options, that one
 * command — with every module it needs in one file, compiled from V8's code
 * cache instead of resolved, read and parsed module by module.
 */
import type { Command } from 'commander';
import { useNodeBase64 } from './node-base64.js';
import { useOpenSsl } from './openssl.js';
import { baseProgram, runProgram } from './program.js';
import { useSodiumKeyCheck } from './sodium-keys.js';
import { useSodiumPrimitives } from './sodium-primitives.js';

/**
 * Runs one command (a module of cli/commands/) as the whole program would. With
 * 'sodium' (the log-case bundle), libsodium's SHA-256 and Ed25519 quick yes
 * instead of OpenSSL's (cli/sodium-primitives.ts), OpenSSL's where it does not load.
 */
export function runCommand(command: { register: (program: Command) => void }, argv: string[], primitives: 'openssl' | 'sodium' = 'openssl'): Promise<void> {
  if (primitives !== 'sodium' || !useSodiumPrimitives()) useOpenSsl();
  useSodiumKeyCheck();
  useNodeBase64();
  const program = baseProgram();
  command.register(program);
  return runProgram(program, argv);
}

/** `custody --version`: the program without any command. */
export function runBase(argv: string[]): Promise<void> {
  return runProgram(baseProgram(), argv);
}
