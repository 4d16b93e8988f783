import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { STATUS_EVENTS } from '../config/schema.js';
import { PsirtError } from '../core/errors.js';

/** Every template the service renders; all must exist in the template folder (checked at start). */
export const TEMPLATE_NAMES = [
  'acknowledgment',
  'acknowledgment-unreadable',
  'staff-notification',
  'staff-notification-withheld',
  'delivery-failed',
  'command-confirmation',
  'command-rejected',
  'assignment',
  'reporter-reply',
  'escalation',
  'outside-expertise',
  'channel-expiry',
  'advisory',
  'advisory-draft',
  'embargo-reminder-reporter',
  'embargo-reminder-staff',
  'customer-advisory',
  'service-alert',
  'mail-probe',
  ...STATUS_EVENTS.map((e) => `status-${e}` as const),
] as const;

export type TemplateName = (typeof TEMPLATE_NAMES)[number];

export interface Templates {
  render(name: TemplateName, data: Record<string, unknown>): string;
}

/**
 * Loads and compiles the plain-text Handlebars templates the organisation edits
 * (`config/templates/<name>.txt`, partials `_<name>.txt`). Plain text, so no HTML escaping; `strict` makes a misspelt
 * placeholder an error at render time instead of an empty gap in a mail to a researcher.
 */
export function loadTemplates(dir: string): Templates {
  const hb = Handlebars.create();
  // `_name.txt` files are partials, used as {{> name}} (e.g. the shared footer of status mails).
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (err) {
    throw new PsirtError('template_missing', `cannot read the template folder ${dir}`, { cause: err });
  }
  for (const f of files.filter((n) => /^_[a-z0-9-]+\.txt$/.test(n))) {
    const file = join(dir, f);
    try {
      const source = readFileSync(file, 'utf8');
      hb.precompile(source, { noEscape: true, strict: true });
      hb.registerPartial(f.slice(1, -4), source);
    } catch (err) {
      throw new PsirtError('template_invalid', `partial ${f} (${file}): ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  const compiled = new Map<TemplateName, Handlebars.TemplateDelegate>();
  for (const name of TEMPLATE_NAMES) {
    const file = join(dir, `${name}.txt`);
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (err) {
      throw new PsirtError('template_missing', `template ${name}: cannot read ${file}`, { cause: err });
    }
    try {
      compiled.set(name, hb.compile(source, { noEscape: true, strict: true }));
      // compile() is lazy: precompile parses now, so a syntax error stops the start, not a send.
      hb.precompile(source, { noEscape: true, strict: true });
    } catch (err) {
      throw new PsirtError('template_invalid', `template ${name} (${file}): ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return {
    render(name, data) {
      const t = compiled.get(name);
      if (!t) throw new PsirtError('template_missing', `template ${name} is not loaded`);
      try {
        return t(data).replace(/\r?\n/g, '\r\n');
      } catch (err) {
        throw new PsirtError('template_render', `template ${name}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    },
  };
}
