import { markdownToHtml, publicChannelChapter, renderBook, type Chapter } from './book.js';
import { documentOf } from './markdown.js';
import { procedureSections } from './procedure.js';
import { renderSecurityMd, renderSecurityTxt } from './public-channel.js';
import { raciSections } from './raci.js';
import { expertiseSections, rolesSections, staffingSections } from './resources.js';
import { PsirtError } from '../core/errors.js';
import { CLAUSES, type Clause, type ProgramDocument, type ProgramInput } from './types.js';

/**
 * The program documents of ISO/IEC 18974 §4.2.1–4.2.2 (issue #12), rendered, pure, from the
 * configuration the service enforces: the public channel (security.txt, SECURITY.md), the
 * procedure, roles, staffing, expertise and RACI as Markdown, and one HTML book of all six.
 */

interface MarkdownDocument {
  file: string;
  clause: Clause;
  title: string;
  sections: (input: ProgramInput) => string[];
}

/** The Markdown documents, one per clause of §4.2.1.2–4.2.2.4. */
const DOCUMENTS: readonly MarkdownDocument[] = [
  {
    file: 'procedure.md',
    clause: '4.2.1.2',
    title: 'Procedure for responding to vulnerability reports',
    sections: procedureSections,
  },
  { file: 'roles.md', clause: '4.2.2.1', title: 'Program roles and their holders', sections: rolesSections },
  { file: 'staffing.md', clause: '4.2.2.2', title: 'Staffing and funding', sections: staffingSections },
  {
    file: 'expertise.md',
    clause: '4.2.2.3',
    title: 'Expertise to resolve vulnerabilities',
    sections: expertiseSections,
  },
  {
    file: 'raci.md',
    clause: '4.2.2.4',
    title: 'Assignment of responsibilities (RACI)',
    sections: raciSections,
  },
];

const PUBLIC_CHANNEL_TITLE = 'The public channel for vulnerability reports';

export interface RenderOptions {
  /**
   * "required" (`psirt program`): a security.txt that cannot be rendered — no or a stale
   * public_channel.expires — stops the rendering. "when-valid" (the evidence pack, which
   * documents a configuration as it was): the other documents are still rendered, and the book
   * says why there is no security.txt.
   */
  securityTxt?: 'required' | 'when-valid';
}

/**
 * Renders every program document. Throws what the public-channel renderer throws (a PsirtError
 * naming the config key, e.g. a missing public_channel.expires) unless `securityTxt` is
 * "when-valid".
 */
export function renderProgram(input: ProgramInput, opts: RenderOptions = {}): ProgramDocument[] {
  const securityMd = renderSecurityMd(input);
  let securityTxt: string | { notRendered: string };
  try {
    securityTxt = renderSecurityTxt(input);
  } catch (err) {
    if (opts.securityTxt !== 'when-valid' || !(err instanceof PsirtError)) throw err;
    securityTxt = { notRendered: err.message };
  }
  const docs: ProgramDocument[] = [
    ...(typeof securityTxt === 'string'
      ? [
          {
            file: 'security.txt',
            clauses: ['4.2.1.1'] as Clause[],
            title: 'security.txt (RFC 9116)',
            content: securityTxt,
          },
        ]
      : []),
    { file: 'SECURITY.md', clauses: ['4.2.1.1'], title: 'SECURITY.md', content: securityMd },
  ];
  const chapters: Chapter[] = [
    {
      clause: '4.2.1.1',
      title: PUBLIC_CHANNEL_TITLE,
      html: publicChannelChapter(securityMd, securityTxt, input.teamKey.fingerprint),
    },
  ];
  for (const d of DOCUMENTS) {
    const sections = d.sections(input);
    const title = `${d.clause} ${d.title}`;
    docs.push({
      file: d.file,
      clauses: [d.clause],
      title,
      content: documentOf(input, [d.clause], title, sections),
    });
    chapters.push({ clause: d.clause, title: d.title, html: markdownToHtml(sections.join('\n\n'), 1) });
  }
  docs.push({
    file: 'book.html',
    clauses: [...CLAUSES],
    title: 'ISO/IEC 18974 program documents',
    content: renderBook(input, chapters),
  });
  return docs;
}
