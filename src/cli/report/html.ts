/**
 * The HTML chain-of-custody report: kept as the entry point the command, the
 * demo and the tests call; the form itself is rendered by form.ts.
 */
import { escapeHtml, renderForm, type FormOptions } from './form.js';
import type { ReportModel } from '../../ops/report/model.js';

export { escapeHtml };
export type { FormOptions };

export function renderReportHtml(m: ReportModel, o: FormOptions = {}): string {
  return renderForm(m, o);
}
