import { describe, expect, it } from 'vitest';
import { OAuth2Error } from '../../../src/core/oauth2.js';
import { relayProblem, relayUnusable } from '../../../src/8-outbox/smtp-transport.js';

/**
 * #15: the relay watch counts a refused login as the relay being unusable (it must not clear or
 * hold off the relay-down alarm while no mail leaves), and the alarm names it without its text.
 */
const smtpError = (fields: Record<string, unknown>, message = 'x'): Error =>
  Object.assign(new Error(message), fields);

describe('relayUnusable() / relayProblem()', () => {
  it('a refused login (EAUTH) or a token the OAuth2 source cannot give is unusable, named "authentication refused"', () => {
    const eauth = smtpError(
      { code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' },
      'Invalid login: 535 5.7.8 Error: authentication failed: c2VjcmV0LXRva2Vu',
    );
    const oauth = new OAuth2Error(
      'oauth2_refused',
      'the token endpoint refused the refresh token',
      'renew oauth2.refresh_token',
    );
    for (const err of [eauth, oauth, Object.assign(oauth, { code: 'EAUTH' })]) {
      expect(relayUnusable(err)).toBe(true);
      expect(relayProblem(err)).toBe('authentication refused');
    }
  });

  it('an unreachable relay is unusable; an answer refusing this one mail is not', () => {
    expect(relayUnusable(smtpError({ code: 'ECONNECTION' }))).toBe(true);
    expect(relayUnusable(smtpError({ code: 'ECONNREFUSED' }))).toBe(true);
    expect(relayProblem(smtpError({ code: 'ECONNREFUSED' }, 'connect ECONNREFUSED 127.0.0.1:25'))).toMatch(
      /ECONNREFUSED/,
    );
    expect(relayUnusable(smtpError({ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' }))).toBe(
      false,
    );
    expect(relayUnusable(smtpError({ code: 'EMESSAGE', responseCode: 451, command: 'DATA' }))).toBe(false);
    expect(relayUnusable(undefined)).toBe(false);
  });
});
