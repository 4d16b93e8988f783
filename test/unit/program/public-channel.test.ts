import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { marked } from 'marked';
import { beforeAll, describe, expect, it } from 'vitest';
import { configDigest } from '../../../src/config/digest.js';
import type { Config } from '../../../src/config/schema.js';
import { PsirtError } from '../../../src/core/errors.js';
import { md } from '../../../src/program/markdown.js';
import { renderSecurityMd, renderSecurityTxt } from '../../../src/program/public-channel.js';
import type { ProgramInput } from '../../../src/program/types.js';
import { loadExampleConfig } from '../../support/example-config.js';
import { FINGERPRINTS, NOW } from '../../support/mail-fixtures.js';
import { checkSecurityTxt } from '../../support/rfc9116.js';
import { REPO } from '../../support/stack.js';

const GOLDEN = join(REPO, 'test', 'fixtures', 'program');
/**
 * The golden documents are written once (PSIRT_WRITE_GOLDEN=1, after a reviewed change of the
 * example configuration or the renderer) and compared byte for byte on every other run.
 */
const WRITE_GOLDEN = process.env.PSIRT_WRITE_GOLDEN === '1';

let example: Config;
beforeAll(() => {
  example = loadExampleConfig().config;
});

function inputOf(config: Config, generatedAt = NOW): ProgramInput {
  return {
    config,
    teamKey: { fingerprint: FINGERPRINTS.team, expires: null },
    configDigest: configDigest(config),
    generatedAt,
  };
}

/** The example configuration with `public_channel` changed (no key: removed). */
function withChannel(patch: Partial<Config['public_channel']>, drop: 'expires' | null = null): Config {
  const pc: Config['public_channel'] = { ...example.public_channel, ...patch };
  if (drop !== null) Reflect.deleteProperty(pc, drop);
  return { ...example, public_channel: pc };
}

function golden(name: string, rendered: string): string {
  const file = join(GOLDEN, name);
  if (WRITE_GOLDEN) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, rendered);
  }
  return readFileSync(file, 'utf8');
}

/** The PsirtError a render throws, or null. */
function refusal(render: () => unknown): PsirtError | null {
  try {
    render();
    return null;
  } catch (err) {
    if (err instanceof PsirtError) return err;
    throw err;
  }
}

