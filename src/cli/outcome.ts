/**
 * What a command handler returns. The runner (src/cli/run.ts) prints it as
 * text or as one JSON document and turns it into the exit code, so handlers
 * never print their result or exit themselves.
 */
import type { CustodyError } from '../core/errors.js';

export interface Outcome {
  /** Fields of the JSON document (`{"ok":…, ...data}`). */
  data: Record<string, unknown>;
  /** Lines for people, printed on stdout without --json. */
  text: string[];
  /**
   * A failure that still carries data (e.g. a verify verdict): printed as
   * `custody: <message>` on stderr (or in the JSON `error` field) and mapped
   * to its exit code. Without it the command succeeded (exit 0).
   */
  error?: CustodyError;
  /**
   * The text is a document whose bytes matter (a hash list another tool reads),
   * printed exactly as given; its formatter is responsible for names in it.
   * Otherwise every line is escaped for the terminal (src/core/text.ts).
   */
  document?: boolean;
  /**
   * The output (text, or with --json the JSON document) produced as the work
   * goes, already in its final bytes; it takes the place of `text`/`data`. The
   * runner writes each piece as it comes, so a result of a million files is
   * never held whole. An error thrown while it runs stops it (the output is
   * then incomplete, and the exit code says so).
   */
  stream?: AsyncIterable<string>;
  /** `-o/--out`: what would reach stdout is written to this file instead (atomically; replaced only with `force`). */
  out?: { file: string; force: boolean };
}

export function outcome(data: Record<string, unknown>, text: string | string[] = []): Outcome {
  return { data, text: Array.isArray(text) ? text : [text] };
}

/** An outcome whose text is a document for other tools (hash lists in sums, hashdeep, DFXML, JSON form). */
export function documentOutcome(data: Record<string, unknown>, body: string | string[]): Outcome {
  return { data, text: Array.isArray(body) ? body : [body.replace(/\n$/, '')], document: true };
}
