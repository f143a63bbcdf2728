/** Turns a command handler into a commander action and keeps its exit code for main(). */
import type { Command } from 'commander';
import { makeContext, type CliContext } from './context.js';
import { EXIT_OK } from './exit-codes.js';
import type { Outcome } from './outcome.js';
import { render, renderError, renderStream } from './run.js';

/** A handler gets the context, then commander's positional args, then the command's options. */
export type Handler = (ctx: CliContext, ...args: any[]) => Promise<Outcome>;

let exitCode = EXIT_OK;

export function commandExitCode(): number {
  return exitCode;
}

export function action(handler: Handler) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals() as { home?: string; json?: boolean; quiet?: boolean; color?: boolean; ledger?: string };
    const ctx = makeContext(globals);
    try {
      const result = await handler(ctx, ...args.slice(0, -1));
      exitCode = result.stream ? await renderStream(ctx, result) : render(ctx, result);
    } catch (e) {
      exitCode = renderError(ctx, e);
    }
  };
}
