/** Words of the case domain that config, the command grammar and the store share. */

/** Severity, FIRST's qualitative scale (CVSS v3.1 §5, v4.0 §6). */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'none'] as const;

/** How a case ends (DESIGN.md "Case lifecycle"). */
export const RESOLUTIONS = [
  'fixed',
  'duplicate',
  'invalid',
  'not-applicable',
  'wontfix',
  'withdrawn',
  'spam',
] as const;

export type Severity = (typeof SEVERITIES)[number];
export type Resolution = (typeof RESOLUTIONS)[number];
