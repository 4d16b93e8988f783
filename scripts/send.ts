/**
 * `npm run send -- …`: mail a report or a signed staff command into the local stack (issue #10),
 * to try the service by hand after `npm run demo` (or `npm run stack start` + `psirt start`).
 * Uses the TEST ONLY keys in test/fixtures/keys and the stack's Postfix (test/stack/stack.sh).
 *
 *   npm run send -- report [--from reporter1] [--subject TEXT] [--body TEXT] [--encrypt]
 *       a report to security@, plain, or with --encrypt signed and encrypted by the sender's key
 *       to the team key (PGP/MIME via gpg, the sender's key in an Autocrypt header)
 *   npm run send -- command CASE "/triage /assign bob" [--as alice] [--body TEXT]
 *       a staff reply on the case, its subject `Re: [CASE] <commands>`, PGP/MIME signed by the
 *       member's key (alice, bob or carol)
 *
 * Prints the Message-ID it sent. Answers arrive in the stack's mailboxes (the demo shows how to
 * read them; `psirt cases show CASE` shows what happened).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { withGpg } from '../test/support/gpg.js';
import { staffMail } from '../test/support/pgp-mail.js';
import { submitMail } from '../test/support/service.js';
import { address, readStack } from '../test/support/stack.js';

const USAGE =
  'usage: npm run send -- report [--from reporter1] [--subject TEXT] [--body TEXT] [--encrypt]\n' +
  '       npm run send -- command CASE "/commands …" [--as alice] [--body TEXT]\n';

function readArgs() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        from: { type: 'string', default: 'reporter1' },
        as: { type: 'string', default: 'alice' },
        subject: { type: 'string', default: 'Remote code execution in the firmware updater' },
        body: { type: 'string' },
        encrypt: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    // An unknown option: say so with the usage, not a stack trace.
    process.stderr.write(`send: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  }
}
const { values, positionals } = readArgs();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const stack = readStack();
const [what, ...rest] = positionals;

/** The base64 body of an armored key block (RFC 4880 §6.2), without headers and checksum. */
function autocryptKeydata(armored: string): string {
  const body = armored.split(/\r?\n\r?\n/)[1] ?? '';
  return body
    .split(/\r?\n/)
    .filter((l) => l !== '' && !l.startsWith('=') && !l.startsWith('-----'))
    .join('');
}

if (what === 'report') {
  const from = address(stack, values.from);
  const messageId = `${randomUUID()}@${values.from}.${stack.domain}`;
  const body = values.body ?? 'The updater accepts unsigned images over plain HTTP.\n';
  // gpg signs as the sender and encrypts to the team key; the sender's key goes along (Autocrypt).
  const sealed = values.encrypt
    ? withGpg([`${values.from}.sec`, 'team.pub'], (gpg) => ({
        text: gpg(
          ['--armor', '--sign', '--encrypt', '--local-user', from, '--recipient', 'security@psirt.test'],
          body,
        ).stdout,
        // Autocrypt keydata is the binary key in base64: the armored export without its armor.
        key: autocryptKeydata(gpg(['--armor', '--export', from]).stdout),
      }))
    : null;
  if (sealed !== null && !sealed.text.includes('BEGIN PGP MESSAGE')) {
    process.stderr.write(
      `send: gpg could not encrypt as ${values.from} (test/fixtures/keys/${values.from}.sec.asc)\n`,
    );
    process.exit(1);
  }
  await submitMail(stack, {
    from,
    to: address(stack, 'security'),
    subject: values.subject,
    messageId: `<${messageId}>`,
    ...(sealed === null
      ? { text: body }
      : { text: sealed.text, headers: { Autocrypt: `addr=${from}; keydata=${sealed.key}` } }),
  });
  process.stdout.write(`sent report <${messageId}> from ${from}${sealed ? ' (signed and encrypted)' : ''}\n`);
} else if (what === 'command' && rest.length === 2) {
  const [caseId, commands] = rest as [string, string];
  const from = address(stack, values.as);
  const mail = staffMail({
    from: `${values.as} <${from}>`,
    subject: `Re: [${caseId}] ${commands}`,
    body: values.body ?? 'Sent with npm run send.',
    signer: values.as,
  });
  await submitMail(stack, { envelope: { from, to: [address(stack, 'security')] }, raw: mail.raw });
  process.stdout.write(
    `sent command <${mail.messageId}> from ${from}, signed: Re: [${caseId}] ${commands}\n`,
  );
} else {
  process.stderr.write(USAGE);
  process.exit(2);
}
