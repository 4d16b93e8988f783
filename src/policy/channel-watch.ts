import type { Calendar, Span } from '../calendar/calendar.js';

/**
 * The watch on the public channel (issue #12, ISO/IEC 18974 §4.2.1.1): the published
 * security.txt goes stale at its Expires (RFC 9116 §2.5.5) and the signing team key at its
 * expiry; the accountable role is warned `public_channel.watch_before` ahead of each, once per
 * date. What is due is decided here, purely; src/7-cases records each alert once.
 */

/** What is watched: security.txt's Expires, or the signing team key by fingerprint. */
export type ChannelSubject = 'security.txt' | `team-key:${string}`;

export interface WatchedExpiry {
  subject: ChannelSubject;
  /** Null when it never expires (a key without expiry, Expires unset): nothing to watch. */
  expiresAt: Date | null;
}

/** An expiry whose warning time has come (or that already passed). */
export interface DueChannelAlert {
  subject: ChannelSubject;
  expiresAt: Date;
}

/**
 * Where an expiry stands at `now`: `none` (no expiry), `ok` (before the warning time), `soon`
 * (within `watchBefore`), `past`. `warnFrom` is the expiry minus `watchBefore` in the calendar
 * (business days skip closed days), the moment the alert is due.
 */
export type ExpiryOutlook =
  { state: 'none' } | { state: 'ok' | 'soon' | 'past'; expiresAt: Date; warnFrom: Date };

export function expiryOutlook(
  expiresAt: Date | null,
  now: Date,
  watchBefore: Span,
  calendar: Calendar,
): ExpiryOutlook {
  if (expiresAt === null) return { state: 'none' };
  const warnFrom = calendar.add(expiresAt, { amount: -watchBefore.amount, unit: watchBefore.unit });
  const t = now.getTime();
  const state = t >= expiresAt.getTime() ? 'past' : t >= warnFrom.getTime() ? 'soon' : 'ok';
  return { state, expiresAt, warnFrom };
}

/** What the service watches: the configured Expires (an ISO date-time) and the signing team key. */
export function watchedExpiries(
  securityTxtExpires: string | undefined,
  signingKey: { fingerprint: string; expires: Date | null } | undefined,
): WatchedExpiry[] {
  const watched: WatchedExpiry[] = [
    {
      subject: 'security.txt',
      expiresAt: securityTxtExpires === undefined ? null : new Date(securityTxtExpires),
    },
  ];
  if (signingKey !== undefined)
    watched.push({
      subject: `team-key:${signingKey.fingerprint.toUpperCase()}`,
      expiresAt: signingKey.expires,
    });
  return watched;
}

/**
 * The alerts due at `now`: every watched expiry within `watchBefore` or already past. Whether
 * one was already sent is for the store (one row per subject and date); a new date is a new alert.
 */
export function dueChannelAlerts(
  watched: readonly WatchedExpiry[],
  now: Date,
  watchBefore: Span,
  calendar: Calendar,
): DueChannelAlert[] {
  const due: DueChannelAlert[] = [];
  for (const w of watched) {
    const o = expiryOutlook(w.expiresAt, now, watchBefore, calendar);
    if (o.state === 'soon' || o.state === 'past') due.push({ subject: w.subject, expiresAt: o.expiresAt });
  }
  return due;
}

const DAY_MS = 86_400_000;

const days = (n: number): string => `${n} ${n === 1 ? 'day' : 'days'}`;

/** "in 10 days", "in less than a day", "3 days ago", "less than a day ago" (calendar days). */
export function timeLeft(expiresAt: Date, now: Date): string {
  const ms = expiresAt.getTime() - now.getTime();
  const whole = Math.floor(Math.abs(ms) / DAY_MS);
  if (ms >= 0) return whole === 0 ? 'in less than a day' : `in ${days(whole)}`;
  return whole === 0 ? 'less than a day ago' : `${days(whole)} ago`;
}
