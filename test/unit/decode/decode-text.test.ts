import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/3-unwrap/unwrap.js';
import { PsirtError } from '../../../src/core/errors.js';
import { decodeDeps, readMail } from '../../support/mail-fixtures.js';

const decode = async (name: string) => decodeMessage(readMail(name), await decodeDeps());

describe('decodeMessage() on plain mail', () => {
  it('reads a plain UTF-8 report with its addresses and date', async () => {
    const d = await decode('report-plain.eml');
    expect(d.text).toContain('reflects the "next" parameter');
    expect(d.textFromHtml).toBe(false);
    expect(d.from).toEqual({ address: 'reporter1@psirt.test', name: 'Reporter One' });
    expect(d.to).toEqual([{ address: 'security@psirt.test', name: 'Security Team' }]);
    expect(d.date).toBe('2026-11-25T09:00:00.000Z');
    expect(d.encryption).toEqual({ state: 'none' });
    expect(d.signature).toEqual({ state: 'none' });
    expect(d.problems).toEqual([]);
  });

  it('turns an HTML-only body into text and says so', async () => {
    const d = await decode('report-html-only.eml');
    expect(d.textFromHtml).toBe(true);
    expect(d.text).toContain('the comment field stores HTML unescaped');
    expect(d.text).toContain('post a comment with <img src=x onerror=alert(1)>');
    expect(d.text).not.toContain('<li>');
  });

  it.each([
    ['report-latin1.eml', 'Schwachstelle im Login für Büro', 'Grüße aus dem Büro'],
    ['report-windows-1252.eml', 'Preis 5€ – Rabatt-Bug', 'sells it for 5€ – the “discount” check'],
    ['report-shift-jis.eml', 'ログイン画面の脆弱性', 'クロスサイトスクリプティングの脆弱性があります。'],
    ['report-euc-kr.eml', '로그인 취약점', '크로스 사이트 스크립팅 취약점이 있습니다.'],
    ['report-iso-2022-jp.eml', '脆弱性の報告', 'パスワード再設定に不具合があります。'],
  ])('decodes the charset of %s in subject and body', async (name, subject, body) => {
    const d = await decode(name);
    expect(d.subject).toBe(subject);
    expect(d.text).toContain(body);
  });

  it('keeps a forwarded message/rfc822 as an attachment and does not decrypt the PGP inside it', async () => {
    const d = await decode('report-forwarded-pgp.eml');
    expect(d.encryption).toEqual({ state: 'none' });
    expect(d.text).toBe('Forwarding a mail I got; it looks related.');
    const [forwarded] = d.attachments;
    expect(forwarded?.contentType).toBe('message/rfc822');
    expect(forwarded?.decrypted).toBe(false);
    expect(forwarded?.content.toString('latin1')).toContain('-----BEGIN PGP MESSAGE-----');
  });

  it('hashes attachments with SHA-256 over the decoded bytes', async () => {
    const d = await decode('report-forwarded-pgp.eml');
    const a = d.attachments[0]!;
    expect(a.sha256).toBe(createHash('sha256').update(a.content).digest('hex'));
    expect(a.size).toBe(a.content.length);
  });
});

