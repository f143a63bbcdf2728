/**
 * Runs one command handler and renders its outcome. The only place that
 * decides what reaches stdout/stderr for a result or an error.
 */
import { CustodyError, isCustodyError } from '../core/errors.js';
import { escapeLine, escapeText, safeJson } from '../core/text.js';
import type { CliContext } from './context.js';
import { exitCodeFor, EXIT_OK } from './exit-codes.js';
import type { Outcome } from './outcome.js';
import { openOutputFile, writeOutputFile } from './output-file.js';

export function errorJson(e: CustodyError): Record<string, unknown> {
  const err: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.hint !== undefined) err.hint = e.hint;
  if (e.member !== undefined) err.member = e.member;
  if (e.item !== undefined) err.item = e.item;
  if (e.range !== undefined) err.range = e.range;
  return err;
}

/** The one line a failure prints; its message may quote a bundle's strings, so it is escaped whole. */
export function errorLine(e: CustodyError): string {
  return escapeText(`custody: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
}

/** Anything that is not a CustodyError is a bug or an unexpected runtime failure: exit 3, one line. */
export function asCustodyError(e: unknown): CustodyError {
  if (isCustodyError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ENOSPC') return new CustodyError('IO_ERROR', `disk full: ${msg}`, { cause: e });
  if (typeof errno === 'string' && errno.startsWith('E')) return new CustodyError('IO_ERROR', msg, { cause: e });
  return new CustodyError('INTERNAL', `internal error: ${msg}`, { cause: e });
}

export function render(ctx: CliContext, result: Outcome): number {
  const { error } = result;
  const toFile = result.out;
  let body = '';
  if (ctx.opts.json) {
    const doc: Record<string, unknown> = { ok: error === undefined, ...result.data };
    if (error) doc.error = errorJson(error);
    body = `${safeJson(doc)}\n`;
  } else {
    // Every line is escaped here, whatever the command put in it: a bundle's strings never reach the terminal raw.
    const color = ctx.opts.color && toFile === undefined;
    for (const line of result.text) body += `${result.document ? line : escapeLine(line, color)}\n`;
  }
  if (toFile) writeOutputFile(toFile.file, body, toFile.force);
  else process.stdout.write(body);
  if (error && !ctx.opts.json) process.stderr.write(`${errorLine(error)}\n`);
  return error ? exitCodeFor(error.code) : EXIT_OK;
}

/** Writes an outcome's stream as it comes (to stdout, or to the -o file, renamed into place only when complete). */
export async function renderStream(ctx: CliContext, result: Outcome): Promise<number> {
  const { error } = result;
  const sink = result.out ? openOutputFile(result.out.file, result.out.force) : stdoutSink();
  try {
    for await (const chunk of result.stream!) await sink.write(chunk);
    sink.close();
  } catch (e) {
    sink.abort();
    throw e;
  }
  if (error && !ctx.opts.json) process.stderr.write(`${errorLine(error)}\n`);
  return error ? exitCodeFor(error.code) : EXIT_OK;
}

function stdoutSink(): { write(s: string): Promise<void>; close(): void; abort(): void } {
  return {
    write: (s) => (s === '' || process.stdout.write(s) ? Promise.resolve() : new Promise((resolve) => process.stdout.once('drain', resolve))),
    close() {},
    abort() {},
  };
}

export function renderError(ctx: CliContext | undefined, e: unknown): number {
  const err = asCustodyError(e);
  if (process.env.CUSTODY_DEBUG && err.code === 'INTERNAL') console.error(e);
  if (ctx?.opts.json) {
    process.stdout.write(`${safeJson({ ok: false, error: errorJson(err) })}\n`);
  } else {
    process.stderr.write(`${errorLine(err)}\n`);
  }
  return exitCodeFor(err.code);
}
