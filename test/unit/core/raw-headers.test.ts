import { describe, expect, it } from 'vitest';
import { scanRawHeaders } from '../../../src/core/raw-headers.js';

describe('scanRawHeaders()', () => {
  it('reads Message-ID, From and a folded Subject from the header block only', () => {
    const raw = Buffer.from(
      'From: "Rep, One" <Reporter1@Psirt.Test>\r\nSubject: long\r\n subject\r\nMessage-ID: <abc@x.test>\r\n\r\nMessage-ID: <body@x>\r\n',
    );
    expect(scanRawHeaders(raw)).toEqual({
      messageId: 'abc@x.test',
      from: 'reporter1@psirt.test',
      subject: 'long subject',
    });
  });

  it('copes with garbage', () => {
    expect(scanRawHeaders(Buffer.from([0xff, 0x00, 0x13]))).toEqual({
      messageId: null,
      from: null,
      subject: '',
    });
  });

  it('reads only CRLF or LF line ends as line breaks, never a bare CR', () => {
    const raw = Buffer.from('From: a@b.test\rMessage-ID: <forged@x>\r\nSubject: s\r\n\r\n');
    expect(scanRawHeaders(raw)).toEqual({ messageId: null, from: 'a@b.test', subject: 's' });
  });

  describe('on hostile headers of 100 KB and more (#10 item 4: linear, DESIGN.md invariant 8)', () => {
    const KB = 1024;
    it('scans a 200 KB From: without @ (it used to backtrack quadratically: 114 s)', () => {
      const raw = Buffer.from(`From: ${'a'.repeat(200 * KB)}\r\nMessage-ID: <m@x>\r\n\r\nbody`);
      expect(scanRawHeaders(raw)).toEqual({ messageId: 'm@x', from: null, subject: '' });
    });

    it('scans a 200 KB From: of words, quotes and angle brackets with the address at its end', () => {
      const raw = Buffer.from(`From: ${'"a" <b c '.repeat(25 * KB)}<Last@Example.test>\r\n\r\n`);
      expect(scanRawHeaders(raw).from).toBe('last@example.test');
    });

    it('scans a 150 KB Message-ID: of unclosed brackets and blanks', () => {
      const raw = Buffer.from(`Message-ID: ${'<a '.repeat(50 * KB)}\r\n\r\n`);
      expect(scanRawHeaders(raw).messageId).toBeNull();
    });

    it('unfolds a 120 KB Subject: folded over 10,000 lines', () => {
      const raw = Buffer.from(
        `Subject: ${Array.from({ length: 10_000 }, () => 'x'.repeat(10)).join('\r\n ')}\r\n\r\n`,
      );
      expect(scanRawHeaders(raw).subject).toBe(
        Array.from({ length: 10_000 }, () => 'x'.repeat(10)).join(' '),
      );
    });

    it('reads at most 256 KB of a header block without an end', () => {
      const raw = Buffer.concat([Buffer.from('Subject: '), Buffer.alloc(1 << 20, 'y')]);
      expect(scanRawHeaders(raw).subject.length).toBe(256 * KB - 'Subject: '.length);
    });
  });
});
