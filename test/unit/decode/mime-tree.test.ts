import { describe, expect, it } from 'vitest';
import {
  parseContentType,
  parseMimeTree,
  readHeaderBlock,
  splitMultipart,
  toCanonicalCrlf,
} from '../../../src/2-decode/mime-tree.js';

const parts = (body: string, boundary = 'b') =>
  splitMultipart(Buffer.from(body, 'latin1'), boundary).map(String);

describe('splitMultipart()', () => {
  it('excludes the CRLF before the next delimiter from a part (RFC 2046 §5.1.1)', () => {
    expect(parts('preamble\r\n--b\r\nA: 1\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nepilogue')).toEqual([
      'A: 1\r\n\r\none',
      '\r\ntwo',
    ]);
  });

  it('keeps a line break that belongs to the body, only removing the delimiter one', () => {
    expect(parts('--b\r\n\r\none\r\n\r\n--b--')).toEqual(['\r\none\r\n']);
  });

  it('handles LF-only line ends', () => {
    expect(parts('--b\nX: y\n\nbody\n--b--\n')).toEqual(['X: y\n\nbody']);
  });

  it('does not take a longer boundary-prefixed line for a delimiter', () => {
    expect(parts('--b\r\n\r\n--bb is text\r\n--b--')).toEqual(['\r\n--bb is text']);
  });

  it('does not take a delimiter that is not at the start of a line', () => {
    expect(parts('--b\r\n\r\nx --b\r\n--b--')).toEqual(['\r\nx --b']);
  });

  it('accepts transport padding after the delimiter', () => {
    expect(parts('--b \t\r\n\r\none\r\n--b--  \r\n')).toEqual(['\r\none']);
  });

  it('ends the last part at the end of the body when the close delimiter is missing', () => {
    expect(parts('--b\r\n\r\none\r\n--b\r\n\r\ntwo')).toEqual(['\r\none', '\r\ntwo']);
  });
});

describe('parseContentType()', () => {
  it('reads quoted and unquoted parameters, lower-casing names and the type', () => {
    const t = parseContentType(
      'Multipart/Signed; micalg=pgp-sha256;\tprotocol="application/pgp-signature"; Boundary="a;b"',
    );
    expect(t.type).toBe('multipart/signed');
    expect(Object.fromEntries(t.params)).toEqual({
      micalg: 'pgp-sha256',
      protocol: 'application/pgp-signature',
      boundary: 'a;b',
    });
  });

  it('unescapes quoted-pairs inside quoted strings', () => {
    expect(parseContentType('text/plain; name="a\\"b"').params.get('name')).toBe('a"b');
  });

  it('defaults to text/plain (RFC 2045 §5.2)', () => {
    expect(parseContentType(null).type).toBe('text/plain');
    expect(parseContentType('garbage').type).toBe('text/plain');
  });
});

describe('parseMimeTree()', () => {
  it('reads nested multiparts as views of the source', () => {
    const raw = Buffer.from(
      'Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n' +
        '--i\r\nContent-Type: text/plain\r\n\r\nplain\r\n--i\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--i--\r\n' +
        '--o\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=x.pdf\r\n\r\n%PDF\r\n--o--\r\n',
    );
    const tree = parseMimeTree(raw);
    expect(tree.children.map((c) => c.contentType.type)).toEqual([
      'multipart/alternative',
      'application/pdf',
    ]);
    expect(tree.children[0]?.children.map((c) => c.body.toString())).toEqual(['plain', '<p>x</p>']);
    expect(tree.children[1]?.disposition).toBe('attachment');
    expect(tree.children[1]?.raw.buffer).toBe(raw.buffer);
  });

  it('does not enter message/rfc822', () => {
    const raw = Buffer.from(
      'Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n',
    );
    expect(parseMimeTree(raw).children).toEqual([]);
  });

  it('stops at the part limit instead of reading every part', () => {
    const body = Array.from({ length: 50 }, () => '--b\r\n\r\nx\r\n').join('') + '--b--\r\n';
    const raw = Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${body}`);
    expect(parseMimeTree(raw, { maxDepth: 5, maxParts: 10 }).children.length).toBeLessThan(10);
  });
});

describe('toCanonicalCrlf()', () => {
  it('converts bare LF to CRLF', () => {
    expect(toCanonicalCrlf(Buffer.from('a\nb\r\nc\n')).toString()).toBe('a\r\nb\r\nc\r\n');
  });

  it('returns the same Buffer when it is already canonical', () => {
    const buf = Buffer.from('a\r\nb\r\n');
    expect(toCanonicalCrlf(buf)).toBe(buf);
  });
  it('handles a leading LF, blank lines, a lone CR and a last line without a break', () => {
    const bytes = Buffer.from('\nx\n\n\r\ny\rz\n\xffend', 'latin1');
    expect(toCanonicalCrlf(bytes).toString('latin1')).toBe('\r\nx\r\n\r\n\r\ny\rz\r\n\xffend');
  });
});

describe('readHeaderBlock()', () => {
  it('ends the header block at a bare-LF blank line that comes before a CRLF one', () => {
    const raw = Buffer.from('A: 1\nB: 2\n\nbody\r\n\r\nmore');
    const { headers, bodyStart } = readHeaderBlock(raw);
    expect(Object.fromEntries(headers)).toEqual({ a: '1', b: '2' });
    expect(raw.subarray(bodyStart).toString()).toBe('body\r\n\r\nmore');
  });

  it('ends the header block at the CRLF blank line even when a bare-LF one follows', () => {
    const raw = Buffer.from('A: 1\r\n\r\nbody\n\nmore');
    expect(raw.subarray(readHeaderBlock(raw).bodyStart).toString()).toBe('body\n\nmore');
  });
});