describe('decodeMessage() headers', () => {
  it('strips the angle brackets of Message-ID, In-Reply-To and References', async () => {
    const d = await decode('report-plain.eml');
    expect(d.messageId).toBe('report-plain@reporter.test');
    expect(d.inReplyTo).toBe('case-1.ack@psirt.test');
  });

  it('returns a single References id as an array (mailparser gives a string)', async () => {
    const d = await decode('report-header-edge-cases.eml');
    expect(d.references).toEqual(['case-7.ack@psirt.test']);
  });

  it('keeps References in order, oldest first', async () => {
    const d = await decode('auto-reply-out-of-office.eml');
    expect(d.references).toEqual(['report-plain@reporter.test', 'case-1.ack@psirt.test']);
  });

  it('ignores a comment after the In-Reply-To id', async () => {
    const d = await decode('report-header-edge-cases.eml');
    expect(d.inReplyTo).toBe('case-7.ack@psirt.test');
  });

  it('removes CR, LF, NUL, TAB and DEL hidden in an encoded subject', async () => {
    const d = await decode('report-header-edge-cases.eml');
    expect(d.subject).toBe('LineBreakNulTab and plain');
  });

  it('reports the null sender Return-Path <> as ""', async () => {
    expect((await decode('bounce-dsn.eml')).headers.returnPath).toBe('');
  });

  it('reports a Return-Path address without brackets', async () => {
    expect((await decode('report-plain.eml')).headers.returnPath).toBe('reporter1@psirt.test');
  });

  it('lists every Authentication-Results header top-most first, unfolded', async () => {
    const d = await decode('report-plain.eml');
    expect(d.headers.authenticationResults).toEqual([
      'mx.psirt.test; dkim=pass header.d=reporter.test;\tspf=pass smtp.mailfrom=reporter.test',
      'relay.reporter.test; dkim=none',
    ]);
  });

  it('passes the RFC 3834 headers of an auto-reply through', async () => {
    const d = await decode('auto-reply-out-of-office.eml');
    expect(d.headers).toMatchObject({
      autoSubmitted: 'auto-replied',
      xAutoResponseSuppress: 'All',
      precedence: 'bulk',
    });
  });

  it('passes the list headers of mailing-list mail through', async () => {
    const d = await decode('list-mail.eml');
    expect(d.headers).toMatchObject({
      listId: 'Vendor announcements <announce.lists.example.test>',
      listUnsubscribe: '<mailto:announce-leave@lists.example.test>, <https://lists.example.test/unsubscribe>',
      precedence: 'list',
    });
  });

  it('gives the raw Content-Type of the message', async () => {
    const d = await decode('bounce-dsn-headers-only.eml');
    expect(d.headers.contentType).toMatch(/^multipart\/report; report-type="delivery-status"/);
  });
});

describe('decodeMessage() on malformed input', () => {
  it('throws mime_unparseable when a header exceeds what mailparser accepts', async () => {
    const raw = Buffer.concat([
      Buffer.from('X-Big: '),
      Buffer.alloc(2 << 20, 'a'),
      Buffer.from('\r\n\r\nbody\r\n'),
    ]);
    const err = await decodeMessage(raw, await decodeDeps()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PsirtError);
    expect((err as PsirtError).code).toBe('mime_unparseable');
    expect((err as PsirtError).retryable).toBe(false);
  });

  it('decodes a multipart with no closing boundary instead of throwing', async () => {
    const raw = Buffer.from(
      'From: a@b.test\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nunterminated',
    );
    expect((await decodeMessage(raw, await decodeDeps())).text).toBe('unterminated');
  });

  it('records an unparseable Date as a problem and a null date', async () => {
    const raw = Buffer.from('From: a@b.test\r\nDate: the day after tomorrow\r\n\r\nhi\r\n');
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.date).toBeNull();
    expect(d.problems).toContain('the Date header could not be parsed');
  });

  it('returns null ids and empty lists for a message without headers', async () => {
    const d = await decodeMessage(Buffer.from('\r\njust a body\r\n'), await decodeDeps());
    expect(d).toMatchObject({ messageId: null, inReplyTo: null, references: [], from: null, subject: '' });
  });
});

describe('decodeMessage() text selection', () => {
  it('uses the text/plain alternative, not the HTML, when both exist', async () => {
    const raw = Buffer.from(
      'From: a@b.test\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n' +
        '--a\r\nContent-Type: text/plain\r\n\r\nplain version\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n--a--\r\n',
    );
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.text).toBe('plain version');
    expect(d.textFromHtml).toBe(false);
  });

  it('counts an HTML body next to a text/plain attachment as HTML-only', async () => {
    const raw = Buffer.from(
      'From: a@b.test\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n' +
        '--m\r\nContent-Type: text/html\r\n\r\n<p>from html</p>\r\n' +
        '--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=log.txt\r\n\r\nlog\r\n--m--\r\n',
    );
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.textFromHtml).toBe(true);
    expect(d.text).toBe('from html');
    expect(d.attachments.map((a) => a.filename)).toEqual(['log.txt']);
  });
});

describe('decodeMessage() on hostile mail (#10 item 4)', () => {
  it('decodes a multipart mail whose last part has an empty Content-Type instead of crashing', async () => {
    const d = await decode('hostile-empty-content-type.eml');
    expect(d.text).toBe('hi');
    expect(d.attachments.map((a) => a.contentType)).toEqual(['text/plain']);
  });
});
