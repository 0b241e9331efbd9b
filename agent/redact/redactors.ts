/**
 * The named redactors. Each sees one line at a time (latin1, no newline) and masks the secret values in it,
 * keeping key names, so `AWS_SECRET_ACCESS_KEY=***REDACTED***` still tells a reader what the node had. `scan` holds
 * cheap lowercase substrings: a line whose lowercase contains none of them never reaches the regexes (an empty
 * `scan` means every line does). Multi-line redactors (private key blocks, YAML block scalars, name/value pairs
 * split over lines) live in blocks.ts; their `fork()` gives each stream its own state.
 *
 * Every item gets DEFAULT_REDACTORS; an item may name extras or a profile (what its source holds) in the inventory.
 */
import {
  envNameValueRedactor,
  pemPrivateKeyBase64Redactor,
  pemPrivateKeyRedactor,
  secretFieldRedactor,
  secretFlagRedactor,
} from './blocks.ts';
import {
  BLOCK_SCALAR,
  groupSpan,
  isSecretKeyName,
  isTokenCount,
  MASK,
  modeAt,
  openerBefore,
  type Redaction,
  rewrite,
  SECRET_KEY_SCAN,
  type Span,
  type ValueMode,
  valueAfterKey,
  valueSpan,
} from './syntax.ts';

export interface Redactor {
  readonly name: string;
  readonly description: string;
  /** Lowercase substrings that gate `apply`; empty means every line. */
  readonly scan: readonly string[];
  apply(line: string): Redaction;
  /** Multi-line redactors: true while a block is open, so the next line reaches `apply` whatever it contains. */
  holding?(): boolean;
  /** Multi-line redactors: a fresh instance with no open block (one per stream). */
  fork?(): Redactor;
}

interface KeyValueRule {
  name: string;
  description: string;
  scan: readonly string[];
  /** Finds keys; the `key` group (the pattern has the `d` flag) is the name. */
  keys: RegExp;
  /** Sticky: what stands between the key (and its closing quote) and the value. */
  separator: RegExp;
  mode?(line: string, keyStart: number): ValueMode;
  /** Narrow the value span (keep an auth scheme) or refuse it. */
  refine?(line: string, span: Span): Span | null;
}

function keyValueRedactor(rule: KeyValueRule): Redactor {
  return {
    name: rule.name,
    description: rule.description,
    scan: rule.scan,
    apply: (line) =>
      rewrite(line, rule.keys, (match) => {
        const key = groupSpan(match, 'key');
        if (!key) return null;
        const value = valueAfterKey(line, key.start, key.end, rule.separator);
        if (!value) return null;
        const mode = rule.mode ? rule.mode(line, key.start) : modeAt(line, key.start);
        const span = valueSpan(line, value.start, mode, value.opener);
        return rule.refine ? rule.refine(line, span) : span;
      }),
  };
}

function patternRedactor(
  name: string,
  description: string,
  scan: readonly string[],
  pattern: RegExp,
  group: string,
): Redactor {
  return { name, description, scan, apply: (line) => rewrite(line, pattern, (match) => groupSpan(match, group)) };
}

const COLON_OR_EQUALS = /[ \t]*[:=][ \t]*/y;

export const awsAccessKeyIdRedactor = patternRedactor(
  'aws-access-key-id',
  'AWS access key ids (AKIA long-term, ASIA temporary, ABIA, ACCA); the 4-letter kind is kept.',
  ['akia', 'asia', 'abia', 'acca'],
  /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)(?<id>[A-Z0-9]{16})(?![A-Z0-9])/dg,
  'id',
);

export const awsSecretAccessKeyRedactor = keyValueRedactor({
  name: 'aws-secret-access-key',
  description:
    'AWS secret access keys after aws_secret_access_key, AWS_SECRET_ACCESS_KEY=, "SecretAccessKey": or secretAccessKey.',
  scan: ['secret'],
  keys: /(?<![A-Za-z0-9])(?<key>(?:aws[_-]?)?secret[_-]?access[_-]?key)(?![A-Za-z0-9_-])/dgi,
  separator: COLON_OR_EQUALS,
});

