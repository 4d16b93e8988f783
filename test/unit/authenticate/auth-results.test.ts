import { describe, expect, it } from 'vitest';
import {
  domainOfAddress,
  isAligned,
  parseAuthenticationResults,
  trustedDkimFromAuthResults,
} from '../../../src/5-authenticate/auth-results.js';

const TRUSTED = ['mx.corp.example'];

describe('parseAuthenticationResults()', () => {
  it('reads a Gmail-style header whose comments hold ";" and "="', () => {
    const value =
      'mx.google.com;\r\n dkim=pass header.i=@example.org header.s=s1 header.b=AbCd1234;\r\n' +
      ' spf=pass (google.com: domain of alice@example.org designates 192.0.2.1 as permitted sender) smtp.mailfrom=alice@example.org;\r\n' +
      ' dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.org';
    expect(parseAuthenticationResults(value)).toEqual({
      authservId: 'mx.google.com',
      results: [
        {
          method: 'dkim',
          result: 'pass',
          props: { 'header.i': '@example.org', 'header.s': 's1', 'header.b': 'AbCd1234' },
        },
        { method: 'spf', result: 'pass', props: { 'smtp.mailfrom': 'alice@example.org' } },
        { method: 'dmarc', result: 'pass', props: { 'header.from': 'example.org' } },
      ],
    });
  });

  it('skips nested comments and unquotes quoted strings, including reason=', () => {
    const value =
      'MX.Corp.Example (outer (inner; dkim=fail) still comment); dkim=pass reason="good sig; ok" header.d="example.org"';
    expect(parseAuthenticationResults(value)).toEqual({
      authservId: 'mx.corp.example',
      results: [
        { method: 'dkim', result: 'pass', props: { reason: 'good sig; ok', 'header.d': 'example.org' } },
      ],
    });
  });

  it('accepts a version after the authserv-id and a method version (RFC 8601 §2.2)', () => {
    expect(parseAuthenticationResults('mx.example.org 1; dkim/1=PASS header.d=example.org')).toEqual({
      authservId: 'mx.example.org',
      results: [{ method: 'dkim', result: 'pass', props: { 'header.d': 'example.org' } }],
    });
  });

  it('reads "none" as no results', () => {
    expect(parseAuthenticationResults('mx.example.org; none')).toEqual({
      authservId: 'mx.example.org',
      results: [],
    });
  });

  it('joins a property split by white space around the dot and a quoted local-part', () => {
    expect(
      parseAuthenticationResults('mx.example.org; spf=pass smtp . mailfrom="a b"@example.org')?.results,
    ).toEqual([{ method: 'spf', result: 'pass', props: { 'smtp.mailfrom': 'a b@example.org' } }]);
  });

  it('keeps a "__proto__" key as data', () => {
    const parsed = parseAuthenticationResults('mx.example.org; dkim=pass __proto__=x');
    expect(Object.getPrototypeOf(parsed?.results[0]?.props)).toBe(Object.prototype);
    expect(parsed?.results[0]?.props['__proto__']).toBe('x');
  });

  it.each([
    ['an empty value', ''],
    [
      'no authserv-id (Exchange Online style)',
      'spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org',
    ],
    ['an authserv-id without results', 'mx.example.org'],
    ['an unterminated comment', 'mx.example.org; dkim=pass (oops header.d=example.org'],
    ['an unterminated quoted string', 'mx.example.org; dkim=pass header.d="example.org'],
    ['a property without a value', 'mx.example.org; dkim=pass header.d='],
    ['a resinfo without a result', 'mx.example.org; dkim header.d=example.org'],
    ['a stray word between properties', 'mx.example.org; dkim=pass stray header.d=example.org'],
  ])('returns null for %s', (_, value) => {
    expect(parseAuthenticationResults(value)).toBeNull();
  });
});

describe('isAligned()', () => {
  it.each([
    ['example.org', 'example.org', true],
    ['EXAMPLE.org', 'example.ORG.', true],
    ['mail.example.org', 'example.org', true],
    ['example.org', 'mail.example.org', false],
    ['example.org', 'other.example', false],
    ['badexample.org', 'example.org', false],
    ['example.org', 'org', false],
    ['localhost', 'localhost', false],
    ['example.org', '', false],
    ['', 'example.org', false],
  ] as const)('From domain %s with d=%s is %s', (from, d, aligned) => {
    expect(isAligned(from, d)).toBe(aligned);
  });
});

describe('domainOfAddress()', () => {
  it.each([
    ['alice@Example.ORG', 'example.org'],
    ['Alice <alice@mail.example.org>', 'mail.example.org'],
    ['"a@b" <alice@example.org>', 'example.org'],
    ['no-at-sign', null],
    ['alice@', null],
  ] as const)('%s has domain %s', (address, domain) => {
    expect(domainOfAddress(address)).toBe(domain);
  });
});

