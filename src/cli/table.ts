/** The one table renderer of the text output (case, key and trust lists). */

/**
 * Columns padded to their widest cell; the last column is not padded (no
 * trailing spaces). Widths count code points, so a name in another script
 * does not shift the columns after it.
 */
export function table(header: string[], rows: string[][]): string[] {
  const width = (s: string): number => [...s].length;
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - width(c)))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
