/**
 * `custody verify`: the receiving authority's check of a bundle, offline
 * (DESIGN §2, §3, §4). This module stays light: in pieces mode on a bundle
 * file the piece lanes start hashing (bundle/payload-prefetch.ts) before the
 * verifier itself (cli/verify-run.ts) is loaded.
 */
import type { Command } from 'commander';
import { defaultJobs } from '../../core/piece-pool.js';
import { EarlyPieces } from '../../bundle/payload-prefetch.js';
import { action } from '../action.js';
import { mark } from '../../core/timeline.js';
import type { CliContext } from '../context.js';
import type { Outcome } from '../outcome.js';
import { addDecryptKeyOptions, addVerifyTrustOptions } from '../options.js';
import { jobsHelp, parseJobs } from '../jobs.js';
import type { VerifyFlags } from '../verify-run.js';

const HELP = `
What verify checks, in one streaming pass over the tar (a file or '-' for stdin):
  - the tar is strict: regular files only, canonical headers, no links, devices,
    sparse or pax tricks, no duplicate names, nothing after the end marker;
  - the members are exactly those of bundle format v1, in order;
  - every payload file is hashed while it streams and compared with
    custody/pieces-sha256.txt, manifest-<alg>.txt, Payload-Oxum and
    custody/manifest.json (sizes, hashes, piece counts, Merkle roots) — a
    mismatch names the file, the item and the first differing piece (byte
    range); see the two modes below;
  - every tag file against tagmanifest-sha256.txt, whose raw Ed25519 and
    minisign signatures must verify with the key in custody/sealer.pem;
  - that key must be trusted: in the trust store (custody trust add) or given
    with --trust; --allow-untrusted reports an untrusted sealer but passes;
  - the custody chain (custody/chain/*.dsse.json, then any --receipt): each
    record signed by the right key, in sequence, linked to the previous one,
    about this bundle; --strict-trust also requires every signer to be trusted.

Modes (the verdict's "mode" line says which one ran):
  default (pieces), for bundles with pieces (Custody-Piece-Size > 0): only the
    piece SHA-256s are computed, split across all cores. Every payload byte is
    checked against custody/pieces-sha256.txt, which the signed tag manifest
    covers, so any changed byte fails. The flat manifests (md5, sha1, sha256 …)
    are signed too but NOT recomputed: verify checks only that each lists
    exactly the payload files and that custody/manifest.json agrees with them.
    On a bundle file this mode scales with the cores: each worker reads and
    hashes its own pieces (--jobs <n> workers, default one per core). From
    stdin, a pipe or an encrypted .tar.age the bytes come through one reader
    and the pieces are spread from there (slower).
  --full: also recomputes every flat hash and compares it with every
    manifest-<alg>.txt and custody/manifest.json (as sha256sum -c would). Use it
    to attest the flat hashes themselves (receive, extract and report always
    verify in full). Each flat hash is one sequential stream that cannot be
    split: at most one core per algorithm, whatever --jobs says.
  A bundle sealed with --piece 0 has no piece hashes: it is always verified
  in full.

Exit: 0 verified, 1 not verified (the reason names member, item, byte range),
2 usage (missing file, bad flags), 3 I/O error.

Example:
  $ custody verify case-2026-041.tar --trust examiner.pub
  $ cat case-2026-041.tar | custody verify - --json
  $ custody verify case-2026-041.tar.age --key authority.key --trust examiner.pub   # encrypted (age): decrypted as it is verified`;

export function register(program: Command): void {
  addDecryptKeyOptions(addVerifyTrustOptions(
    program
      .command('verify')
      .description('verify a bundle offline: hashes, manifests, signatures, trust and the custody chain')
      .argument('<bundle>', "the bundle .tar (or .tar.age, decrypted as it is verified), or '-' to read it from stdin"),
  ))
    .option('--ledger <file|url>', "compare the chain with this ledger (a ledger.db, the folder holding one, or postgres://… for a lab's shared ledger; env CUSTODY_LEDGER_URL; default: the home's)")
    .option('--strict', 'a stale copy (the ledger knows later records) does not verify')
    .option('--full', 'also recompute every flat hash (md5, sha1, sha256 …), not only the piece SHA-256s; see Modes below')
    .option('--media', 'with --full: also recompute the media hashes of disk-image items (E01, split raw) from their sealed segments')
    .option('--jobs <n>', jobsHelp('pieces mode on a bundle file scales with them (this thread is one of them), --full does not'))
    .addHelpText('after', HELP)
    .action(action(verifyCommand));
}

export async function verifyCommand(ctx: CliContext, bundle: string, o: VerifyFlags): Promise<Outcome> {
  mark('verify: command runs');
  const jobs = parseJobs(o.jobs);
  const early = o.full || bundle === '-' ? undefined : await EarlyPieces.start(bundle, jobs ?? defaultJobs());
  try {
    mark('verify: lanes started');
    const run = await import('../verify-run.js');
    mark('verify: verify-run loaded');
    return await run.runVerify(ctx, bundle, o, jobs, early);
  } finally {
    await early?.close();
    mark('verify: closed');
  }
}
