import { MAX_REFERENCES, MAX_SUMMARY } from '../advisory/model.js';
import { assertNever } from '../core/errors.js';
import { refuse, type Of, type Refused, type Work } from './work.js';

/**
 * The advisory commands (issue #14): its fields, the draft for the reporter, revisions and the
 * customer notification. Pure, like the rest of the planning. Events name the field changed,
 * never its text: before publication the title and summary describe the flaw, and they are
 * kept sealed on the case (`cases.advisory_sealed`).
 */
export function applyAdvisory(
  w: Work,
  c: Of<
    'title' | 'summary' | 'cwe' | 'affects' | 'fixed-in' | 'ref' | 'draft' | 'no-draft' | 'revise' | 'notify'
  >,
): string | Refused {
  const { s, ctx } = w;
  const a = s.advisory;
  const updated = (field: string, extra: Record<string, unknown> = {}): void => {
    w.events.push({ type: 'advisory.updated', data: { field, ...extra } });
  };
  switch (c.name) {
    case 'title':
      a.title = c.title;
      updated('title', { chars: c.title.length });
      return `advisory title set (${c.title.length} characters)`;
    case 'summary': {
      const text = ctx.ownText.trim();
      if (text === '')
        return refuse('the body is empty once the quoted thread is removed: the summary is the body');
      if (text.length > MAX_SUMMARY) return refuse(`the summary is longer than ${MAX_SUMMARY} characters`);
      a.summary = text;
      updated('summary', { chars: text.length });
      return `advisory summary set from the body (${text.length} characters)`;
    }
    case 'cwe':
      if (a.cwe === c.id) return 'the weakness was already this one';
      a.cwe = c.id;
      updated('cwe');
      return 'weakness set';
    case 'affects': {
      if (!ctx.products.includes(c.product)) return refuse(unknownProduct(ctx.products));
      const at = a.affected.findIndex((x) => x.product === c.product);
      if (c.range === null) {
        if (at < 0) return 'that product was not listed as affected';
        a.affected.splice(at, 1);
        updated('affects', { removed: true });
        return `a product is no longer listed as affected (${a.affected.length} in all)`;
      }
      const entry = { product: c.product, range: c.range };
      if (at < 0) a.affected.push(entry);
      else a.affected[at] = entry;
      updated('affects');
      return `affected products and versions set (${a.affected.length} in all)`;
    }
    case 'fixed-in': {
      if (!ctx.products.includes(c.product)) return refuse(unknownProduct(ctx.products));
      const at = a.fixed.findIndex((x) => x.product === c.product);
      if (c.version === null) {
        if (at < 0) return 'that product had no fixed version';
        a.fixed.splice(at, 1);
        updated('fixed-in', { removed: true });
        return `a fixed version removed (${a.fixed.length} in all)`;
      }
      const entry = { product: c.product, version: c.version };
      if (at < 0) a.fixed.push(entry);
      else a.fixed[at] = entry;
      updated('fixed-in');
      return `fixed version set (${a.fixed.length} in all)`;
    }
    case 'ref':
      if (a.references.includes(c.url)) return 'already a reference';
      if (a.references.length >= MAX_REFERENCES) return refuse(`at most ${MAX_REFERENCES} references`);
      a.references.push(c.url);
      updated('ref');
      return `reference added (${a.references.length} in all)`;
    case 'draft': {
      if (s.reporterAddress === '') {
        return refuse('the case has no reporter address: /no-draft "<reason>" records why no draft can go');
      }
      const missing = [a.title === null ? '/title' : null, a.summary === null ? '/summary' : null].filter(
        (x): x is string => x !== null,
      );
      if (missing.length > 0) return refuse(`the draft needs ${missing.join(' and ')} first`);
      const channel = ctx.reporterDraft ?? 'no-key';
      if (channel === 'no-key') {
        return refuse(
          'we hold no OpenPGP key of the reporter and their report did not come in clear: the ' +
            'unpublished advisory is not mailed in clear. Ask for their key (/reply), or ' +
            '/no-draft "<reason>" records why no draft can go',
        );
      }
      w.draft = true;
      s.draftSentAt = ctx.now;
      w.events.push({
        type: 'advisory.draft-queued',
        data: { to: s.reporterAddress, encrypted: channel === 'encrypted' },
      });
      const how =
        channel === 'encrypted'
          ? 'encrypted to their pinned key'
          : 'signed but NOT encrypted: we hold no key of theirs, and their report came in clear';
      return `the advisory draft goes to ${s.reporterAddress} on their thread (${how}), asking for corrections and their credit`;
    }
    case 'no-draft':
      s.noDraftReason = c.reason;
      w.events.push({ type: 'advisory.no-draft', data: { reason: c.reason } });
      return `no draft to the reporter: ${c.reason}`;
    case 'revise': {
      if (s.revisions === 0) return refuse('nothing is published yet: /publish <url> makes revision 1');
      s.revisions += 1;
      w.revision = { number: s.revisions, summary: c.summary };
      w.events.push({ type: 'advisory.revised', data: { revision: s.revisions, summary: c.summary } });
      return `revision ${s.revisions} of the advisory: ${c.summary}`;
    }
    case 'notify':
      if (s.revisions === 0) return refuse('nothing is published yet: /publish <url> first');
      w.notify = true;
      return `revision ${s.revisions} goes to every customer running an affected product (each once)`;
    default:
      return assertNever(c);
  }
}

/** Names the configured products, never the id typed (the rejection is stored in clear). */
function unknownProduct(products: readonly string[]): string {
  return products.length === 0
    ? 'no such product: no [[products]] are configured'
    : `no such product (products: ${products.join(', ')})`;
}

const same = (x: string, y: string): boolean => x.toLowerCase() === y.toLowerCase();

/**
 * `/credit` and `/credit-override`. The reporter's stated preference (a `Credit:` line on their
 * thread) wins over `/credit`; staff publish otherwise only with `/credit-override` and a reason.
 */
export function applyCredit(w: Work, c: Of<'credit' | 'credit-override'>): string | Refused {
  const s = w.s;
  const credit = c.credit.toLowerCase() === 'none' ? '' : c.credit;
  if (c.name === 'credit') {
    const pref = s.creditPreference;
    if (pref !== null && !same(pref, credit)) {
      return refuse(
        `the reporter asked to be credited ${pref === '' ? 'not at all' : `as ${pref}`}: ` +
          '/credit-override "<name|none>" "<reason>" publishes another credit',
      );
    }
    w.events.push({ type: 'case.credit-set', data: { credit: c.credit } });
    s.credit = credit;
    s.creditOverrideReason = null;
    return credit === '' ? 'no credit in the advisory' : `credited as ${credit}`;
  }
  w.events.push({ type: 'case.credit-override', data: { credit: c.credit, reason: c.reason } });
  s.credit = credit;
  s.creditOverrideReason = c.reason;
  return `${credit === '' ? 'no credit' : `credited as ${credit}`} (overriding the reporter's preference: ${c.reason})`;
}
