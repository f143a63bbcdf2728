/** `custody report`: the printable chain-of-custody form (DESIGN §2; issue 6). */
import type { Command } from 'commander';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import type { Outcome } from '../outcome.js';
import { addDecryptKeyOptions, addVerifyTrustOptions, collect } from '../options.js';

export interface ReportOptions {
  html: string;
  trust: string[];
  allowUntrusted?: boolean;
  strictTrust?: boolean;
  receipt: string[];
  force?: boolean;
  key?: string;
  passphraseFile?: string;
}


const HELP = `
The report is one self-contained HTML file (inline CSS, no scripts, no network)
that prints on A4: the case and its authority, every evidence item with its
description, source device facts and hashes, the sealer, a timeline of every
custody record (who to whom, when, where, why, under which authority, in what
condition, signature verified or not), the bundle digest, every custodian's
key fingerprint, and the verdict of the verification made for this report.

The bundle is verified in full first (as custody verify --full does, with the same
trust options). A bundle that does NOT verify still gets its report — it says
NOT VERIFIED and why, because whoever reads it must see the failure — and the
command then exits 1 with the reason. The file is written under a temporary
name and renamed; an existing --html file is replaced only with --force.

Exit: 0 verified and written, 1 written but the bundle does not verify,
2 usage (missing bundle, existing output without --force), 3 I/O error.

Example:
  $ custody report case-2026-041.tar --html case-2026-041-custody.html --trust examiner.pub`;

export function register(program: Command): void {
  addDecryptKeyOptions(addVerifyTrustOptions(
    program
      .command('report')
      .description('write a printable chain-of-custody report (HTML) of a bundle, after verifying it')
      .argument('<bundle>', 'the bundle .tar')
      .requiredOption('--html <out.html>', 'the report file to write'),
  ))
    .option('--force', 'replace an existing --html file')
    .addHelpText('after', HELP)
    .action(
      action(async (ctx: CliContext, bundle: string, o: ReportOptions): Promise<Outcome> => {
        // Loaded on use: the verifier pulls in hashing, tar and crypto code that --help does not need.
        const { reportCommand } = await import('../report/report-command.js');
        return reportCommand(ctx, bundle, o);
      }),
    );
}
