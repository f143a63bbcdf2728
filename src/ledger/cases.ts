/** Cases: opened by `custody case new`, or implicitly by seal and receive. */
import type { Db } from './open.js';
import type { CaseInput, CaseRow } from './types.js';
import { assertCaseId, assertText, type InputSource } from './validate.js';

export interface CaseDbRow {
  id: string;
  title: string | null;
  authority: string | null;
  created_at: string;
  bundles: number;
}

const SELECT_CASES = `
  SELECT c.id, c.title, c.authority, c.created_at,
         (SELECT count(*) FROM bundles b WHERE b.case_id = c.id) AS bundles
  FROM cases c`;

export function toCase(r: CaseDbRow): CaseRow {
  const c: CaseRow = { id: r.id, createdAt: r.created_at, bundles: r.bundles };
  if (r.title !== null) c.title = r.title;
  if (r.authority !== null) c.authority = r.authority;
  return c;
}

export function createCase(db: Db, input: CaseInput): { created: boolean } {
  assertCaseId(input.id, 'user');
  assertText(input.title, 'the case title', 'user');
  if (input.authority !== undefined) assertText(input.authority, 'the authority', 'user');
  const info = db
    .prepare('INSERT INTO cases (id, title, authority, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING')
    .run(input.id, input.title, input.authority ?? null, new Date().toISOString());
  return { created: info.changes === 1 };
}

/**
 * Creates the case if it is new. Title and authority fill in a new case only:
 * an examiner's own title is never overwritten by what a bundle says.
 */
export function ensureCase(
  db: Db,
  id: string,
  source: InputSource = 'user',
  extra: { title?: string; authority?: string } = {},
): { created: boolean } {
  assertCaseId(id, source);
  if (extra.title !== undefined) assertText(extra.title, 'the case title', source);
  if (extra.authority !== undefined) assertText(extra.authority, 'the authority', source);
  const info = db
    .prepare('INSERT INTO cases (id, title, authority, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING')
    .run(id, extra.title ?? null, extra.authority ?? null, new Date().toISOString());
  return { created: info.changes === 1 };
}

export function getCase(db: Db, id: string): CaseRow | undefined {
  const r = db.prepare(`${SELECT_CASES} WHERE c.id = ?`).get(id) as CaseDbRow | undefined;
  return r && toCase(r);
}

export function listCases(db: Db): CaseRow[] {
  return (db.prepare(`${SELECT_CASES} ORDER BY c.created_at, c.id`).all() as CaseDbRow[]).map(toCase);
}
