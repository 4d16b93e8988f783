import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, withoutPreloads } from '../../../src/config/load.js';

const SECRET = 'correct horse battery staple';
/** The test profile plus the one secret it cannot hold. */
const base = { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: SECRET };

function tmpFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'psirt-config-'));
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

const readStaff = (): string => '[[staff]]\nname = "A"\naddress = "a@example.org"\nroles = ["security"]\n';
const staffFile = (): string => tmpFile('staff.toml', readStaff());

/** The issue lines of the ConfigError thrown for these inputs. */
function issuesFor(env: Record<string, string>, file?: string): string[] {
  try {
    loadConfig(file === undefined ? { env } : { env, file });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig()', () => {
  it('lets the environment replace a secret that a file layer reads from a file (#12 trial)', () => {
    const file = tmpFile(
      'deploy.toml',
      '[imap]\npassword_file = "/run/secrets/absent-imap"\n[smtp]\npassword_file = "/run/secrets/absent-smtp"\n',
    );
    const smtpSecret = tmpFile('smtp', 'smtp-from-env-file\n');
    const cfg = loadConfig({
      env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: SECRET, PSIRT_SMTP__PASSWORD_FILE: smtpSecret },
      file,
    });
    expect(cfg.imap.password).toBe(SECRET);
    expect(cfg.smtp.password).toBe('smtp-from-env-file');
    // Without an override, the file layer's missing secret file is still an error naming the key.
    expect(issuesFor({ PSIRT_ENV: 'test' }, file).join('\n')).toMatch(/imap\.password_file: cannot read/);
  });

  it('takes unquoted TOML dates and date-times, in a file and from the environment (#12 review)', () => {
    const file = tmpFile(
      'dates.toml',
      '[public_channel]\nexpires = 2027-11-30T23:00:00Z\n[staffing]\nreview_by = 2027-06-30\n' +
        '[calendar]\nclosed_days = [2026-12-28]\n',
    );
    const cfg = loadConfig({ env: base, file });
    expect(cfg.public_channel.expires).toBe('2027-11-30T23:00:00.000Z');
    expect(cfg.staffing.review_by).toBe('2027-06-30');
    expect(cfg.calendar.closed_days).toEqual(['2026-12-28']);
    const fromEnv = loadConfig({
      env: { ...base, PSIRT_PUBLIC_CHANNEL__EXPIRES: '2027-10-31T23:00:00+01:00' },
    });
    expect(new Date(fromEnv.public_channel.expires ?? '').toISOString()).toBe('2027-10-31T22:00:00.000Z');
    // A local date-time has no zone: refused, naming the key.
    const local = tmpFile('local.toml', '[public_channel]\nexpires = 2027-11-30T23:00:00\n');
    expect(issuesFor(base, local).join('\n')).toMatch(/public_channel\.expires/);
  });

  it('keeps the shown addresses as written and lower-cases the compared ones (#11 review)', () => {
    const cfg = loadConfig({
      env: {
        ...base,
        PSIRT_ORGANISATION__SECURITY_ADDRESS: 'PSIRT-Desk@Example.ORG',
        PSIRT_SMTP__FROM_ADDRESS: 'PSIRT-Desk@Example.ORG',
        PSIRT_ESCALATION__ONCALL_ADDRESS: 'OnCall@Example.ORG',
      },
    });
    // Shown in From:, Reply-To:, templates and sent as MAIL FROM: never changed.
    expect(cfg.organisation.security_address).toBe('PSIRT-Desk@Example.ORG');
    expect(cfg.smtp.from_address).toBe('PSIRT-Desk@Example.ORG');
    // Compared with incoming addresses: lower-cased once, in the schema.
    expect(cfg.escalation.oncall_address).toBe('oncall@example.org');
  });

  it('loads the shipped defaults layered with the test profile', () => {
    const cfg = loadConfig({ env: base });
    expect(cfg.imap.user).toBe('security@psirt.test');
    expect(cfg.deadlines.fix).toMatchObject({ unit: 'seconds', critical: 1200 });
    expect(cfg.staff.map((s) => s.address)).toEqual([
      'alice@psirt.test',
      'bob@psirt.test',
      'carol@psirt.test',
    ]);
    expect(cfg.cases.id_format).toBe('SEC-{year}-{seq:4}');
    // #16: new mail is stored and applied 50 at a time unless configured otherwise.
    expect(cfg.intake.batch_size).toBe(50);
  });

  it('keeps the seed policy numbers as defaults (3/7 business days, 7/30/60/90 days)', () => {
    const file = tmpFile(
      'prod.toml',
      '[[staff]]\nname = "A"\naddress = "a@example.org"\nroles = ["security"]\n',
    );
    const cfg = loadConfig({ env: { PSIRT_IMAP__PASSWORD: SECRET }, file });
    expect(cfg.deadlines.acknowledge).toEqual({ amount: 3, unit: 'business_days' });
    expect(cfg.deadlines.verify).toEqual({ amount: 7, unit: 'business_days' });
    expect(cfg.deadlines.fix).toEqual({ unit: 'calendar_days', critical: 7, high: 30, medium: 60, low: 90 });
    expect(cfg.retention.years).toBe(3);
  });

  describe('when a key is invalid', () => {
    it('refuses deadlines.fix.critical = -1 in a config file with a line naming the key', () => {
      const file = tmpFile('bad.toml', '[deadlines.fix]\ncritical = -1\n');
      expect(issuesFor(base, file)).toEqual(['deadlines.fix.critical: must be a positive number (got -1)']);
    });

    it('refuses the same value from the environment', () => {
      expect(issuesFor({ ...base, PSIRT_DEADLINES__FIX__CRITICAL: '-1' })).toEqual([
        'deadlines.fix.critical: must be a positive number (got -1)',
      ]);
    });

    it('lists every bad key, one line each', () => {
      const issues = issuesFor({
        ...base,
        PSIRT_IMAP__PORT: '70000',
        PSIRT_CALENDAR__TIME_ZONE: 'Mars/Olympus',
      });
      expect(issues).toHaveLength(2);
      expect(issues[0]).toMatch(/^imap\.port: /);
      expect(issues[1]).toMatch(/^calendar\.time_zone: must be an IANA time zone/);
    });

    it('names a misspelt key instead of ignoring it', () => {
      const file = tmpFile('typo.toml', '[imap]\nhots = "mail.example.org"\n');
      expect(issuesFor(base, file)).toEqual(['imap.hots: unknown key']);
    });

    it('names the array index of a bad staff entry', () => {
      const file = tmpFile(
        'staff.toml',
        '[[staff]]\nname = "A"\naddress = "not-an-address"\nroles = ["security"]\nfingerprint = "12AB"\n',
      );
      const issues = issuesFor(base, file);
      expect(issues).toContainEqual(expect.stringMatching(/^staff\[0\]\.address: must be an e-mail address/));
      expect(issues).toContainEqual(
        expect.stringMatching(/^staff\[0\]\.fingerprint: must be a 40- or 64-hex-digit/),
      );
    });

    it('refuses a RACI matrix that leaves a command without a role, or governs one twice', () => {
      const raci = (commands: string, role: string): string =>
        `[[raci]]\nactivity = "A"\ncommands = [${commands}]\nresponsible = ["${role}"]\naccountable = "manager"\n`;
      expect(issuesFor(base, tmpFile('typo.toml', raci('"triage"', 'securty')))).toEqual([
        expect.stringMatching(/^raci\[0\]\.responsible\[0\]: .*\(got "securty"\)/),
      ]);
      const issues = issuesFor(base, tmpFile('gaps.toml', raci('"triage", "assign", "assign"', 'security')));
      expect(issues).toContainEqual('raci[0].commands: /assign is already governed by raci[0] (A)');
      expect(issues).toContainEqual(expect.stringMatching(/^raci: no activity governs \/severity, \/cvss, /));
    });

    it('refuses a fix deadline shorter than that of a more severe class', () => {
      expect(issuesFor({ ...base, PSIRT_DEADLINES__FIX__HIGH: '30' })).toEqual([
        'deadlines.fix.high: (30) must not be shorter than fix.critical (1200)',
      ]);
    });

    it('refuses a first-contact acknowledgment limit above the one for known senders (issue #10)', () => {
      expect(
        issuesFor({
          ...base,
          PSIRT_ACKNOWLEDGMENT__MAX_FIRST_CONTACT_PER_HOUR: '6',
          PSIRT_ACKNOWLEDGMENT__MAX_PER_SENDER_PER_HOUR: '5',
        }),
      ).toEqual([
        'acknowledgment.max_first_contact_per_hour: must not exceed acknowledgment.max_per_sender_per_hour (5): a stranger never gets more than a known correspondent (got 6)',
      ]);
    });

    it('refuses a TLS CA file that is missing or holds no certificate, naming the key (issue #10)', () => {
      expect(issuesFor({ ...base, PSIRT_IMAP__TLS_CA_FILE: '/nonexistent/ca.pem' })).toEqual([
        'imap.tls_ca_file: cannot read /nonexistent/ca.pem (ENOENT)',
      ]);
      const junk = tmpFile('junk.pem', 'not a certificate\n');
      expect(issuesFor({ ...base, PSIRT_SMTP__TLS_CA_FILE: junk })).toEqual([
        `smtp.tls_ca_file: ${junk} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      ]);
    });

    it('refuses retention below the 3-year minimum', () => {
      expect(issuesFor({ ...base, PSIRT_RETENTION__YEARS: '2' })).toEqual([
        'retention.years: must be at least 3 (ISO/IEC 18974 record retention) (got 2)',
      ]);
    });

    it('refuses a retention run time that is not a 24-hour "HH:MM" (#13)', () => {
      expect(issuesFor({ ...base, PSIRT_RETENTION__RUN_AT: '3:30' })).toEqual([
        'retention.run_at: must be a time of day "HH:MM" (24-hour), such as "03:30" (got "3:30")',
      ]);
      expect(issuesFor({ ...base, PSIRT_RETENTION__RUN_AT: '24:00' })).toHaveLength(1);
    });

    it('refuses an intake.batch_size that is not a whole number of at least 1, naming the key (#16)', () => {
      expect(issuesFor({ ...base, PSIRT_INTAKE__BATCH_SIZE: '0' })).toEqual([
        'intake.batch_size: must be at least 1 (got 0)',
      ]);
      expect(issuesFor({ ...base, PSIRT_INTAKE__BATCH_SIZE: '2.5' })).toEqual([
        'intake.batch_size: must be a whole number (got 2.5)',
      ]);
      const file = tmpFile('batch.toml', '[intake]\nbatch_size = "many"\n');
      expect(issuesFor(base, file)).toEqual([expect.stringMatching(/^intake\.batch_size: /)]);
    });

    it('refuses cleartext IMAP to a host that is not loopback', () => {
      expect(issuesFor({ ...base, PSIRT_IMAP__HOST: 'imap.example.org' })).toEqual([
        expect.stringMatching(/^imap\.tls: "none" sends the password in clear to imap\.example\.org/),
      ]);
    });

    it('refuses a case-id format without {seq}', () => {
      expect(issuesFor({ ...base, PSIRT_CASES__ID_FORMAT: 'SEC-{year}' })).toEqual([
        'cases.id_format: must contain {seq} (or {seq:N}) exactly once (got "SEC-{year}")',
      ]);
    });

    it('refuses an unknown holiday region', () => {
      expect(issuesFor({ ...base, PSIRT_CALENDAR__HOLIDAY_REGION: 'XX' })).toEqual([
        'calendar.holiday_region: unknown region XX of DE (got "XX")',
      ]);
    });

    it('names the missing password and how to provide it', () => {
      expect(issuesFor({ PSIRT_ENV: 'test' })).toEqual([
        'imap.password: is required when auth = "password" (set PSIRT_IMAP__PASSWORD or PSIRT_IMAP__PASSWORD_FILE)',
      ]);
    });

    it('never echoes a malformed redis.url, which may carry a password', () => {
      const issues = issuesFor({ ...base, PSIRT_REDIS__URL: 'http://:Leak-WUMPUS@127.0.0.1:6379' });
      expect(issues).toEqual([expect.stringMatching(/^redis\.url: /)]);
      expect(issues.join('\n')).not.toContain('WUMPUS');
    });

    it('reports an unreadable password_file once, not also as a missing password', () => {
      const file = tmpFile('cfg.toml', '[imap]\npassword_file = "/nonexistent/pw"\n');
      expect(issuesFor({ PSIRT_ENV: 'test' }, file)).toEqual([
        'imap.password_file: cannot read /nonexistent/pw (ENOENT)',
      ]);
    });

    it('reports a TOML syntax error with the file and line', () => {
      const file = tmpFile('broken.toml', '[imap]\nport = = 3\n');
      expect(issuesFor(base, file)).toEqual([
        expect.stringMatching(/broken\.toml: TOML syntax error at line 2/),
      ]);
    });

    it('never echoes a secret value in an error line', () => {
      const file = tmpFile('secret.toml', '[smtp]\npassword = 31337424242\n');
      const issues = issuesFor(base, file);
      expect(issues).toEqual([expect.stringMatching(/^smtp\.password: /)]);
      expect(issues[0]).not.toContain('31337424242');
    });
  });

  describe('the docker profile', () => {
    it('puts the database on the volume, and a --config file can still move it', () => {
      expect(
        loadConfig({ env: { PSIRT_ENV: 'docker', PSIRT_IMAP__PASSWORD: 'x' }, file: staffFile() }).database
          .path,
      ).toBe('/data/psirt.db');
      const moved = tmpFile('moved.toml', `${readStaff()}\n[database]\npath = "/srv/psirt.db"\n`);
      expect(
        loadConfig({ env: { PSIRT_ENV: 'docker', PSIRT_IMAP__PASSWORD: 'x' }, file: moved }).database.path,
      ).toBe('/srv/psirt.db');
    });
  });

  describe('environment overrides', () => {
    it('parse numbers and booleans where the key is not a string', () => {
      const cfg = loadConfig({
        env: { ...base, PSIRT_IMAP__PORT: '1143', PSIRT_IMAP__ALLOW_INSECURE: 'true' },
      });
      expect(cfg.imap.port).toBe(1143);
      expect(cfg.imap.allow_insecure).toBe(true);
    });

    it('keep secrets as strings even when they look like numbers', () => {
      const cfg = loadConfig({ env: { ...base, PSIRT_IMAP__PASSWORD: '123456' } });
      expect(cfg.imap.password).toBe('123456');
    });

    it('read a secret from the file named by a _FILE variable', () => {
      const file = tmpFile('imap-password', `${SECRET}-from-file\n`);
      const cfg = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD_FILE: file } });
      expect(cfg.imap.password).toBe(`${SECRET}-from-file`);
    });

    it('set staff[].key_file, a path that is not a secret, like any other key', () => {
      const cfg = loadConfig({ env: { ...base, PSIRT_STAFF__1__KEY_FILE: '/etc/psirt/bob.asc' } });
      expect(cfg.staff[1]?.key_file).toBe('/etc/psirt/bob.asc');
    });

    it('reach array items by index', () => {
      const file = tmpFile('pass', 'other-passphrase');
      const cfg = loadConfig({ env: { ...base, PSIRT_PGP__KEYS__0__PASSPHRASE_FILE: file } });
      expect(cfg.pgp.keys[0]?.passphrase).toBe('other-passphrase');
    });

    it('report an unreadable _FILE with the variable name', () => {
      expect(issuesFor({ ...base, PSIRT_SMTP__PASSWORD_FILE: '/nonexistent/secret' })).toContain(
        'PSIRT_SMTP__PASSWORD_FILE: cannot read /nonexistent/secret (ENOENT)',
      );
    });
  });

  describe('secrets in files', () => {
    it('read password_file given in TOML into password', () => {
      const secret = tmpFile('pw', 'from-toml-file\n');
      const file = tmpFile('cfg.toml', `[imap]\npassword_file = "${secret}"\n`);
      const cfg = loadConfig({ env: { PSIRT_ENV: 'test' }, file });
      expect(cfg.imap.password).toBe('from-toml-file');
    });

    it('refuse both password and password_file in one place', () => {
      const secret = tmpFile('pw', 'x');
      const file = tmpFile('cfg.toml', `[imap]\npassword = "a"\npassword_file = "${secret}"\n`);
      expect(issuesFor({ PSIRT_ENV: 'test' }, file)).toEqual([
        'imap.password_file: both password and password_file are set; keep one',
      ]);
    });
  });
});

describe('withoutPreloads() (#16: what a compose thread keeps of NODE_OPTIONS)', () => {
  it('drops every preload and loader, keeps the other options', () => {
    expect(
      withoutPreloads(
        '--import tsx --require ./a.cjs -r b --import=file:///x.ts --loader l --experimental-loader=m --use-openssl-ca --no-warnings',
      ),
    ).toBe('--use-openssl-ca --no-warnings');
    expect(withoutPreloads('')).toBe('');
  });
});
