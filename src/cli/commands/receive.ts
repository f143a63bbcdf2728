import type { Command } from 'commander';
import { CustodyError } from '../../core/errors.js';
import { action } from '../action.js';

// Placeholder until the command lands: registered so that help lists it.
export function register(program: Command): void {
  program
    .command('receive')
    .description('(not yet implemented)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      action(async () => {
        throw new CustodyError('USAGE', 'receive is not implemented yet');
      }),
    );
}