describe('renderSecurityTxt() with config/example.toml', () => {
  it('renders the reviewed golden security.txt byte for byte', () => {
    const rendered = renderSecurityTxt(inputOf(example));
    expect(rendered).toBe(golden('security.txt', rendered));
  });

  describe('the golden security.txt, read back line by line', () => {
    const text = (): string => readFileSync(join(GOLDEN, 'security.txt'), 'utf8');

    it('passes the RFC 9116 check: Contact, exactly one Expires in the future and within a year, known fields, https URLs', () => {
      const report = checkSecurityTxt(text(), NOW);
      expect(report.errors).toEqual([]);
      expect(report.fields.get('Contact')?.length).toBeGreaterThanOrEqual(1);
      expect(report.fields.get('Expires')).toHaveLength(1);
    });

    it('ends every line with LF and holds no CR (RFC 9116 §2.2)', () => {
      expect(text().endsWith('\n')).toBe(true);
      expect(text()).not.toContain('\r');
    });

    it('starts with comment lines naming the configuration digest and the time it was generated', () => {
      const comments = text()
        .split('\n')
        .filter((l) => l.startsWith('#'))
        .join(' ');
      expect(text().startsWith('#')).toBe(true);
      expect(comments).toContain(`configuration digest ${configDigest(example)}`);
      expect(comments).toContain('2026-12-01T12:00:00Z');
    });

    it('lists the configured Contact lines in order, then each other field from public_channel', () => {
      const fields = checkSecurityTxt(text(), NOW).fields;
      const pc = example.public_channel;
      expect(fields.get('Contact')).toEqual(pc.contact);
      expect(fields.get('Expires')).toEqual(['2027-10-31T23:00:00Z']);
      expect(fields.get('Encryption')).toEqual(pc.encryption);
      expect(fields.get('Acknowledgments')).toEqual(pc.acknowledgments);
      expect(fields.get('Preferred-Languages')).toEqual(['en, de']);
      expect(fields.get('Canonical')).toEqual(pc.canonical);
      expect(fields.get('Policy')).toEqual(pc.policy);
      expect(fields.get('Hiring')).toBeUndefined();
    });
  });

  describe('when public_channel.contact and .encryption are empty', () => {
    it('publishes mailto:<organisation.security_address> and openpgp4fpr:<team key>', () => {
      const text = renderSecurityTxt(inputOf(withChannel({ contact: [], encryption: [] })));
      const fields = checkSecurityTxt(text, NOW).fields;
      expect(fields.get('Contact')).toEqual(['mailto:security@example.com']);
      expect(fields.get('Encryption')).toEqual([`openpgp4fpr:${FINGERPRINTS.team}`]);
    });
  });

  it('publishes Hiring and leaves out Preferred-Languages when none are configured', () => {
    const text = renderSecurityTxt(
      inputOf(withChannel({ hiring: ['https://example.com/jobs'], preferred_languages: [] })),
    );
    const report = checkSecurityTxt(text, NOW);
    expect(report.errors).toEqual([]);
    expect(report.fields.get('Hiring')).toEqual(['https://example.com/jobs']);
    expect(report.fields.has('Preferred-Languages')).toBe(false);
  });

  it('writes Expires in UTC whatever offset the configuration used', () => {
    const text = renderSecurityTxt(inputOf(withChannel({ expires: '2027-06-01T10:00:00+02:00' })));
    expect(checkSecurityTxt(text, NOW).fields.get('Expires')).toEqual(['2027-06-01T08:00:00Z']);
  });

  describe('refuses to render without a valid Expires, naming public_channel.expires', () => {
    it.each([
      ['it is unset', withChannelLazy({}, 'expires'), /public_channel\.expires is not set/],
      [
        'it has passed',
        withChannelLazy({ expires: '2026-11-30T12:00:00Z' }),
        /public_channel\.expires .* is not after/,
      ],
      ['it is the generation time', withChannelLazy({ expires: '2026-12-01T12:00:00Z' }), /is not after/],
      [
        'it is a year ahead',
        withChannelLazy({ expires: '2027-12-01T12:00:00Z' }),
        /public_channel\.expires .* a year or more/,
      ],
      [
        'it is more than a year ahead',
        withChannelLazy({ expires: '2028-03-01T00:00:00Z' }),
        /a year or more/,
      ],
    ])('when %s', (_, config, message) => {
      const err = refusal(() => renderSecurityTxt(inputOf(config())));
      expect(err?.code).toBe('public_channel_expires');
      expect(err?.message).toMatch(message);
    });

    it('renders one minute short of a year ahead', () => {
      const text = renderSecurityTxt(inputOf(withChannel({ expires: '2027-12-01T11:59:00Z' })));
      expect(checkSecurityTxt(text, NOW).errors).toEqual([]);
    });
  });
});

/** withChannel, evaluated when the test runs (after beforeAll loaded the example). */
function withChannelLazy(patch: Partial<Config['public_channel']>, drop: 'expires' | null = null) {
  return (): Config => withChannel(patch, drop);
}

describe('the RFC 9116 checker', () => {
  // The checker must be able to fail, or the golden check above proves nothing.
  const good = 'Contact: mailto:a@example.com\nExpires: 2027-01-01T00:00:00Z\n';
  it.each([
    ['no Contact', 'Expires: 2027-01-01T00:00:00Z\n', /no Contact/],
    ['two Expires', `${good}Expires: 2027-02-01T00:00:00Z\n`, /2 Expires fields/],
    [
      'an Expires in the past',
      'Contact: mailto:a@example.com\nExpires: 2026-01-01T00:00:00Z\n',
      /not in the future/,
    ],
    [
      'an Expires too far ahead',
      'Contact: mailto:a@example.com\nExpires: 2028-01-01T00:00:00Z\n',
      /less than a year/,
    ],
    [
      'a date that is not RFC 3339',
      'Contact: mailto:a@example.com\nExpires: 1 Jan 2027\n',
      /not an RFC 3339/,
    ],
    ['an unknown field', `${good}Signature: https://example.com/sig\n`, /unknown field "Signature"/],
    ['an http Policy', `${good}Policy: http://example.com/policy\n`, /without https/],
    ['no final line ending', good.slice(0, -1), /does not end with LF/],
  ])('refuses %s', (_, text, error) => {
    expect(checkSecurityTxt(text, NOW).errors).toContainEqual(expect.stringMatching(error));
  });

  it('accepts the minimal file', () => {
    expect(checkSecurityTxt(good, NOW).errors).toEqual([]);
  });
});

