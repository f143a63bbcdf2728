/** The case use cases: open a case, list the cases, show one with its bundles (the ledger is the store). */
import { CustodyError } from '../core/errors.js';
import { assertCaseId } from '../core/case-id.js';
import type { BundleRow, CaseRow } from '../ledger/index.js';
import { useLedger as withLedger, type LedgerAccess } from './ledger-access.js';

export async function createCase(ledger: LedgerAccess, c: { id: string; title: string; authority?: string | undefined }): Promise<CaseRow> {
  assertCaseId(c.id, 'user');
  return withLedger(ledger, async (l) => {
    const input = c.authority === undefined ? { id: c.id, title: c.title } : { id: c.id, title: c.title, authority: c.authority };
    if (!(await l.createCase(input)).created) {
      throw new CustodyError('EXISTS', `case ${c.id} already exists`, { hint: 'custody case list shows the cases' });
    }
    return (await l.getCase(c.id))!;
  });
}

export async function listCases(ledger: LedgerAccess): Promise<CaseRow[]> {
  return withLedger(ledger, (l) => l.listCases());
}

export async function showCase(ledger: LedgerAccess, id: string): Promise<{ case: CaseRow; bundles: BundleRow[] }> {
  assertCaseId(id, 'user');
  return withLedger(ledger, async (l) => {
    const c = await l.getCase(id);
    if (!c) throw new CustodyError('NOT_FOUND', `no case ${id} in the ledger`, { hint: 'custody case list shows the cases' });
    return { case: c, bundles: await l.bundles({ caseId: id }) };
  });
}
