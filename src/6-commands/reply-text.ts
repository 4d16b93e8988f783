import EmailReplyParser from 'email-reply-parser';

/** Longer staff text is cut here before parsing (the parser's regexes are not linear on all input). */
export const MAX_REPLY_CHARS = 100_000;

/**
 * The part of a staff member's mail that is their own text: the quoted thread ("On … wrote:",
 * "> …", Outlook's "-----Original Message-----") and the signature block ("-- ") removed, with
 * email-reply-parser (Crisp's port of GitHub's EmailReplyParser, which knows the attribution lines
 * of many languages and clients). What `/reply` relays to the reporter and what a note keeps.
 */
export function ownText(text: string): string {
  const input = text.length > MAX_REPLY_CHARS ? text.slice(0, MAX_REPLY_CHARS) : text;
  const normalised = input.replace(/\r\n?/g, '\n');
  const visible = new EmailReplyParser().read(normalised).getVisibleText();
  return visible.replace(/\n{3,}/g, '\n\n').trim();
}
