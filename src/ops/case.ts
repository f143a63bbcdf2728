/** The case use cases: open a case, list the cases, show one with its bundles (the ledger is the store). */
import { CustodyError } from '../core/errors.js';
import { assertCaseId } from '../core/case-id.js';
import type { BundleRow, CaseRow } from '../ledger/index.js';
import type { LedgerAccess } from './ledger-access.js';

function withLedger<T>(access: LedgerAccess, fn: (l: ReturnType<LedgerAccess>) => T): T {
  const l = access();
  try {
    return fn(l);
  } finally {
    l.close();
  }
}

export function createCase(ledger: LedgerAccess, c: { id: string; title: string; authority?: string | undefined }): CaseRow {
  assertCaseId(c.id, 'user');
  return withLedger(ledger, (l) => {
    const input = c.authority === undefined ? { id: c.id, title: c.title } : { id: c.id, title: c.title, authority: c.authority };
    if (!l.createCase(input).created) {
      throw new CustodyError('EXISTS', `case ${c.id} already exists`, { hint: 'custody case list shows the cases' });
    }
    return l.getCase(c.id)!;
  });
}

export function listCases(ledger: LedgerAccess): CaseRow[] {
  return withLedger(ledger, (l) => l.listCases());
}

export function showCase(ledger: LedgerAccess, id: string): { case: CaseRow; bundles: BundleRow[] } {
  assertCaseId(id, 'user');
  return withLedger(ledger, (l) => {
    const c = l.getCase(id);
    if (!c) throw new CustodyError('NOT_FOUND', `no case ${id} in the ledger`, { hint: 'custody case list shows the cases' });
    return { case: c, bundles: l.bundles({ caseId: id }) };
  });
}