export const awsSessionTokenRedactor = keyValueRedactor({
  name: 'aws-session-token',
  description:
    'AWS session tokens: AWS_SESSION_TOKEN, aws_session_token, "SessionToken", X-Amz-Security-Token (header or ' +
    'query), and "Token" in instance-metadata credential documents.',
  scan: ['token'],
  keys: /(?<![A-Za-z0-9_-])(?<key>(?:aws[_-]?)?session[_-]?token|x-amz-security-token|security[_-]?token|Token(?=\\{0,7}"))(?![A-Za-z0-9_-])/dgi,
  separator: COLON_OR_EQUALS,
});

export const awsSignatureRedactor = keyValueRedactor({
  name: 'aws-signature',
  description:
    'Request signatures: X-Amz-Signature= in presigned URLs, Signature= in SigV2 URLs and SigV4 Authorization ' +
    'headers (the X-Amz-Credential key id is masked by aws-access-key-id; its date, region and service stay).',
  scan: ['signature'],
  keys: /(?<![A-Za-z0-9_-])(?<key>x-amz-signature|signature)(?==)/dgi,
  separator: /=/y,
  mode: () => 'query',
  refine: (line, span) => {
    // A SigV4 header ends the signature at a comma or the end of the header.
    const comma = line.indexOf(',', span.start);
    return comma !== -1 && comma < span.end ? { start: span.start, end: comma } : span;
  },
});

const AUTH_SCHEME = /^(?:bearer|basic|token|digest|negotiate|ntlm)[ \t]+/i;

export const httpAuthHeaderRedactor = keyValueRedactor({
  name: 'http-auth-header',
  description:
    'HTTP credentials in headers: Authorization (the scheme word is kept), Proxy-Authorization, ' +
    'X-aws-ec2-metadata-token, X-Auth-Token, X-Api-Key, Cookie. SigV4 Authorization headers are left to ' +
    'aws-access-key-id and aws-signature, which keep their scope.',
  scan: ['authorization', '-token', 'api-key', 'cookie'],
  keys: /(?<![A-Za-z0-9_-])(?<key>(?:proxy-)?authorization|x-aws-ec2-metadata-token|x-auth-token|x-api-key|api-key|set-cookie|cookie)(?![A-Za-z0-9_-])/dgi,
  separator: /[ \t]*[:=][ \t]*/y,
  // A header value runs to its closing quote or the end of the line: `Bearer x`, `Digest a="b", c="d"`.
  mode: () => 'rest',
  refine: (line, span) => {
    const value = line.slice(span.start, span.end);
    // SigV4 keeps its scope; `Authorization:[]` is a Go struct print (docker info), not a header.
    if (/^AWS4-HMAC-SHA256\b/i.test(value) || /^[[{(]/.test(value)) return null;
    const scheme = AUTH_SCHEME.exec(value);
    if (!scheme) return span;
    const start = span.start + scheme[0].length;
    // Unquoted (a ps line lost the quotes): the credential is the one word after the scheme.
    const quoted = /["']/.test(line[span.end] ?? '');
    const blank = quoted ? -1 : line.slice(start, span.end).search(/[ \t]/);
    return { start, end: blank === -1 ? span.end : start + blank };
  },
});

export const bearerTokenRedactor = patternRedactor(
  'bearer-token',
  'Bearer tokens anywhere in a line ("Bearer <token>"), whatever header or field carries them.',
  ['bearer'],
  /(?<![A-Za-z0-9_-])bearer[ \t]+(?<token>[A-Za-z0-9._~+/-]{8,}=*)/dgi,
  'token',
);

export const jwtRedactor = patternRedactor(
  'jwt',
  'JSON Web Tokens (service-account and OIDC tokens): eyJ….….… masked whole.',
  ['eyj'],
  /(?<![A-Za-z0-9_-])(?<jwt>eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*)/dg,
  'jwt',
);

export const kubeconfigCredentialsRedactor = keyValueRedactor({
  name: 'kubeconfig-credentials',
  description:
    'Kubeconfig user credentials, YAML or JSON: client-key-data, client-certificate-data, token, id-token, ' +
    'refresh-token, access-token, client-secret, password. certificate-authority-data and file paths stay.',
  scan: ['-data', 'token', 'secret', 'password'],
  keys: /(?:^[ \t]*(?:-[ \t]+)?["']?|(?<=["']))(?<key>client-key-data|client-certificate-data|token|id-token|refresh-token|access-token|client-secret|password)(?![A-Za-z0-9_-])/dgi,
  separator: /[ \t]*:[ \t]*/y,
  mode: () => 'rest',
  // `password: |` opens a block scalar: secret-field masks the lines under it.
  refine: (line, span) => (BLOCK_SCALAR.test(line.slice(span.start, span.end)) ? null : span),
});

export const urlUserinfoRedactor = patternRedactor(
  'url-userinfo',
  'Passwords in URLs (scheme://user:password@host, also with JSON-escaped slashes); the user name stays.',
  ['://', ':\\/\\/'],
  /:(?:\/\/|\\\/\\\/)[^\s/@:"'?#\\]*:(?<password>[^\s/@"'?#\\]+)@/dg,
  'password',
);

const ASSIGNMENT_KEY = /(?<![A-Za-z0-9_.\-/\\$])(?<key>[A-Za-z_][A-Za-z0-9_.-]*)(?=[ \t]*=|:[^\s/:])/dg;
const GO_FIELD = /^[A-Z][A-Za-z0-9]*$/;
const INI_SEPARATOR = /[ \t]*=[ \t]*/y;
const ASSIGNMENT_SEPARATOR = /=|:/y;

export const secretAssignmentRedactor: Redactor = {
  name: 'secret-assignment',
  description:
    'KEY=value where the key names a secret (PASSWORD, PASSWD, SECRET, TOKEN, API_KEY, PRIVATE_KEY, CREDENTIAL, …): ' +
    'env arrays ("KEY=v"), environ entries, env files, logfmt, shell lines, query strings, INI lines (key = v) ' +
    'and Go struct prints (Key:v). Keys that name a file, path, URI, ARN, id or lifetime keep their value.',
  scan: SECRET_KEY_SCAN,
  apply: (line) =>
    rewrite(line, ASSIGNMENT_KEY, (match) => {
      const key = groupSpan(match, 'key');
      if (!key || !isSecretKeyName(line.slice(key.start, key.end))) return null;
      const mode = modeAt(line, key.start);
      // Spaces around `=` only at the start of a line (INI, TOML) or inside a quoted string (`echo "k = v"`);
      // elsewhere they would join unrelated words.
      const spaced = mode === 'rest' || openerBefore(line, key.start) !== '';
      const separator = spaced ? INI_SEPARATOR : ASSIGNMENT_SEPARATOR;
      const value = valueAfterKey(line, key.start, key.end, separator);
      if (!value) return null;
      if (line[value.start - 1] !== ':') {
        const span = valueSpan(line, value.start, mode, value.opener);
        return isTokenCount(line.slice(key.start, key.end), line.slice(span.start, span.end)) ? null : span;
      }
      // `Key:value` is a Go struct print, whose field names are exported identifiers; anything else before a colon
      // is a source line (`token_manager.go:121]`), a port or an iptables comment (`"secret-store:http"`).
      if (!GO_FIELD.test(line.slice(key.start, key.end))) return null;
      return valueSpan(line, value.start, 'word', value.opener);
    }),
};

/** Redactors every item gets, in the order they run (specific shapes before the generic key rules). */
export const DEFAULT_REDACTORS: readonly Redactor[] = [
  pemPrivateKeyRedactor,
  pemPrivateKeyBase64Redactor,
  awsAccessKeyIdRedactor,
  awsSecretAccessKeyRedactor,
  awsSessionTokenRedactor,
  awsSignatureRedactor,
  httpAuthHeaderRedactor,
  bearerTokenRedactor,
  jwtRedactor,
  kubeconfigCredentialsRedactor,
  urlUserinfoRedactor,
  secretAssignmentRedactor,
  secretFlagRedactor,
  secretFieldRedactor,
  envNameValueRedactor,
];

export const kubeadmBootstrapTokenRedactor = patternRedactor(
  'kubeadm-bootstrap-token',
  'Bare kubeadm bootstrap tokens (abcdef.0123456789abcdef) wherever they appear; the public token id stays.',
  [],
  /(?<![A-Za-z0-9.])[a-z0-9]{6}\.(?<secret>[a-z0-9]{16})(?![A-Za-z0-9.])/dg,
  'secret',
);

/**
 * Programs whose single-letter flag takes a password: the flag, and whether the password may be the next word
 * (mysql's lone `-p` prompts instead).
 */
const SHORT_PASSWORD_FLAGS = new Map([
  ['mysql', { flag: '-p', nextWord: false }],
  ['mysqldump', { flag: '-p', nextWord: false }],
  ['mysqladmin', { flag: '-p', nextWord: false }],
  ['mariadb', { flag: '-p', nextWord: false }],
  ['mariadb-dump', { flag: '-p', nextWord: false }],
  ['sshpass', { flag: '-p', nextWord: true }],
  ['redis-cli', { flag: '-a', nextWord: true }],
]);
const SHELL_SEPARATORS = new Set(['|', '||', '&&', ';', '&']);
const WORD = /[^\t ]+/g;

/**
 * Walks the words of a line once (a regex per program would rescan the rest of the line for every mention):
 * within a known program's arguments, `-pSECRET`, or the word after `-p` (sshpass) or `-a` (redis-cli).
 */
function maskShortPasswordFlags(line: string): Redaction {
  let program: { flag: string; nextWord: boolean } | undefined;
  let takeNext = false;
  return rewrite(line, WORD, (match) => {
    const word = match[0];
    const start = match.index;
    if (takeNext) {
      takeNext = false;
      return { start, end: start + word.length };
    }
    if (SHELL_SEPARATORS.has(word)) program = undefined;
    const named = SHORT_PASSWORD_FLAGS.get(word.slice(word.lastIndexOf('/') + 1));
    if (named) program = named;
    if (!program || !word.startsWith(program.flag)) return null;
    if (word.length > program.flag.length) return { start: start + program.flag.length, end: start + word.length };
    takeNext = program.nextWord;
    return null;
  });
}

export const passwordShortFlagRedactor: Redactor = {
  name: 'password-short-flag',
  description:
    'Single-letter password flags of the few programs known to take one (mysql -pSECRET, sshpass -p, ' +
    'redis-cli -a). `-p` is a port or protocol everywhere else (iptables, ssh), so it is never masked generically.',
  scan: ['mysql', 'mariadb', 'sshpass', 'redis-cli'],
  apply: maskShortPasswordFlags,
};

const BASE64_RUN = /(?<![A-Za-z0-9+/])(?<blob>[A-Za-z0-9+/]{64,}={0,2})(?![A-Za-z0-9+/=])/dg;
const PUBLIC_PEM = /^-----BEGIN (?:CERTIFICATE|PUBLIC KEY|X509 CRL|TRUSTED CERTIFICATE)-----/;

export const base64BlobRedactor: Redactor = {
  name: 'base64-blob',
  description:
    'Long base64 runs (64+ characters, mixed case and digits) that could hide anything: embedded files in ' +
    'user-data. Runs that decode to public certificates (--b64-cluster-ca, certificate-authority-data) stay.',
  scan: [],
  apply: (line) =>
    rewrite(line, BASE64_RUN, (match) => {
      const blob = groupSpan(match, 'blob');
      if (!blob) return null;
      const text = line.slice(blob.start, blob.end);
      if (!/[0-9]/.test(text) || !/[A-Z]/.test(text) || !/[a-z]/.test(text)) return null;
      const decoded = Buffer.from(text, 'base64').toString('latin1');
      return PUBLIC_PEM.test(decoded) && !decoded.includes('PRIVATE KEY') ? null : blob;
    }),
};

export const EXTRA_REDACTORS: readonly Redactor[] = [
  kubeadmBootstrapTokenRedactor,
  passwordShortFlagRedactor,
  base64BlobRedactor,
];

/**
 * Names an inventory item may give for what its source holds; each adds the extras that shape needs beyond the
 * default set (which already covers environments and kubeconfigs).
 */
export const REDACTOR_PROFILES: Readonly<Record<string, readonly string[]>> = {
  environment: [],
  kubeconfig: [],
  'command-line': ['password-short-flag', 'kubeadm-bootstrap-token'],
  'user-data': ['kubeadm-bootstrap-token', 'base64-blob'],
};

const byName = new Map<string, Redactor>([...DEFAULT_REDACTORS, ...EXTRA_REDACTORS].map((r) => [r.name, r]));

export class UnknownRedactorError extends Error {
  readonly code = 'ENDIAG_UNKNOWN_REDACTOR';
  constructor(name: string) {
    const known = [...byName.keys(), ...Object.keys(REDACTOR_PROFILES)].sort().join(', ');
    super(`redactor "${name}": no redactor or profile has that name; known: ${known}`);
  }
}

/** Whether an inventory item may name this (a redactor or a profile). */
export function isRedactorName(name: string): boolean {
  return byName.has(name) || name in REDACTOR_PROFILES;
}

/**
 * Fresh redactors for one stream: the defaults, then the named extras (profiles expanded), each once, with
 * multi-line ones forked so no state is shared between streams.
 */
export function resolveRedactors(names: readonly string[] = []): Redactor[] {
  const chosen = new Set<Redactor>(DEFAULT_REDACTORS);
  for (const name of names) {
    const profile = REDACTOR_PROFILES[name];
    for (const each of profile ?? [name]) {
      const redactor = byName.get(each);
      if (!redactor) throw new UnknownRedactorError(each);
      chosen.add(redactor);
    }
  }
  return [...chosen].map((redactor) => redactor.fork?.() ?? redactor);
}

export { MASK };
