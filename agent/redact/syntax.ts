/**
 * The small grammar the redactors share: which key names hold secrets, which values are not secrets whatever their
 * key, where a value ends in each of the shapes collected from a node (env arrays, command lines, JSON, YAML, URLs),
 * and one rewrite loop. Lines are latin1 strings (one char per byte), so non-UTF-8 bytes pass through untouched.
 */

/** What replaces a secret; the key name beside it stays, so a reader sees what was there. */
export const MASK = '***REDACTED***';

export interface Redaction {
  /** The line after redaction; `null` drops the line (the body of a multi-line private key). */
  line: string | null;
  /** Secrets replaced in this line. */
  count: number;
}

export const unchanged = (line: string): Redaction => ({ line, count: 0 });

/** Words that make a key name secret wherever they appear in it (after normalising to UPPER_SNAKE). */
const SECRET_WORDS = [
  'PASSWORD',
  'PASSWD',
  'PASSPHRASE',
  'SECRET',
  'TOKEN',
  'APIKEY',
  'API_KEY',
  'PRIVATE_KEY',
  'PRIVATEKEY',
  'CREDENTIAL',
];
/**
 * Words that make a key secret only as its last segment (`DB_PASS`, `MYSQL_PWD`, a registry's base64 `auth`), not
 * inside others (`BYPASS`, `authorization-mode`) or before others (`bridge-nf-pass-vlan-input-dev`, a sysctl).
 */
const SECRET_LAST_SEGMENTS = new Set(['PASS', 'PWD', 'AUTH']);
/** `PWD` and `OLDPWD` are the shell's working directories. */
const NOT_SECRET_NAMES = new Set(['PWD', 'OLDPWD']);
/**
 * A last segment that says the value is about a secret, not the secret: a path to it (`AWS_WEB_IDENTITY_TOKEN_FILE`,
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`), where to get it (`AWS_CONTAINER_CREDENTIALS_FULL_URI`), its name or id
 * (`secretName`, a kubeadm token id), its lifetime (`--token-ttl`) or a public hash (`--discovery-token-ca-cert-hash`).
 */
const DESCRIPTIVE_SUFFIXES = new Set([
  'FILE',
  'FILES',
  'FILENAME',
  'PATH',
  'DIR',
  'DIRECTORY',
  'URI',
  'URL',
  'ENDPOINT',
  'ARN',
  'NAME',
  'NAMES',
  'ID',
  'REF',
  'TYPE',
  'KIND',
  'MODE',
  'SOURCE',
  'PROVIDER',
  'AUDIENCE',
  'TTL',
  'SECONDS',
  'TIMEOUT',
  'EXPIRATION',
  'EXPIRY',
  'EXPIRES',
  'INTERVAL',
  'PERIOD',
  'DURATION',
  'LENGTH',
  'SIZE',
  'COUNT',
  'LIMIT',
  'HASH',
  'VERIFICATION',
  'ENABLED',
  'DISABLED',
  'REGION',
  'VERSION',
  'FORMAT',
]);

/** Lowercase substrings of every secret key word above: the scan gate of the key-based redactors. */
export const SECRET_KEY_SCAN: readonly string[] = [
  'pass',
  'pwd',
  'auth',
  'secret',
  'token',
  'apikey',
  'api_key',
  'api-key',
  'privatekey',
  'private_key',
  'private-key',
  'credential',
];

/** `secretAccessKey`, `client-secret`, `x.api.key` → `SECRET_ACCESS_KEY`, `CLIENT_SECRET`, `X_API_KEY`. */
export function normalizeKeyName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
}

const nameCache = new Map<string, boolean>();

/** Whether a key (env var, flag without dashes, JSON/YAML key) names a secret value. */
export function isSecretKeyName(name: string): boolean {
  const cached = nameCache.get(name);
  if (cached !== undefined) return cached;
  const secret = classify(normalizeKeyName(name));
  // Logs repeat a small set of keys; the bound keeps a hostile input from growing the cache without limit.
  if (nameCache.size > 4096) nameCache.clear();
  nameCache.set(name, secret);
  return secret;
}

function classify(normalized: string): boolean {
  if (normalized === '' || NOT_SECRET_NAMES.has(normalized)) return false;
  const segments = normalized.split('_');
  const last = segments[segments.length - 1] ?? '';
  if (DESCRIPTIVE_SUFFIXES.has(last)) return false;
  return SECRET_WORDS.some((word) => normalized.includes(word)) || SECRET_LAST_SEGMENTS.has(last);
}

