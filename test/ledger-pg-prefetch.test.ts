/**
 * `custody log --case` on a shared ledger asks for the case's rows with the
 * connection (PgLedger.prefetchCase, started by cli/ledger-prewarm.ts): one
 * query of four statements, sent as soon as the connection is up. Its answers
 * must be exactly what the reads would have asked for one by one, given only
 * for that case and each once; a server that refuses it is reported as
 * without it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgLedger } from '../src/ledger/pg.js';
import { publicKeyFromSeed } from '../src/custody/ed25519.js';
import { runCli, tempDir } from './helpers/cli.js';
import { HAVE_POSTGRES, NO_POSTGRES_REASON, startPostgres, type PgServer } from './helpers/postgres.js';

const h = (s: string): string => createHash('sha256').update(s).digest('hex');

function bundle(tag: string, caseId: string, at: string) {
  return {
    bundleDigest: h(tag),
    bundleName: tag,
    caseId,
    items: [{ id: 'i' }],
    files: [],
    records: [0, 1].map((seq) => ({
      seq,
      action: seq === 0 ? ('seal' as const) : ('transfer' as const),
      payload: Buffer.from(`${tag}:${seq}`),
      envelope: Buffer.from(`env:${tag}:${seq}`),
      signerKeyid: h(tag).slice(0, 16),
      at,
    })),
  };
}

let server: PgServer;
let url: string;

describe.skipIf(!HAVE_POSTGRES)(`the case prefetch of a shared ledger${HAVE_POSTGRES ? '' : ` (skipped: ${NO_POSTGRES_REASON})`}`, () => {
  beforeAll(async () => {
    server = startPostgres();
    url = server.createDatabase('lab');
    const init = runCli(['ledger', 'init', '--url', url, '--writer-role', 'custody_writer', '--json']);
    expect(init.code, init.stderr).toBe(0);
    const ledger = await openPgLedger(url);
    try {
      // Sealed in an order their digests do not follow: the records come back in the order of the seals.
      await ledger.importBundle(bundle('late', 'C-1', '2026-11-30T12:00:00.000Z'));
      await ledger.importBundle(bundle('early', 'C-1', '2026-11-30T09:00:00.000Z'));
      await ledger.importBundle(bundle('other', 'C-2', '2026-11-30T10:00:00.000Z'));
      const pub = publicKeyFromSeed(new Uint8Array(32).fill(7));
      const fingerprint = createHash('sha256').update(pub).digest('hex');
      await ledger.addTrustedKey({ publicKey: pub, fingerprint, keyid: fingerprint.slice(0, 16), name: 'Bob' });
    } finally {
      await ledger.close();
    }
  }, 180_000);

  afterAll(() => server?.destroy());

  it('answers the case, the trust store and the records exactly as the reads one by one do, for that case only and once each', async () => {
    const plain = await openPgLedger(url);
    const early = await openPgLedger(url, { prefetchCase: 'C-1' });
    try {
      expect(await early.getCase('C-2')).toEqual(await plain.getCase('C-2')); // another case: asked of the server
      expect(await early.getCase('C-1')).toEqual(await plain.getCase('C-1'));
      expect((await plain.getCase('C-1'))!.bundles).toBe(2);
      expect(await early.trustStore()).toEqual(await plain.trustStore());
      expect((await plain.trustStore()).keys.map((k) => k.name)).toEqual(['Bob']);
      const records = await plain.records({ caseId: 'C-1' });
      expect(records.map((r) => `${r.bundleName}:${r.seq}`)).toEqual(['early:0', 'early:1', 'late:0', 'late:1']);
      expect(await early.records({ caseId: 'C-2' })).toEqual(await plain.records({ caseId: 'C-2' }));
      expect(await early.records({ caseId: 'C-1' })).toEqual(records);
      // Once each: what was added since is seen by the next read, which asks the server.
      await plain.importBundle(bundle('later', 'C-1', '2026-11-30T13:00:00.000Z'));
      expect((await early.records({ caseId: 'C-1' })).map((r) => r.bundleName)).toContain('later');
      expect((await early.getCase('C-1'))!.bundles).toBe(3);
    } finally {
      await early.close();
      await plain.close();
    }
  });

  it('a ledger without custody tables is reported as without the prefetch', async () => {
    const bare = server.createDatabase('bare');
    await expect(openPgLedger(bare)).rejects.toThrow(/is not set up for custody/);
    await expect(openPgLedger(bare, { prefetchCase: 'C-1' })).rejects.toThrow(/is not set up for custody/);
  });

  it('log --case logs in with a SCRAM or an MD5 password (pg loads node:crypto only then in the log-case bundle), and a wrong one is refused', () => {
    server.psql(`SET password_encryption = 'scram-sha-256'; CREATE ROLE scram_user LOGIN PASSWORD 'pw-scram' IN ROLE custody_writer;
      SET password_encryption = 'md5'; CREATE ROLE md5_user LOGIN PASSWORD 'pw-md5' IN ROLE custody_writer;`);
    const hba = path.join(server.dir, 'data', 'pg_hba.conf');
    fs.writeFileSync(hba, `local all scram_user scram-sha-256\nlocal all md5_user md5\n${fs.readFileSync(hba, 'utf8')}`);
    server.psql('SELECT pg_reload_conf()');
    const home = tempDir('custody-prefetch-home-');
    try {
      const socket = encodeURIComponent(server.dir);
      for (const who of ['scram_user:pw-scram', 'md5_user:pw-md5']) {
        const r = runCli(['--home', home, '--ledger', `postgresql://${who}@${socket}/lab`, '--json', 'log', '--case', 'C-1']);
        // The records are not signed (the chain check fails them, exit 1): what matters is that the case was read.
        expect(r.code, r.stderr).toBe(1);
        expect(JSON.parse(r.stdout).bundles.map((b: { bundleName: string }) => b.bundleName)).toEqual(["early", "late", "later"]);
      }
      const wrong = runCli(['--home', home, '--ledger', `postgresql://scram_user:nope@${socket}/lab`, '--json', 'log', '--case', 'C-1']);
      expect(wrong.code).toBe(3);
      expect(JSON.parse(wrong.stdout).error.message).toMatch(/refused the login: password authentication failed for user "scram_user"/);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
