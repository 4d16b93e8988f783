import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { PsirtError } from '../core/errors.js';
import { packageRoot } from '../core/paths.js';
import { ConfigSchema, type Config } from './schema.js';

/**
 * Layered configuration (STYLE.md rule 8), later layers win:
 *   1. `config/default.toml`            every key, commented, safe defaults
 *   2. `config/<PSIRT_ENV>.toml`        when PSIRT_ENV is set (e.g. `test`)
 *   3. the `--config` file (or PSIRT_CONFIG)
 *   4. environment overrides `PSIRT_<SECTION>__<KEY>`; `..._FILE` reads the value from a file
 * Secrets (`password`, `passphrase`, `access_token`, `bearer_token`, `client_secret`, `refresh_token`) may also be given in a file as `<key>_file`.
 * Relative paths in the config are resolved against the working directory.
 */

/** Config keys whose values are secrets: redacted on print, always strings, `_file` variants. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'password',
  'passphrase',
  'access_token',
  // http.bearer_token (#15): the bearer token of /metrics and /readyz.
  'bearer_token',
  // OAuth2 (#15): the app's secret and the long-lived refresh token.
  'client_secret',
  'refresh_token',
]);

/** Environment variables with the PSIRT_ prefix that are not config overrides. */
const NOT_OVERRIDES = new Set(['PSIRT_ENV', 'PSIRT_CONFIG', 'PSIRT_CONFIG_DIR', 'PSIRT_RUN_DIR']);

export interface LoadOptions {
  /** Folder with default.toml and the profiles; defaults to the package's `config/`. */
  configDir?: string;
  /** Extra file layered over the profile (the CLI's `--config`). */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

/** Invalid configuration: `issues` holds one line per bad key, each naming the key. */
export class ConfigError extends PsirtError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super('invalid_config', `invalid configuration:\n${issues.map((i) => `  ${i}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

type Tree = Record<string, unknown>;

const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

function mergeInto(target: Tree, layer: Tree): Tree {
  for (const [k, v] of Object.entries(layer)) {
    const cur = target[k];
    target[k] = isTree(cur) && isTree(v) ? mergeInto({ ...cur }, v) : v;
  }
  return target;
}

function readLayer(file: string, issues: string[]): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    issues.push(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return {};
  }
  try {
    return datesAsText(parseToml(text)) as Tree;
  } catch (err) {
    const where = err instanceof TomlError ? ` at line ${err.line}, column ${err.column}` : '';
    const first = (err as Error).message.split('\n')[0] ?? '';
    issues.push(`${file}: TOML syntax error${where}: ${first}`);
    return {};
  }
}

/**
 * TOML dates and date-times (`expires = 2027-11-30T23:00:00Z`, `review_by = 2027-06-30`,
 * unquoted) come from smol-toml as Date objects; the schema takes dates as text, quoted or not,
 * so they become their ISO text here ("2027-06-30", "2027-11-30T23:00:00.000Z").
 */
function datesAsText(node: unknown): unknown {
  if (node instanceof Date) return node.toISOString();
  if (Array.isArray(node)) return node.map(datesAsText);
  if (node !== null && typeof node === 'object')
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, datesAsText(v)]));
  return node;
}

