/** What every command handler gets: the global options and the output channel. */
import os from 'node:os';
import path from 'node:path';
import { Chalk, type ChalkInstance } from 'chalk';
import { escapeText } from '../core/text.js';

export interface GlobalOptions {
  /** `--home`, env CUSTODY_HOME, default ~/.custody: holds ledger.db and keys/. */
  home: string;
  json: boolean;
  quiet: boolean;
  color: boolean;
  /** `--ledger <file|url>`: the ledger every command reads and writes (default: the home's; env CUSTODY_LEDGER_URL). */
  ledger?: string;
}

export interface CliContext {
  opts: GlobalOptions;
  /** Colours only when allowed; use for text output only, never in --json. */
  chalk: ChalkInstance;
  /** Progress bars are drawn only when this is true (stderr a terminal, not --quiet, not --json). */
  showProgress: boolean;
  /** Writes a line of human text to stderr (notes, warnings); silent under --json or --quiet. */
  note(line: string): void;
}

export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? env.CUSTODY_HOME;
  return path.resolve(chosen && chosen.length > 0 ? chosen : path.join(os.homedir(), '.custody'));
}

export function makeContext(raw: { home?: string; json?: boolean; quiet?: boolean; color?: boolean; ledger?: string }): CliContext {
  const json = raw.json === true;
  const quiet = raw.quiet === true;
  // NO_COLOR (any non-empty value) and --no-color turn colour off; so does a pipe.
  const noColorEnv = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  const color = raw.color !== false && !noColorEnv && !json && process.stdout.isTTY === true;
  const opts: GlobalOptions = { home: resolveHome(raw.home), json, quiet, color, ...(raw.ledger === undefined ? {} : { ledger: raw.ledger }) };
  return {
    opts,
    chalk: new Chalk({ level: color ? 1 : 0 }),
    showProgress: !json && !quiet && process.stderr.isTTY === true,
    note(line: string) {
      if (!json && !quiet) process.stderr.write(`${escapeText(line)}\n`);
    },
  };
}
