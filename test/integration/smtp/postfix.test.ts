import { randomUUID } from 'node:crypto';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { describe, expect, inject, it } from 'vitest';
import { checkSmtp } from '../../../src/8-outbox/smtp-transport.js';
import { loadConfig } from '../../../src/config/load.js';
import { waitForMessage } from '../../support/mailbox.js';
import { address, stackEnv } from '../../support/stack.js';

const stack = inject('stack');

describe('the local stack Postfix', () => {
  it('delivers a mail for security@ into Dovecot, readable over IMAP', async () => {
    const transport = nodemailer.createTransport({
      host: stack.host,
      port: stack.smtpPort,
      secure: false,
      ignoreTLS: true,
    });
    const messageId = `<${randomUUID()}@reporter.test>`;
    const body = `Heap overflow in the parser, token ${randomUUID()}`;
    await transport.sendMail({
      from: address(stack, 'reporter1'),
      to: address(stack, 'security'),
      subject: 'Vulnerability report',
      text: body,
      messageId,
    });
    transport.close();
    const raw = await waitForMessage(stack, 'security', messageId);
    const parsed = await simpleParser(raw);
    expect(parsed.messageId).toBe(messageId);
    expect(parsed.text?.trim()).toBe(body);
    expect(parsed.from?.value[0]?.address).toBe(address(stack, 'reporter1'));
  });

  it('passes checkSmtp() with the test profile', async () => {
    const cfg = loadConfig({ env: stackEnv(stack) });
    await expect(checkSmtp(cfg.smtp)).resolves.toMatchObject({ ok: true });
  });
});
