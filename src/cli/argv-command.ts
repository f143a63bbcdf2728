/**
 * Which command an argv names, read before anything else is loaded: bin/custody.js
 * picks the one-command bundle by it, and entry.ts the one command module to load.
 * Anything it cannot place with certainty (--help, no command, an unknown word or
 * option before the command) is left to the whole program, so that output and exit
 * codes are always those of the full program. No imports: it must cost nothing.
 */

/** Global options that take a value, and those that do not (see program.ts). */
const WITH_VALUE = ['--home', '--ledger'];
const FLAGS = ['--json', '-q', '--quiet', '--no-color'];

/** The command argv names (one of `names`), or undefined when the whole program must decide. */
export function commandOf(argv: readonly string[], names: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (WITH_VALUE.includes(a)) {
      i++;
      continue;
    }
    if (FLAGS.includes(a) || WITH_VALUE.some((o) => a.startsWith(`${o}=`))) continue;
    return names.includes(a) ? a : undefined;
  }
  return undefined;
}

/**
 * For `custody verify`: whether this run will most likely hash pieces of a
 * bundle file on the default lanes (not stdin, --full, --help or --jobs), so
 * that piece workers started before the program loads will be used. Only a
 * guess for a head start: the piece pool decides.
 */
export function piecesLikely(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  if (args.includes('-') || args.includes('--full') || args.includes('--help') || args.includes('-h')) return false;
  return !args.some((a) => a === '--jobs' || a.startsWith('--jobs='));
}

/** `custody --version` (or -V) and nothing else: answered without loading any command. */
export function versionOnly(argv: readonly string[]): boolean {
  return argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V');
}

/**
 * Whether argv is `log --case <id>` and nothing a case read does not take: the
 * global options, --case once or more, and no bundle, no --receipt, no --help.
 * bin/custody.js runs such an argv from the log-case bundle, which leaves out
 * the bundle readers (a third of the log bundle); anything else that names log
 * runs the whole log bundle.
 */
export function logCaseOnly(argv: readonly string[]): boolean {
  let i = 2;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (WITH_VALUE.includes(a)) i++;
    else if (!FLAGS.includes(a) && !WITH_VALUE.some((o) => a.startsWith(`${o}=`))) break;
  }
  if (argv[i] !== 'log') return false;
  let cased = false;
  for (i++; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--case') {
      if (i + 1 >= argv.length) return false;
      i++;
      cased = true;
    } else if (a.startsWith('--case=')) {
      cased = true;
    } else if (WITH_VALUE.includes(a)) {
      if (i + 1 >= argv.length) return false;
      i++;
    } else if (!FLAGS.includes(a) && !WITH_VALUE.some((o) => a.startsWith(`${o}=`))) {
      return false;
    }
  }
  return cased;
}
