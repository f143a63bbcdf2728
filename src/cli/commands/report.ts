/** `custody report`: the printable chain-of-custody form (DESIGN §2). */
import { Option, type Command } from 'commander';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import type { Outcome } from '../outcome.js';
import type { ReportOptions } from '../report/report-command.js';
import { addDecryptKeyOptions, addVerifyTrustOptions, collect } from '../options.js';

const HELP = `
The report is one self-contained HTML file (inline CSS, no scripts, no network)
that prints on A4 landscape, every page footed with the case id and "page x of
y". Page 1 can be read alone: the verdict, the case and its authority, the
bundle digest, every item with its description and media hashes, the sealer
and its key fingerprint, the current custodian. Then the custody timeline (one
row per record: who to whom, when, where, why, under which authority, in what
condition, the receiver's verification, the record's signature), a signature
block (released by / received by, with lines to sign by hand) for every
hand-over, the seizure and acquisition facts of every item (from --meta at
sealing: seized_at, seized_by, seized_from, location, tool, write_blocker),
every custodian's fingerprint, the checks made, and the file list as an
appendix (--files none leaves it out).

--case-jsonld writes the same facts for other tools as CASE 1.4 / UCO 1.4
JSON-LD (caseontology.org): the bundle and every file as observables with
their hashes, each seal, transfer and receive as an investigative action
(performer, instrument, location, time, object, result), the authorities as
authorizations, the chain as provenance records. At least one of --html and
--case-jsonld is required.

Labels are in English, French (fr), German (de) or Spanish (es); --lang en,fr
gives every label in both. Names, reasons and other data stay as written.

The bundle is verified in full first (as custody verify --full does, with the same
trust options). A bundle that does NOT verify still gets its report — it says
NOT VERIFIED and why, because whoever reads it must see the failure — and the
command then exits 1 with the reason. The file is written under a temporary
name and renamed; an existing output is replaced only with --force.

Exit: 0 verified and written, 1 written but the bundle does not verify,
2 usage (missing bundle, existing output without --force), 3 I/O error.

Example:
  $ custody report case-2026-041.tar --html case-2026-041-custody.html --trust examiner.pub
  $ custody report case-2026-041.tar --html form-en-fr.html --lang en,fr --files none
  $ custody report case-2026-041.tar --case-jsonld case-2026-041.jsonld`;

export function register(program: Command): void {
  addDecryptKeyOptions(addVerifyTrustOptions(
    program
      .command('report')
      .description('write a printable chain-of-custody report (HTML) of a bundle, after verifying it')
      .argument('<bundle>', 'the bundle .tar (or .tar.age, decrypted as it is verified)')
      .option('--html <out.html>', 'the report file to write')
      .option('--case-jsonld <out.jsonld>', 'also (or instead) write the same facts as CASE/UCO 1.4 JSON-LD'),
  ))
    .option('--lang <code>', 'label language: en, fr, de, es; two for a bilingual form (en,fr)', 'en')
    .addOption(new Option('--files <which>', 'the file list appendix: all or none').choices(['all', 'none']).default('all'))
    .option('--force', 'replace an existing --html or --case-jsonld file')
    .addHelpText('after', HELP)
    .action(
      action(async (ctx: CliContext, bundle: string, o: ReportOptions): Promise<Outcome> => {
        // Loaded on use: the verifier pulls in hashing, tar and crypto code that --help does not need.
        const { reportCommand } = await import('../report/report-command.js');
        return reportCommand(ctx, bundle, o);
      }),
    );
}
