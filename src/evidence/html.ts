import { escapeHtml } from '../core/html.js';

/**
 * Escaping for the evidence report: every value that reaches report.html goes through `esc`
 * (text and attribute values alike), so a hostile value in a case row (an organisation name
 * staff typed, a subject with --include-subjects) stays text.
 */

/** A value a cell or attribute shows. */
export type Shown = string | number | boolean | null | undefined;

export function esc(value: Shown): string {
  return escapeHtml(value === null || value === undefined ? '' : String(value));
}
