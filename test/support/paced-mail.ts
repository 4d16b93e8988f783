import nodemailer from 'nodemailer';
import type { SendMailOptions, Transporter } from 'nodemailer';
import type { StackInfo } from './stack.js';

/** A pooled SMTP client of the local Postfix with `maxConnections` sessions (close it after use). */
export function pooledTransport(s: StackInfo, maxConnections: number): Transporter {
  return nodemailer.createTransport({
    host: s.host,
    port: s.smtpPort,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections,
  });
}

/**
 * Submits `n` mails to the local Postfix at a steady `perSecond` pace (2 pooled connections);
 * resolves when every one was accepted. `mail(i)` builds the i-th mail.
 */
export async function sendPaced(
  s: StackInfo,
  n: number,
  perSecond: number,
  mail: (i: number) => SendMailOptions,
): Promise<void> {
  const transport = pooledTransport(s, 2);
  try {
    const started = Date.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const wait = started + (i * 1000) / perSecond - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sends.push(transport.sendMail(mail(i)));
    }
    await Promise.all(sends);
  } finally {
    transport.close();
  }
}