describe('trustedDkimFromAuthResults()', () => {
  it('passes on a dkim=pass aligned with From in the top-most header by a trusted authserv-id', () => {
    const headers = ['mx.corp.example; dkim=pass header.d=example.org header.s=s1'];
    expect(trustedDkimFromAuthResults(headers, TRUSTED, 'alice@example.org')).toEqual({
      state: 'pass',
      domain: 'example.org',
      authservId: 'mx.corp.example',
    });
  });

  it('compares the authserv-id case-insensitively', () => {
    const headers = ['MX.CORP.EXAMPLE; dkim=pass header.d=example.org'];
    expect(trustedDkimFromAuthResults(headers, ['Mx.Corp.Example'], 'alice@example.org').state).toBe('pass');
  });

  it('passes a From subdomain of the DKIM domain', () => {
    const headers = ['mx.corp.example; dkim=pass header.d=example.org'];
    expect(trustedDkimFromAuthResults(headers, TRUSTED, 'alice@mail.example.org')).toMatchObject({
      state: 'pass',
      domain: 'example.org',
    });
  });

  it('uses the domain of header.i when header.d is absent', () => {
    const headers = ['mx.corp.example; dkim=pass header.i=@example.org'];
    expect(trustedDkimFromAuthResults(headers, TRUSTED, 'alice@example.org').state).toBe('pass');
  });

  it('fails when the top-most header is untrusted, even with a trusted pass below it (sender-inserted)', () => {
    const headers = [
      'evil.example; dkim=pass header.d=example.org',
      'mx.corp.example; dkim=pass header.d=example.org',
    ];
    expect(trustedDkimFromAuthResults(headers, TRUSTED, 'alice@example.org')).toEqual({
      state: 'fail',
      reason: 'the top-most Authentication-Results is by "evil.example", not a trusted authserv-id',
    });
  });

  it('fails without any Authentication-Results header', () => {
    expect(trustedDkimFromAuthResults([], TRUSTED, 'alice@example.org')).toEqual({
      state: 'fail',
      reason: 'the message has no Authentication-Results header',
    });
  });

  it('fails when the top-most header cannot be parsed', () => {
    const headers = ['dkim=pass header.d=example.org', 'mx.corp.example; dkim=pass header.d=example.org'];
    expect(trustedDkimFromAuthResults(headers, TRUSTED, 'alice@example.org')).toMatchObject({
      state: 'fail',
      reason: expect.stringMatching(/cannot be parsed/),
    });
  });

  it('fails on a dkim=pass for another domain and names it', () => {
    const headers = ['mx.corp.example; dkim=pass header.d=other.example'];
    expect(trustedDkimFromAuthResults(headers, TRUSTED, 'alice@example.org')).toEqual({
      state: 'fail',
      reason: 'dkim=pass only for "other.example", not aligned with the From domain "example.org"',
    });
  });

  it('fails on dkim=fail', () => {
    const headers = ['mx.corp.example; dkim=fail (bad signature) header.d=example.org'];
    expect(trustedDkimFromAuthResults(headers, TRUSTED, 'alice@example.org')).toMatchObject({
      state: 'fail',
      reason: expect.stringMatching(/dkim=fail/),
    });
  });

  it('fails on a dkim=pass by a bare TLD (d=org)', () => {
    const headers = ['mx.corp.example; dkim=pass header.d=org'];
    expect(trustedDkimFromAuthResults(headers, TRUSTED, 'alice@example.org').state).toBe('fail');
  });

  it('passes on dmarc=pass with header.from equal to the From domain', () => {
    const headers = ['mx.corp.example; dkim=none; dmarc=pass (p=reject) header.from=Example.org'];
    expect(trustedDkimFromAuthResults(headers, TRUSTED, 'Alice <alice@example.org>')).toEqual({
      state: 'pass',
      domain: 'example.org',
      authservId: 'mx.corp.example',
    });
  });

  it('fails on dmarc=pass for another header.from', () => {
    const headers = ['mx.corp.example; dmarc=pass header.from=other.example'];
    expect(trustedDkimFromAuthResults(headers, TRUSTED, 'alice@example.org').state).toBe('fail');
  });

  it('fails when the From address has no domain', () => {
    const headers = ['mx.corp.example; dkim=pass header.d=example.org'];
    expect(trustedDkimFromAuthResults(headers, TRUSTED, 'alice')).toEqual({
      state: 'fail',
      reason: 'the From address has no domain',
    });
  });
});
