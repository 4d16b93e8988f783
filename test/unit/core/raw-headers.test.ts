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
});
