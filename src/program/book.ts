import { Marked, type Tokens } from 'marked';
import { escapeHtml } from '../core/html.js';
import { provenanceLine } from './markdown.js';
import { CLAUSES, type Clause, type ProgramInput } from './types.js';

/**
 * The HTML book: all six verification materials in one self-contained file (inline CSS, no
 * script, no external request), converted from the very Markdown the repositories get.
 */

/**
 * GFM, synchronous. marked passes raw HTML through unsanitised, so raw HTML in a document (which
 * the escaping of config values should already prevent) is shown as text, never interpreted.
 */
const markdown = new Marked({
  async: false,
  gfm: true,
  renderer: {
    html: ({ text }) => escapeHtml(text),
  },
});

/** Markdown to HTML with every heading moved `shift` levels down (a document becomes a chapter). */
export function markdownToHtml(src: string, shift: number): string {
  const tokens = markdown.lexer(src);
  // Headings are block-level tokens at the top (the documents put none inside lists or quotes).
  for (const t of tokens)
    if (t.type === 'heading') t.depth = Math.min(6, (t as Tokens.Heading).depth + shift);
  return markdown.parser(tokens);
}

export interface Chapter {
  clause: Clause;
  title: string;
  /** The chapter's body, HTML (from markdownToHtml, or escaped text). */
  html: string;
}

/** The HTML of the 4.2.1.1 chapter: SECURITY.md as a section, security.txt as text. */
export function publicChannelChapter(
  securityMd: string,
  securityTxt: string | { notRendered: string },
  fingerprint: string,
): string {
  return [
    '<h3>SECURITY.md</h3>',
    markdownToHtml(securityMd, 3),
    '<h3>security.txt</h3>',
    ...(typeof securityTxt === 'string'
      ? [
          `<p>Published at /.well-known/security.txt (RFC 9116), cleartext-signed with the team key ${escapeHtml(fingerprint)}. The signed text:</p>`,
          `<pre>${escapeHtml(securityTxt)}</pre>`,
        ]
      : [
          `<p class="not-rendered">This configuration renders no security.txt: ${escapeHtml(securityTxt.notRendered)}</p>`,
        ]),
  ].join('\n');
}

const anchor = (c: Clause): string => `clause-${c.replace(/\./g, '-')}`;

const CSS = `
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }
header p, .provenance { color: #555; font-size: .9rem; }
nav ol { padding-left: 1.5rem; }
section { border-top: 2px solid #ccc; margin-top: 2.5rem; padding-top: 1rem; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #bbb; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
code, pre { font-family: ui-monospace, monospace; font-size: .9em; }
pre { background: #f6f6f6; padding: .8rem; overflow-x: auto; white-space: pre-wrap; }
@media print { section { break-before: page; } nav { display: none; } }
`;

/** The book: a table of contents and one section per clause, in the guide's order. */
export function renderBook(input: ProgramInput, chapters: readonly Chapter[]): string {
  const ordered = CLAUSES.flatMap((c) => chapters.filter((ch) => ch.clause === c));
  // One line whatever breaks the name holds (U+2028 included): it is a title and a heading.
  const org = escapeHtml(input.config.organisation.name.replace(/\s+/g, ' ').trim());
  const toc = ordered
    .map((ch) => `<li><a href="#${anchor(ch.clause)}">${ch.clause} ${escapeHtml(ch.title)}</a></li>`)
    .join('\n');
  const sections = ordered
    .map(
      (ch) =>
        `<section id="${anchor(ch.clause)}">\n<h2>${ch.clause} ${escapeHtml(ch.title)}</h2>\n${ch.html}\n</section>`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${org}: ISO/IEC 18974 program documents</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${org}: ISO/IEC 18974 program documents</h1>
<p class="provenance">${escapeHtml(provenanceLine(input, CLAUSES).replace(/`/g, ''))}</p>
<p>Rendered by psirt-inbox from the configuration it enforces (§4.2.1–§4.2.2 verification materials).</p>
</header>
<nav>
<h2>Contents</h2>
<ol>
${toc}
</ol>
</nav>
${sections}
</body>
</html>
`;
}