const PLACEHOLDER_VALUES = new Set([
  '',
  'true',
  'false',
  'yes',
  'no',
  'on',
  'off',
  'null',
  'none',
  'nil',
  '<nil>',
  '<none>',
  '<masked>',
  'redacted',
  '[redacted]',
  '<redacted>',
  'data+omitted',
  '-',
]);
/** Directories a secret value is never mistaken for: a value that is a plain path under them is kept. */
const PATH_VALUE =
  /^\/(?:etc|var|run|opt|usr|home|root|tmp|proc|sys|dev|mnt|srv|lib|lib64|bin|sbin|data)(?:\/[\w.@:+-]*)*$/;
const SIGV4_SCOPE =
  /^(?:AKIA|ASIA|ABIA|ACCA)\*\*\*REDACTED\*\*\*(?:\/|%2F)[0-9]{8}(?:\/|%2F)[\w-]+(?:\/|%2F)[\w-]+(?:\/|%2F)aws4_request,?$/i;
/** `$TOKEN`, `${TOKEN}`, `$(aws ...)`: user-data scripts name secrets through variables, which are not secrets. */
const SHELL_REFERENCE = /^(?:\$\{?[A-Za-z_]\w*\}?|\$\(.*)$/;

/** Values that need no mask: already masked, empty, booleans, placeholders, paths, shell references. */
export function isHarmlessValue(value: string): boolean {
  const bare = stripQuotes(value.trim());
  // Only masks (and blanks) is already redacted; a mask with other text beside it still hides nothing of that text.
  if (bare.includes(MASK) && bare.replaceAll(MASK, '').trim() === '') return true;
  if (PLACEHOLDER_VALUES.has(bare.toLowerCase())) return true;
  // A SigV4 credential scope whose key id is already masked: date, region and service are not secret.
  if (SIGV4_SCOPE.test(bare)) return true;
  if (/^\*+$/.test(bare) || bare.startsWith('<set to the key ')) return true;
  return PATH_VALUE.test(bare) || SHELL_REFERENCE.test(bare);
}

function stripQuotes(value: string): string {
  const first = value[0];
  if ((first === '"' || first === "'") && value.length >= 2 && value.endsWith(first)) return value.slice(1, -1);
  return value;
}

/** How the value after a key ends. */
export type ValueMode =
  /** Command lines, logfmt, env arrays: up to whitespace, a quote or NUL (backslash escapes kept in). */
  | 'word'
  /** A query string: also up to `&` and `#`. */
  | 'query'
  /** A whole env-file or YAML line: up to NUL or the end of the line, trailing blanks left out. */
  | 'rest';

export interface Span {
  start: number;
  end: number;
}

/**
 * The quote (with its escaping backslashes) that opens right before `index`: `"KEY=v"` in an env array, `\"KEY\"`
 * inside an escaped JSON string (a last-applied-configuration annotation), `'--token=x'` in a shell line.
 */
export function openerBefore(line: string, index: number): string {
  const quote = line[index - 1];
  if (quote !== '"' && quote !== "'") return '';
  let start = index - 1;
  while (start > 0 && line[start - 1] === '\\') start--;
  return line.slice(start, index);
}

/** Index of the quote that closes `opener` at or after `from` (the line's end when it is not closed). */
function closingIndex(line: string, from: number, opener: string): number {
  if (opener === '"' || opener === "'") {
    for (let i = from; i < line.length; i++) {
      const char = line[i];
      if (char === '\\' && opener === '"') i++;
      else if (char === opener) return i;
    }
    return line.length;
  }
  const index = line.indexOf(opener, from);
  return index === -1 ? line.length : index;
}

const WORD_END = /[\t\n\v\f\r "'\\\0]/g;
const QUERY_END = /[\t\n\v\f\r "'\\\0&#]/g;

/**
 * The span of the value that starts at `start`. Inside an enclosing quote (`opener`) the value runs to that quote;
 * a value that opens its own quote runs to the matching one and the quotes stay outside the span.
 */
export function valueSpan(line: string, start: number, mode: ValueMode, opener = ''): Span {
  if (opener) return { start, end: closingIndex(line, start, opener) };
  const own = quoteAt(line, start);
  if (own) return { start: start + own.length, end: closingIndex(line, start + own.length, own) };
  if (mode === 'rest') {
    let end = line.indexOf('\0', start);
    if (end === -1) end = line.length;
    while (end > start && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
    return { start, end };
  }
  const stop = mode === 'query' ? QUERY_END : WORD_END;
  let end = start;
  for (;;) {
    stop.lastIndex = end;
    const found = stop.exec(line);
    if (!found) return { start, end: line.length };
    // A backslash escapes the next character (`pa\ ss`, `ab\"cd` inside a JSON string) and stays in the value.
    if (found[0] === '\\' && found.index + 1 < line.length) {
      end = found.index + 2;
      continue;
    }
    return { start, end: found.index };
  }
}

/** A quote (possibly backslash-escaped) opening at `index`, or ''. */
function quoteAt(line: string, index: number): string {
  let end = index;
  while (line[end] === '\\') end++;
  const char = line[end];
  if (char !== '"' && char !== "'") return '';
  if (end > index && char === "'") return '';
  return line.slice(index, end + 1);
}

/**
 * Masks the value span of a match unless it is harmless, counting one per mask. `edit` returns the span to mask
 * (absolute, possibly past the match) or null to leave the match alone.
 */
export function rewrite(line: string, pattern: RegExp, edit: (match: RegExpExecArray) => Span | null): Redaction {
  let out = '';
  let last = 0;
  let count = 0;
  pattern.lastIndex = 0;
  for (let match = pattern.exec(line); match !== null; match = pattern.exec(line)) {
    if (match[0].length === 0) pattern.lastIndex++;
    if (match.index < last) continue;
    const span = edit(match);
    if (!span || span.start < last || span.end <= span.start) continue;
    if (isHarmlessValue(line.slice(span.start, span.end))) {
      pattern.lastIndex = Math.max(pattern.lastIndex, span.end);
      continue;
    }
    out += line.slice(last, span.start) + MASK;
    last = span.end;
    count++;
    pattern.lastIndex = Math.max(pattern.lastIndex, span.end);
  }
  return count === 0 ? unchanged(line) : { line: out + line.slice(last), count };
}

/** Where a value starts after a key, and the quote that encloses it (when the key sat inside one). */
interface ValueStart {
  start: number;
  opener: string;
}

/**
 * A JSON/YAML key closed by its quote whose value is not a string (`"authorization": {`, `"burst": 10`) has no
 * secret of its own: objects are read line by line and their fields judged by their own keys.
 */
function isNonStringValue(line: string, start: number): boolean {
  return !/^\\*["']/.test(line.slice(start, start + 8));
}

/**
 * The value after a key at [keyStart, keyEnd). A key inside quotes that close right after it is a JSON/YAML key
 * (`"Token" : "x"`), whose value brings its own quotes; a key inside quotes that stay open (`"KEY=v"`,
 * `-H "Authorization: Bearer x"`) shares them with its value. `separator` is sticky and matched after the key.
 */
export function valueAfterKey(line: string, keyStart: number, keyEnd: number, separator: RegExp): ValueStart | null {
  let opener = openerBefore(line, keyStart);
  let at = keyEnd;
  const quotedKey = opener !== '' && line.startsWith(opener, at);
  if (quotedKey) {
    at += opener.length;
    opener = '';
  }
  separator.lastIndex = at;
  const found = separator.exec(line);
  if (!found) return null;
  const start = at + found[0].length;
  if (quotedKey && isNonStringValue(line, start)) return null;
  return { start, opener };
}

/** How a value in this position ends: query strings stop at `&`, env-file lines and environ entries at the line end. */
export function modeAt(line: string, keyStart: number): ValueMode {
  const before = keyStart - openerBefore(line, keyStart).length;
  const previous = line[before - 1];
  if (previous === '?' || previous === '&') return 'query';
  if (previous === '\0' || before === 0) return 'rest';
  const head = line.slice(0, before).trim();
  return head === '' || head === 'export' ? 'rest' : 'word';
}

/**
 * Token-bucket settings (`burstTokens=10`, `maxTokens: 5`) name tokens but hold counts: a plain number under a key
 * whose last word is TOKENS is kept.
 */
export function isTokenCount(key: string, value: string): boolean {
  return normalizeKeyName(key).endsWith('TOKENS') && /^["']?[0-9]+(?:\.[0-9]+)?["']?$/.test(value.trim());
}

/** The [start, end) of a named group (patterns carry the `d` flag). */
export function groupSpan(match: RegExpExecArray, group: string): Span | null {
  const indices = match.indices?.groups?.[group];
  return indices ? { start: indices[0], end: indices[1] } : null;
}

/** Masks one span unless its value is harmless. */
export function maskSpan(line: string, span: Span): Redaction {
  if (span.end <= span.start || isHarmlessValue(line.slice(span.start, span.end))) return unchanged(line);
  return { line: line.slice(0, span.start) + MASK + line.slice(span.end), count: 1 };
}

/** A YAML block scalar indicator (`|`, `>-`, after an optional tag or anchor: `!!binary |`): the value is below. */
export const BLOCK_SCALAR = /^(?:[!&][^ \t]*[ \t]+)*[|>][-+0-9]*(?:[ \t]+#.*)?$/;

/** Leading blanks of a line. */
export function indentOf(line: string): string {
  return /^[ \t]*/.exec(line)?.[0] ?? '';
}