function readSecretFile(file: string, key: string, issues: string[]): string | undefined {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    issues.push(`${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}

/** Formats a config path as it is written in TOML: `staff[0].address`, `deadlines.fix.critical`. */
export function formatKey(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out || '(root)';
}

function envValue(raw: string, current: unknown, secret: boolean): unknown {
  if (secret || typeof current === 'string') return raw;
  try {
    return datesAsText((parseToml(`v = ${raw}`) as { v: unknown }).v);
  } catch {
    return raw; // not a TOML literal (e.g. a bare word): the value is the string itself
  }
}

function applyEnv(tree: Tree, env: NodeJS.ProcessEnv, issues: string[]): void {
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('PSIRT_') || NOT_OVERRIDES.has(name) || name.startsWith('PSIRT_STACK_')) continue;
    if (raw === undefined) continue;
    const path = name
      .slice('PSIRT_'.length)
      .split('__')
      .map((s) => s.toLowerCase());
    if (path.some((s) => s === '')) {
      issues.push(`${name}: malformed override (use PSIRT_SECTION__KEY)`);
      continue;
    }
    let leaf = path[path.length - 1] as string;
    let value: unknown;
    // `_FILE` reads a secret from a file; `key_file` (a path itself) is an ordinary key.
    const fileMatch = /^(.+)_file$/.exec(leaf);
    if (fileMatch && SECRET_KEYS.has(fileMatch[1] as string)) {
      leaf = fileMatch[1] as string;
      value = readSecretFile(raw, name, issues);
      if (value === undefined) continue;
    }
    const parents = path.slice(0, -1);
    let node: Tree | unknown[] = tree;
    for (const seg of parents) {
      const key: string | number = Array.isArray(node) ? Number(seg) : seg;
      const container = node as Record<string | number, unknown>;
      if (Array.isArray(node) && !Number.isInteger(key)) {
        issues.push(`${name}: "${seg}" is not an index of ${formatKey(parents)}`);
        node = [];
        break;
      }
      const next: unknown = container[key];
      if (isTree(next) || Array.isArray(next)) node = next;
      else {
        const fresh: Tree = {};
        container[key] = fresh;
        node = fresh;
      }
    }
    const container = node as Record<string | number, unknown>;
    const key: string | number = Array.isArray(node) ? Number(leaf) : leaf;
    container[key] =
      fileMatch && SECRET_KEYS.has(leaf) ? value : envValue(raw, container[key], SECRET_KEYS.has(leaf));
  }
}

/**
 * The environment is the last layer for secrets too: where it sets a secret
 * (`PSIRT_IMAP__PASSWORD`) or its file (`PSIRT_IMAP__PASSWORD_FILE`), a file layer's
 * `password` and `password_file` are dropped before any file is read, so a deployment file
 * pointing at /run/secrets can be run elsewhere with its secrets given by the environment.
 */
function dropOverriddenSecrets(tree: Tree, env: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(env)) {
    if (!name.startsWith('PSIRT_') || env[name] === undefined) continue;
    const path = name
      .slice('PSIRT_'.length)
      .split('__')
      .map((s) => s.toLowerCase());
    const leaf = path.pop() ?? '';
    const base = leaf.replace(/_file$/, '');
    if (!SECRET_KEYS.has(base)) continue;
    let node: unknown = tree;
    for (const seg of path) {
      node = isTree(node) ? node[seg] : Array.isArray(node) ? (node as unknown[])[Number(seg)] : undefined;
    }
    if (!isTree(node)) continue;
    Reflect.deleteProperty(node, base);
    Reflect.deleteProperty(node, `${base}_file`);
  }
}

/** Replaces `<secret>_file = "path"` keys from TOML by the file's content. */
function resolveSecretFiles(node: unknown, path: PropertyKey[], issues: string[]): void {
  if (Array.isArray(node)) {
    node.forEach((child, i) => resolveSecretFiles(child, [...path, i], issues));
    return;
  }
  if (!isTree(node)) return;
  for (const [k, v] of Object.entries(node)) {
    const m = /^(.+)_file$/.exec(k);
    if (m && SECRET_KEYS.has(m[1] as string)) {
      const base = m[1] as string;
      const key = formatKey([...path, k]);
      if (node[base] !== undefined && node[base] !== '') {
        issues.push(`${key}: both ${base} and ${k} are set; keep one`);
      } else if (typeof v !== 'string') {
        issues.push(`${key}: must be a file path`);
      } else {
        const content = readSecretFile(v, key, issues);
        if (content !== undefined) node[base] = content;
      }
      Reflect.deleteProperty(node, k);
    } else {
      resolveSecretFiles(v, [...path, k], issues);
    }
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const seg of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[seg];
  }
  return value;
}

function describeReceived(issue: z.core.$ZodIssue, input: unknown): string {
  const value = valueAt(input, issue.path);
  const last = issue.path[issue.path.length - 1];
  // Secrets, and URLs (which may carry credentials), are never echoed back.
  if (typeof last === 'string' && (SECRET_KEYS.has(last) || last === 'url')) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return ` (got ${String(value)})`;
  if (typeof value === 'string' && value.length <= 60) return ` (got ${JSON.stringify(value)})`;
  return '';
}

/** Loads, layers and validates the configuration. Throws `ConfigError` listing every bad key. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const dir = opts.configDir ?? env.PSIRT_CONFIG_DIR ?? join(packageRoot(), 'config');
  const issues: string[] = [];
  const tree: Tree = {};
  mergeInto(tree, readLayer(join(dir, 'default.toml'), issues));
  const profile = env.PSIRT_ENV;
  if (profile) {
    if (!/^[a-z0-9-]+$/.test(profile)) issues.push(`PSIRT_ENV: "${profile}" is not a profile name`);
    else mergeInto(tree, readLayer(join(dir, `${profile}.toml`), issues));
  }
  const extra = opts.file ?? env.PSIRT_CONFIG ?? recordedConfigFile(env, issues);
  if (extra) {
    const file = resolve(extra);
    if (!existsSync(file)) issues.push(`--config: ${file} does not exist`);
    else mergeInto(tree, readLayer(file, issues));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  dropOverriddenSecrets(tree, env);
  resolveSecretFiles(tree, [], issues);
  applyEnv(tree, env, issues);
  const result = ConfigSchema.safeParse(tree);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) issues.push(`${formatKey([...issue.path, k])}: unknown key`);
        continue;
      }
      const key = formatKey(issue.path);
      // A secret whose _file could not be read was reported already; do not add "is required".
      if (
        issues.some(
          (i) =>
            i.startsWith(`${key}_file:`) ||
            i.startsWith(`PSIRT_${issue.path.join('__').toUpperCase()}_FILE:`),
        )
      ) {
        continue;
      }
      if (issue.code === 'invalid_type' && valueAt(tree, issue.path) === undefined) {
        issues.push(`${formatKey(issue.path)}: is required (${issue.expected})`);
        continue;
      }
      const received = describeReceived(issue, tree);
      const said = received !== '' && issue.message.includes(received.slice(6, -1));
      issues.push(`${formatKey(issue.path)}: ${issue.message}${said ? '' : received}`);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const config = (result as { data: Config }).data;
  config.database.path = resolveRelative(config.database.path);
  for (const key of config.pgp.keys) key.file = resolveRelative(key.file);
  for (const s of config.staff) if (s.key_file) s.key_file = resolveRelative(s.key_file);
  if (config.templates.dir !== '') config.templates.dir = resolveRelative(config.templates.dir);
  if (config.oauth2.token_file !== '') config.oauth2.token_file = resolveRelative(config.oauth2.token_file);
  for (const section of ['imap', 'smtp'] as const) {
    const file = config[section].tls_ca_file;
    if (file === '') continue;
    config[section].tls_ca_file = resolveRelative(file);
    const why = unreadableCa(config[section].tls_ca_file);
    if (why !== null) issues.push(`${section}.tls_ca_file: ${why}`);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}

/** Why a CA file cannot be used (so the start stops naming the key), or null when it can. */
function unreadableCa(file: string): string | null {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    return `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`;
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return `${file}: a certificate cannot be read (${(err as Error).message})`;
    }
  }
  return null;
}

function resolveRelative(p: string): string {
  return isAbsolute(p) || p === ':memory:' ? p : resolve(p);
}

/**
 * NB! The container's HEALTHCHECK runs `psirt doctor --quick` as a separate process that never
 * sees the `--config` given to the container's `start` (issue #10). So `start` records the file it
 * was given in `$PSIRT_RUN_DIR/service.json` (the image sets PSIRT_RUN_DIR), and any later psirt
 * command there with neither `--config` nor PSIRT_CONFIG layers the same file. Without
 * PSIRT_RUN_DIR nothing is recorded or read. The environment is shared by both already.
 */
export function recordServiceConfig(
  opts: { file?: string | undefined; env?: NodeJS.ProcessEnv; pid?: number } = {},
): string | null {
  const env = opts.env ?? process.env;
  const dir = env.PSIRT_RUN_DIR;
  if (!dir) return null;
  const extra = opts.file ?? env.PSIRT_CONFIG;
  const record = { pid: opts.pid ?? process.pid, config: extra ? resolve(extra) : null };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const target = join(dir, 'service.json');
  writeFileSync(`${target}.tmp`, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  renameSync(`${target}.tmp`, target);
  return target;
}

function recordedConfigFile(env: NodeJS.ProcessEnv, issues: string[]): string | undefined {
  const dir = env.PSIRT_RUN_DIR;
  if (!dir) return undefined;
  const file = join(dir, 'service.json');
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as { config?: unknown };
    return typeof record.config === 'string' ? record.config : undefined;
  } catch (err) {
    // No service started here yet: the default layers apply.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    issues.push(
      `PSIRT_RUN_DIR: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
    return undefined;
  }
}