describe('renderSecurityMd() with config/example.toml', () => {
  it('renders the reviewed golden SECURITY.md byte for byte', () => {
    const rendered = renderSecurityMd(inputOf(example));
    expect(rendered).toBe(golden('SECURITY.md', rendered));
  });

  describe('the golden SECURITY.md', () => {
    const md = (): string => readFileSync(join(GOLDEN, 'SECURITY.md'), 'utf8');

    it('names the security address, the other contacts and the spaced team key fingerprint', () => {
      expect(md()).toContain('[security@example.com](<mailto:security@example.com>)');
      expect(md()).toContain('- <https://example.com/security/report>');
      expect(md()).toContain('`7039 1E1F 60DD 1FCF 4E66  5A80 0F24 0984 6A82 D91C`');
    });

    it('promises what deadlines enforces, in the calendar configured', () => {
      expect(md()).toContain('We acknowledge your report within 3 business days');
      expect(md()).toContain('within 7 business days of your report');
      expect(md()).toContain('| Critical | 7 calendar days |');
      expect(md()).toContain('| Low | 90 calendar days |');
      expect(md()).toContain('Monday to Friday in the Europe/Berlin time zone');
      expect(md()).toContain('public holidays and half-day holidays in DE-BE');
    });

    it('states disclosure on the agreed date, else deadlines.disclose after the fix (as deriveDeadlines counts)', () => {
      expect(md()).toContain('We agree the date of public disclosure with you.');
      expect(md()).toContain(
        'Without an agreed date, we disclose within 90 calendar days of the fix being available.',
      );
      expect(md()).not.toMatch(/disclose within 90 (calendar )?days of your report/);
    });

    it('lists what to include and the safe-harbour text from public_channel', () => {
      for (const item of example.public_channel.report_should_include) expect(md()).toContain(`- ${item}\n`);
      expect(md()).toContain(example.public_channel.safe_harbour);
    });

    it('ends with the configuration digest and the generation time', () => {
      expect(md().trimEnd().split('\n').at(-1)).toBe(
        `Generated by psirt-inbox from configuration digest \`${configDigest(example)}\` at 2026-12-01T12:00:00Z.`,
      );
    });
  });

  it('words a changed verify deadline the way the acknowledgment does', () => {
    const config = {
      ...example,
      deadlines: { ...example.deadlines, verify: { amount: 5, unit: 'business_days' as const } },
    };
    expect(renderSecurityMd(inputOf(config))).toContain('within 5 business days of your report');
  });

  describe('when configuration text holds Markdown or HTML', () => {
    const hostile = (): Config => ({
      ...example,
      organisation: { ...example.organisation, name: 'Evil <script>alert(1)</script> | *Corp*' },
      public_channel: {
        ...example.public_channel,
        safe_harbour:
          '# Heading\n<img src=x onerror=alert(1)> _we_ promise | nothing [link](https://evil.example)',
        report_should_include: ['1. numbered', '- nested', '| a | b |', '`code` and ~~struck~~ and &copy;'],
      },
    });

    it('shows it as text: no script, image, emphasis, link, heading, list or table of its own', async () => {
      const html = await marked.parse(renderSecurityMd(inputOf(hostile())));
      expect(html).not.toMatch(/<script|<img|<em>|<strong>|<del>|<code>code/);
      // A bare URL stays visible as itself (GFM autolinks it, as GitHub does); never behind other text.
      expect(html).not.toContain('evil.example">link');
      expect(html).toContain('Evil &lt;script&gt;alert(1)&lt;/script&gt; | *Corp*');
      expect(html.match(/<table>/g)).toHaveLength(1);
      expect(html.match(/<h1>/g)).toHaveLength(1);
      expect(html).not.toMatch(/<ol>|<ul>\s*<li>\s*<ul>/);
      expect(html).toContain('&amp;copy;');
    });

    it('keeps each value on its line, whatever the line break (U+2028 too: adversarial review)', () => {
      expect(md('a\r\n\n b')).toBe('a b');
      expect(md('a\u2028# b\u2029c\u0085d')).toBe('a # b c d');
      expect(md('# not a heading')).toBe('\\# not a heading');
      expect(md('1. not a list')).toBe('1\\. not a list');
    });
  });
});
