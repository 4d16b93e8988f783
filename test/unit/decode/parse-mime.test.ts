import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  KEEP_SMALL_BYTES,
  parseEntity,
  PREFIX_BYTES,
  type KeepPolicy,
  type PartInfo,
} from '../../../src/2-decode/parse-mime.js';

const MB = 1 << 20;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** A multipart/mixed mail: a text part, then each attachment base64-encoded. */
function mailWith(...files: Array<{ name: string; data: Buffer }>): Buffer {
  const lines = [
    'From: a@b.test',
    'Subject: parts',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'body text',
  ];
  for (const f of files) {
    lines.push(
      '--b',
      `Content-Type: application/octet-stream; name="${f.name}"`,
      'Content-Disposition: attachment',
      'Content-Transfer-Encoding: base64',
      '',
      (f.data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n'),
    );
  }
  lines.push('--b--', '');
  return Buffer.from(lines.join('\r\n'));
}

const keepNone: KeepPolicy = { keep: () => false };

describe('parseEntity()', () => {
  it('returns headers, text and attachments like simpleParser', async () => {
    const small = randomBytes(100);
    const e = await parseEntity(mailWith({ name: 'a.bin', data: small }), {}, keepNone);
    expect(e.subject).toBe('parts');
    expect(e.from?.value[0]?.address).toBe('a@b.test');
    expect(e.text).toBe('body text');
    expect(e.attachments).toEqual([
      {
        partId: '2',
        filename: 'a.bin',
        contentType: 'application/octet-stream',
        size: 100,
        sha256: sha256(small),
        content: small,
        contentOmitted: false,
        prefix: small,
      },
    ]);
  });

  it('omits a large content the policy does not ask for, keeping its size, hash and first bytes', async () => {
    const big = randomBytes(KEEP_SMALL_BYTES + 1);
    const seen: Array<{ part: PartInfo; head: number }> = [];
    const policy: KeepPolicy = {
      keep: (part, head) => {
        seen.push({ part, head: head.length });
        return false;
      },
    };
    const [a] = (await parseEntity(mailWith({ name: 'big.bin', data: big }), {}, policy)).attachments;
    expect(seen).toEqual([
      { part: { contentType: 'application/octet-stream', filename: 'big.bin', partId: '2' }, head: 4096 },
    ]);
    expect(a).toMatchObject({ size: big.length, sha256: sha256(big), contentOmitted: true });
    expect(a?.content.length).toBe(0);
    expect(a?.prefix.equals(big.subarray(0, PREFIX_BYTES))).toBe(true);
  });

  it.each([
    ['without a size bound', undefined],
    ['into a buffer of the bound when it is right', 4 * MB],
    ['in chunks again when the bound is too small', 2 * MB],
    ['without the excess when the bound is far too large', 64 * MB],
  ])('keeps a large content the policy asks for, %s', async (_, bound) => {
    const big = randomBytes(3 * MB);
    const policy: KeepPolicy = { keep: () => true, sizeBound: () => bound };
    const [a] = (await parseEntity(mailWith({ name: 'big.gpg', data: big }), {}, policy)).attachments;
    expect(a).toMatchObject({ size: big.length, sha256: sha256(big), contentOmitted: false });
    expect(a?.content.equals(big)).toBe(true);
    expect(a?.content.buffer.byteLength).toBeLessThanOrEqual(4 * MB);
  });

  it('rejects when mailparser cannot parse the message', async () => {
    const raw = Buffer.concat([
      Buffer.from('X-Big: '),
      Buffer.alloc(2 * MB, 'a'),
      Buffer.from('\r\n\r\nbody\r\n'),
    ]);
    await expect(parseEntity(raw, {}, keepNone)).rejects.toThrow(/header/i);
  });

  describe('when a part is hostile (#10 item 4)', () => {
    const emptyType = Buffer.from(
      'From: a@b.test\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhi\r\n--b\r\nContent-Type:\r\n\r\nx\r\n--b--\r\n',
    );

    it('reads a last part with an empty Content-Type as text/plain (RFC 2045 §5.2), never as false', async () => {
      const seen: PartInfo[] = [];
      const policy: KeepPolicy = {
        keep: (part) => {
          seen.push(part);
          return part.contentType.startsWith('application/');
        },
      };
      const entity = await parseEntity(emptyType, {}, policy);
      expect(seen.map((p) => p.contentType)).toEqual(['text/plain']);
      expect(entity.attachments.map((a) => a.contentType)).toEqual(['text/plain']);
    });

    it('rejects, instead of throwing out of a stream handler, when the keep policy throws', async () => {
      const policy: KeepPolicy = {
        keep: () => {
          throw new TypeError('policy bug');
        },
      };
      await expect(parseEntity(emptyType, {}, policy)).rejects.toThrow('policy bug');
    });
  });
});
