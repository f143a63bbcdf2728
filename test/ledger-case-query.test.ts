/**
 * The SQLite query behind `custody log --case` finds the case's bundles through
 * the bundles_by_case index and their records through the records primary key:
 * no table is scanned, so the read stays a few milliseconds at 100,000 records
 * (a condition written as "(@x IS NULL OR col = @x)" once made it a full scan).
 * The plan is SQLite's own (EXPLAIN QUERY PLAN) for the SQL the ledger runs.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { records } from '../src/ledger/bundle-read.js';
import { importBundle } from '../src/ledger/bundle-write.js';
import { openDatabase } from '../src/ledger/open.js';
import { randomDigest, record } from './helpers/ledger-fixtures.js';
import { tempDir } from './helpers/cli.js';

describe('the case query of log --case', () => {
  it('uses the case index and the records key, and scans no table', () => {
    const home = tempDir('custody-case-query-');
    const { db } = openDatabase(home);
    try {
      for (let i = 0; i < 30; i++) {
        importBundle(db, {
          bundleDigest: randomDigest(),
          bundleName: `b-${i}`,
          caseId: `C-${i % 3}`,
          items: [{ id: 'disk' }],
          files: [{ itemId: 'disk', path: 'data/disk/image.dd', size: i, hashes: { sha256: randomDigest() } }],
          records: [record(0, 'seal', `s${i}`), record(1, 'transfer', `t${i}`)],
        });
      }
      const seen: string[] = [];
      const prepare = db.prepare.bind(db);
      db.prepare = ((sql: string) => {
        seen.push(sql);
        return prepare(sql);
      }) as typeof db.prepare;
      expect(records(db, { caseId: 'C-1' })).toHaveLength(20);
      expect(seen).toHaveLength(1);
      const plan = (prepare(`EXPLAIN QUERY PLAN ${seen[0]}`).all({ caseId: 'C-1' }) as { detail: string }[]).map((r) => r.detail);
      expect(plan.some((d) => /SEARCH b USING (COVERING )?INDEX bundles_by_case \(case_id=\?\)/.test(d))).toBe(true);
      expect(plan.some((d) => /SEARCH r USING (PRIMARY KEY|INDEX sqlite_autoindex_records_1) \(bundle_digest=\?\)/.test(d))).toBe(true);
      expect(plan.filter((d) => /^SCAN /.test(d))).toEqual([]);
    } finally {
      db.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
