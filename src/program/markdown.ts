import type { Clause, ProgramInput } from './types.js';

/**
 * Markdown building blocks of the program documents. Every value that comes from the
 * configuration goes through `md()`: config text is the organisation's, but it lands in files
 * published in repositories and in an HTML book, so it must neither inject HTML nor break a table.
 */

/**
 * Characters that make emphasis, code spans, links, strikethrough or table cells anywhere in a
 * line (GFM); each is backslash-escaped. A value may also start a line (a paragraph of
 * safe-harbour text), so a leading heading, list, quote or setext marker is escaped too.
 */
const MARKDOWN_SPECIAL = /[\\`*_[\]|~]/g;
/** Every line break CommonMark or a browser honours, U+2028/U+2029 included (adversarial review). */
const LINE_BREAKS = /[^\S\r\n\u2028\u2029\u0085\v\f]*[\r\n\u2028\u2029\u0085\v\f]+\s*/g;

/**
 * A config value as literal Markdown text: `&` and `<` become entities (so no tag or entity can
 * be formed), Markdown punctuation is backslash-escaped (no emphasis, code span, link or table
 * cell boundary), line breaks become spaces (a value stays on its line and in its cell), and a
 * leading block marker (`#`, `-`, `+`, `=`, `1.`) is escaped so the value cannot open a block.
 */
export function md(value: string | number): string {
  return String(value)
    .replace(LINE_BREAKS, ' ')
    .trim()
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(MARKDOWN_SPECIAL, (c) => `\\${c}`)
    .replace(/^[#+\-=]/, '\\$&')
    .replace(/^(\d+)([.)])/, '$1\\$2');
}

/** "name (address)" for a person, both escaped. */
export function person(name: string, address: string): string {
  return `${md(name)} (${md(address)})`;
}

/** A code span inside a table cell: GFM splits cells at `|` even in code, unless escaped. */
export function cellCode(text: string): string {
  return `\`${text.replace(/\|/g, '\\|')}\``;
}

/** "a", "a or b", "a, b or c". */
export function orList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1) ?? ''}`;
}

/** A GFM table; cells are Markdown already (escape config values with `md()` first). */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A bulleted list, or `empty` as a paragraph when there is nothing to list. */
export function bullets(items: readonly string[], empty: string): string {
  return items.length === 0 ? empty : items.map((i) => `- ${i}`).join('\n');
}

/** The line every document begins with: which configuration produced it, when, for which clauses. */
export function provenanceLine(
  input: Pick<ProgramInput, 'configDigest' | 'generatedAt'>,
  clauses: readonly Clause[],
): string {
  const which = clauses.map((c) => `§${c}`).join(', ');
  return `Configuration digest \`sha256:${input.configDigest}\` · generated ${input.generatedAt.toISOString()} · ISO/IEC 18974 ${which}`;
}

/** A whole document: the provenance line, the title, then the sections, blank-line separated. */
export function documentOf(
  input: Pick<ProgramInput, 'configDigest' | 'generatedAt'>,
  clauses: readonly Clause[],
  title: string,
  sections: readonly string[],
): string {
  return `${[provenanceLine(input, clauses), `# ${title}`, ...sections].join('\n\n')}\n`;
}
