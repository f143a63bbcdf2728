/** `custody verifier`: writes the offline verifier page and prints its SHA-256 (DESIGN §2, §7). */
import type { Command } from 'commander';
import { writeVerifierPage } from '../../ops/verifier.js';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import { outcome, type Outcome } from '../outcome.js';

interface VerifierOptions {
  out: string;
  force?: boolean;
}

const HELP = `
The page is one self-contained HTML file for a receiving authority that cannot
install software: opened from disk in any current browser, it checks a bundle
with the same checks as custody verify (strict tar, bag, piece SHA-256s,
Ed25519 and minisign signatures, the custody chain), trusting the sealer only
through the fingerprint typed into it, and shows the verdict and the report.
It cannot reach the network (Content-Security-Policy default-src 'none'); the
bundle is read in slices and never leaves the computer.

Send the page with the bundle (or publish it), and its SHA-256 by another
channel: the receiver compares it (certutil -hashfile custody-verifier.html
SHA256 on Windows, sha256sum elsewhere) before opening the page.

Example:
  $ custody verifier --out custody-verifier.html`;

export function register(program: Command): void {
  program
    .command('verifier')
    .description('write the offline verifier page (one HTML file, no install, no network) and print its SHA-256')
    .requiredOption('--out <file.html>', 'where to write the page')
    .option('--force', 'replace an existing --out')
    .addHelpText('after', HELP)
    .action(action(verifierCommand));
}

export async function verifierCommand(_ctx: CliContext, o: VerifierOptions): Promise<Outcome> {
  const r = await writeVerifierPage({ out: o.out, force: o.force === true });
  return outcome({ file: r.file, bytes: r.bytes, sha256: r.sha256 }, [
    `wrote ${r.file} (${r.bytes} bytes)`,
    `  sha256  ${r.sha256}`,
    'Give the receiver this SHA-256 by another channel than the file; they compare it, then open the page from disk.',
  ]);
}
