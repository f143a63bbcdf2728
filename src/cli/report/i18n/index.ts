/**
 * The report's languages: one catalogue per language, chosen with
 * `--lang fr` or, for a form that crosses a language border, `--lang en,fr`
 * (every label in both). An unknown code is a usage error naming the shipped
 * ones, never a silent fall-back to English on a foreign court's form.
 */
import { CustodyError } from '../../../core/errors.js';
import { de } from './de.js';
import { en, type Catalogue, type LabelKey } from './en.js';
import { es } from './es.js';
import { fr } from './fr.js';

export type { Catalogue, LabelKey };

export const CATALOGUES: Readonly<Record<string, Catalogue>> = { en, fr, de, es };
export const LANGUAGES = Object.keys(CATALOGUES);

export interface Lang {
  code: string;
  labels: Catalogue;
}

/** `"en,fr"` → the catalogues, in order; at most two, no repeats. */
export function parseLangs(spec: string | undefined): Lang[] {
  const codes = (spec ?? 'en').split(',').map((c) => c.trim().toLowerCase());
  const shipped = LANGUAGES.join(', ');
  if (codes.length > 2 || codes.some((c) => c === '') || new Set(codes).size !== codes.length) {
    throw new CustodyError('USAGE', `--lang takes one language or two separated by a comma (e.g. en,fr), not "${spec}"`, { hint: `shipped: ${shipped}` });
  }
  return codes.map((code) => {
    const labels = CATALOGUES[code];
    if (!labels) throw new CustodyError('USAGE', `no report language "${code}"; shipped: ${shipped}`);
    return { code, labels };
  });
}

/** Fills `{name}` placeholders. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (all, k: string) => (k in values ? String(values[k]) : all));
}