/** What systemd passes a Type=notify service (sd_notify(3)); read only here (STYLE.md). */
export function serviceManagerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const picked: NodeJS.ProcessEnv = {};
  for (const key of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'PATH'] as const)
    if (env[key] !== undefined) picked[key] = env[key];
  return picked;
}

/**
 * NODE_OPTIONS without the modules it preloads (`--import`, `--require`, loaders): a thread runs
 * our code alone, and Node 20 applies a preload in a thread before the loader hooks another
 * preload registers (a TypeScript preload behind `--import tsx` fails there, as the e2e fault
 * injection showed). Other options (OpenSSL, TLS, warnings) stay.
 */
export function withoutPreloads(nodeOptions: string): string {
  const preload = /^(--import|--require|-r|--loader|--experimental-loader)$/;
  const out: string[] = [];
  const words = nodeOptions.split(/\s+/).filter((w) => w !== '');
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    if (preload.test(w)) i += 1;
    else if (!/^(--import|--require|--loader|--experimental-loader)=/.test(w)) out.push(w);
  }
  return out.join(' ');
}

/** The environment of a worker thread of ours (a compose thread, #16): NODE_OPTIONS without preloads. */
export function threadEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, NODE_OPTIONS: withoutPreloads(env.NODE_OPTIONS ?? '') };
}
