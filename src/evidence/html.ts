/**
 * Escaping for the evidence report: every value that reaches report.html goes through `esc`
 * (text and attribute values alike), so a hostile value in a case row (an organisation name
 * staff typed, a subject with --include-subjects) stays text.
 */
const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** A value a cell or attribute shows. */
export type Shown = string | number | boolean | null | undefined;

export function esc(value: Shown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}
