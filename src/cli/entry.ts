/**
 * The start of every run (bin/custody.js): registers only the command that argv
 * names, loaded on demand, so that `custody log --case` does not pay for loading
 * the sealer, the hashers and the bundle readers of every other command (the
 * whole module graph costs hundreds of ms per run before any work starts).
 * Anything it cannot place with certainty (--help, no command, an unknown word or
 * option before the command) runs the whole program, so output and exit codes
 * are those of the full program.
 */
import type { Command } from 'commander';
import { commandOf as commandIn, versionOnly } from './argv-command.js';
import { baseProgram, runProgram } from './program.js';
import { mark } from '../core/timeline.js';

type Register = (program: Command) => void;

const COMMANDS: Record<string, () => Promise<{ register: Register }>> = {
  hash: () => import('./commands/hash.js'),
  key: () => import('./commands/key.js'),
  trust: () => import('./commands/trust.js'),
  case: () => import('./commands/case.js'),
  seal: () => import('./commands/seal.js'),
  verify: () => import('./commands/verify.js'),
  extract: () => import('./commands/extract.js'),
  transfer: () => import('./commands/transfer.js'),
  receive: () => import('./commands/receive.js'),
  log: () => import('./commands/log.js'),
  report: () => import('./commands/report.js'),
  ledger: () => import('./commands/ledger.js'),
  verifier: () => import('./commands/verifier.js'),
  demo: () => import('./commands/demo.js'),
};

/** The commands entry.ts can load alone: the same as the whole program's (test/cli-entry.test.ts). */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

/** The command argv names, or undefined when the whole program must decide (argv-command.ts). */
export function commandOf(argv: string[]): string | undefined {
  return commandIn(argv, COMMAND_NAMES);
}

/**
 * OpenSSL under the verification core's SHA-256 and Ed25519 signatures, libsodium under its
 * key check, Buffer under its base64: the same results, without their cold start
 * (openssl.ts, sodium-keys.ts, node-base64.ts).
 */
async function loadOpenSsl(): Promise<void> {
  const [openssl, sodium, base64] = await Promise.all([import('./openssl.js'), import('./sodium-keys.js'), import('./node-base64.js')]);
  openssl.useOpenSsl();
  sodium.useSodiumKeyCheck();
  base64.useNodeBase64();
}

export async function main(argv: string[]): Promise<void> {
  mark('entry: main()');
  const name = commandOf(argv);
  if (name === undefined && !versionOnly(argv)) {
    const [{ buildProgram }] = await Promise.all([import('./main.js'), loadOpenSsl()]);
    return runProgram(buildProgram(), argv);
  }
  const program = baseProgram();
  if (name !== undefined) {
    const prewarm =
      name === 'verify'
        ? import('./prewarm.js').then((m) => m.prewarmForVerify(argv))
        : name === 'log'
          ? import('./ledger-prewarm.js').then((m) => m.prewarmSharedLedger(argv))
          : undefined;
    const [command] = await Promise.all([COMMANDS[name]!(), loadOpenSsl(), prewarm]);
    mark(`entry: ${name} loaded`);
    command.register(program);
  }
  return runProgram(program, argv);
}
