/**
 * Redactors whose secrets span lines: PEM private key blocks, base64-encoded private keys wrapped over lines,
 * YAML block scalars under a secret key, `--token` / value pairs as separate list elements (container args), and
 * `name: X_PASSWORD` / `value: …` env entries (pod specs, kubectl output). Each keeps a little state between
 * lines; `holding()` tells the stream to show it the next line even when the scan gate would skip it.
 */
import type { Redactor } from './redactors.ts';
import {
  BLOCK_SCALAR,
  groupSpan,
  indentOf,
  isHarmlessValue,
  isSecretKeyName,
  isTokenCount,
  MASK,
  maskSpan,
  openerBefore,
  type Redaction,
  rewrite,
  SECRET_KEY_SCAN,
  unchanged,
  valueSpan,
} from './syntax.ts';

interface LineState {
  apply(line: string): Redaction;
  holding(): boolean;
}

function multiLine(name: string, description: string, scan: readonly string[], create: () => LineState): Redactor {
  const make = (): Redactor => {
    const state = create();
    return { name, description, scan, apply: state.apply, holding: state.holding, fork: make };
  };
  return make();
}

const PEM_BEGIN = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/;
const PEM_END = '-----END';
/** The longest private key (RSA 16384) is under 250 lines; past this the block was not a key. */
const MAX_PEM_LINES = 1000;
const BASE64_CHAR = /[A-Za-z0-9+/=]/;
const BODY_FILLER = new Set([' ', '\t', '"', "'", ',']);

/**
 * Splits a line into its prefix (journal timestamp, YAML indent) and its PEM body part: base64 with blanks,
 * quotes, commas and literal \n escapes (a key inside a JSON string cut into pieces) up to the line's end.
 * Scans backwards by hand: a regex anchored at `$` would retry from every start and go quadratic on long lines.
 */
function splitBody(text: string): { prefix: string; chars: number } {
  let start = text.length;
  let chars = 0;
  while (start > 0) {
    const char = text[start - 1] ?? '';
    if (BASE64_CHAR.test(char)) {
      chars++;
      start--;
    } else if (BODY_FILLER.has(char)) {
      start--;
    } else if (char === '\\' && (text[start] === 'n' || text[start] === 'r' || text[start] === '/')) {
      // `\n` between body lines of a JSON string, `\/` from encoders that escape slashes; an escaped letter was
      // counted as base64 a step ago.
      if (text[start] !== '/') chars--;
      start--;
    } else break;
  }
  // Blanks and quotes between the prefix and the body stay with the prefix.
  while (start < text.length && BODY_FILLER.has(text[start] ?? '')) start++;
  return chars > 0 ? { prefix: text.slice(0, start), chars } : { prefix: text, chars: 0 };
}

/** A prefix with its digits levelled, so journal lines of one block compare equal across timestamps. */
const prefixShape = (prefix: string) => prefix.trim().replace(/[0-9]/g, '0');
const PEM_TAIL_BODY = /^(?:\\[nr]|[ \t"'])*[A-Za-z0-9+/=]{16,}/;
const PEM_HEADER = /^[ \t]*(?:Proc-Type|DEK-Info|Comment):/;

export const pemPrivateKeyRedactor = multiLine(
  'pem-private-key',
  'PEM private key blocks (RSA, EC, OPENSSH, PKCS#8, encrypted, PGP): the BEGIN and END lines stay, the body ' +
    'becomes one mask line. Also keys on one line with literal \\n (JSON strings). Certificates stay.',
  ['private key'],
  () => {
    let open = false;
    let maskShown = false;
    let lines = 0;
    /** What stood before BEGIN (a journal prefix): body lines with the same prefix are body however short. */
    let beginShape = '';

    const startBlocks = (line: string): Redaction => {
      let out = '';
      let rest = line;
      let count = 0;
      for (;;) {
        const begin = PEM_BEGIN.exec(rest);
        if (!begin) return { line: out + rest, count };
        const afterBegin = begin.index + begin[0].length;
        out += rest.slice(0, afterBegin);
        const end = rest.indexOf(PEM_END, afterBegin);
        if (end !== -1) {
          const body = rest.slice(afterBegin, end);
          if (isHarmlessValue(body)) out += body;
          else {
            out += MASK;
            count++;
          }
          rest = rest.slice(end);
          continue;
        }
        // The body goes on over the next lines; what follows BEGIN here is its first part, if anything.
        const tail = rest.slice(afterBegin);
        open = true;
        lines = 0;
        beginShape = prefixShape(out.slice(0, out.length - begin[0].length));
        // Key material right after BEGIN (a JSON string with \n escapes) is masked; anything else (`" failed` in a
        // grep line) stays, and the next line decides whether a body follows.
        maskShown = PEM_TAIL_BODY.test(tail);
        if (!maskShown || isHarmlessValue(tail)) return { line: out + tail, count };
        return { line: out + MASK, count: count + 1 };
      }
    };

    const continueBlock = (line: string): Redaction => {
      lines++;
      const end = line.indexOf(PEM_END);
      if (end !== -1) {
        open = false;
        const { prefix, chars } = splitBody(line.slice(0, end));
        const masked = chars > 0 && !maskShown;
        const after = startBlocks(line.slice(end));
        return { line: prefix + (masked ? MASK : '') + after.line, count: after.count + (masked ? 1 : 0) };
      }
      if (lines > MAX_PEM_LINES) {
        open = false;
        return startBlocks(line);
      }
      if (line.trim() === '' || PEM_HEADER.test(line)) return unchanged(line);
      const { prefix, chars } = splitBody(line);
      const isBody = chars > 0 && (chars >= 16 || prefix.trim() === '' || prefixShape(prefix) === beginShape);
      if (!isBody) {
        // Not base64: whatever opened the block was a mention, not a key.
        open = false;
        return startBlocks(line);
      }
      if (maskShown) return { line: null, count: 0 };
      maskShown = true;
      return { line: prefix + MASK, count: 1 };
    };

    return {
      apply: (line) => (open ? continueBlock(line) : startBlocks(line)),
      holding: () => open,
    };
  },
);

/** base64 of "-----BEGIN": how every base64-encoded PEM document starts. */
const B64_PEM = /(?<![A-Za-z0-9+/])(?<run>LS0tLS1CRUdJTi[A-Za-z0-9+/]*={0,2})/dg;
const B64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;

export const pemPrivateKeyBase64Redactor = multiLine(
  'pem-private-key-base64',
  'base64-encoded PEM documents that hold a private key (kubeconfig client-key-data, Secret data, user-data ' +
    'files), also when wrapped over lines; encoded certificates stay.',
  ['ls0tls1crudjti'],
  () => {
    /** A wrapped base64 PEM document whose lines are still coming. */
    let wrapped: { carry: string; tail: string; masking: boolean } | null = null;

    const decodedText = (chars: string) => Buffer.from(chars, 'base64').toString('latin1');

    const continueWrapped = (line: string): Redaction | null => {
      const state = wrapped;
      const run = line.trim();
      if (!state || !B64_LINE.test(run)) {
        wrapped = null;
        return null;
      }
      if (run.endsWith('=')) wrapped = null;
      if (state.masking) return { line: null, count: 0 };
      const all = state.carry + run;
      const usable = all.length - (all.length % 4);
      const text = state.tail + decodedText(all.slice(0, usable));
      state.carry = all.slice(usable);
      if (text.includes('PRIVATE KEY')) {
        state.masking = true;
        return { line: indentOf(line) + MASK, count: 1 };
      }
      state.tail = text.slice(-40);
      return unchanged(line);
    };

    const apply = (line: string): Redaction => {
      const continued = wrapped ? continueWrapped(line) : null;
      if (continued) return continued;
      return rewrite(line, B64_PEM, (match) => {
        const span = groupSpan(match, 'run');
        if (!span) return null;
        const run = line.slice(span.start, span.end);
        const decoded = decodedText(run);
        const lastOnLine = line.slice(span.end).trim() === '';
        const mayContinue = lastOnLine && !run.endsWith('=') && run.length % 4 === 0 && run.length >= 60;
        if (decoded.includes('PRIVATE KEY')) {
          if (mayContinue) wrapped = { carry: '', tail: '', masking: true };
          return span;
        }
        if (mayContinue) wrapped = { carry: '', tail: decoded.slice(-40), masking: false };
        return null;
      });
    };

    return { apply, holding: () => wrapped !== null };
  },
);

const FLAG = /(?<![A-Za-z0-9_-])(?<dashes>--?)(?<key>[A-Za-z][A-Za-z0-9_.-]*)/dg;
const LIST_FLAG_LINE = /^[ \t]*(?:-[ \t]+)?\\{0,7}["']?--?[A-Za-z][A-Za-z0-9_.-]*\\{0,7}["']?[ \t]*,?[ \t]*$/;
const ELEMENT_SEPARATOR = /[ \t]*,[ \t]*/y;
const GAP = /[ \t]+/y;
const LIST_ELEMENT = /^[ \t]*(?:-[ \t]+)?/;

/** The value of a list element line (`- abc`, `"abc",`) that follows a lone secret flag element. */
function listElementValue(line: string): Redaction | null {
  const start = LIST_ELEMENT.exec(line)?.[0].length ?? 0;
  const first = line[start];
  if (first === undefined || first === '-' || first === ']' || first === '}' || first === '#') return null;
  const span = valueSpan(line, start, 'rest');
  if (line[span.end - 1] === ',' && first !== '"' && first !== "'") span.end--;
  return maskSpan(line, span);
}

export const secretFlagRedactor = multiLine(
  'secret-flag',
  'Command-line flags that name a secret: --password=x, --password x, --token x, --discovery-token x, ' +
    '"--token", "x" in JSON argv arrays and "- --token" / "- x" in YAML ones. Flags for files, TTLs and public ' +
    'hashes (--token-ttl, --discovery-token-ca-cert-hash) and --b64-cluster-ca keep their values.',
  SECRET_KEY_SCAN,
  () => {
    let pending = false;
    const apply = (line: string): Redaction => {
      if (pending) {
        pending = false;
        const value = listElementValue(line);
        if (value) return value;
      }
      const result = rewrite(line, FLAG, (match) => {
        const key = groupSpan(match, 'key');
        const dashes = groupSpan(match, 'dashes');
        if (!key || !dashes || !isSecretKeyName(line.slice(key.start, key.end))) return null;
        const opener = openerBefore(line, dashes.start);
        let at = key.end;
        if (line[at] === '=') {
          const span = valueSpan(line, at + 1, 'word', opener);
          return isTokenCount(line.slice(key.start, key.end), line.slice(span.start, span.end)) ? null : span;
        }
        if (opener && line.startsWith(opener, at)) {
          at += opener.length;
          ELEMENT_SEPARATOR.lastIndex = at;
          const separator = ELEMENT_SEPARATOR.exec(line);
          const next = separator ? at + separator[0].length : at;
          if (next >= line.length || line.slice(next).trim() === '') {
            pending = LIST_FLAG_LINE.test(line);
            return null;
          }
          return separator ? valueSpan(line, next, 'word') : null;
        }
        GAP.lastIndex = at;
        const gap = GAP.exec(line);
        if (gap) {
          const start = at + gap[0].length;
          if (start >= line.length || line[start] === '-') return null;
          return valueSpan(line, start, 'word');
        }
        if (at === line.length) pending = LIST_FLAG_LINE.test(line);
        return null;
      });
      return result;
    };
    return { apply, holding: () => pending };
  },
);

const JSON_KEY = /(?<quote>\\{0,7}["'])(?<key>[A-Za-z_$@][A-Za-z0-9_.$@-]*)\k<quote>[ \t]*:[ \t]*/dg;
const YAML_KEY = /^(?<indent>[ \t]*)(?:-[ \t]+)?(?<key>[A-Za-z_][A-Za-z0-9_.-]*)[ \t]*:(?:[ \t]+|$)/d;

export const secretFieldRedactor = multiLine(
  'secret-field',
  'JSON fields ("password": "x", also inside escaped JSON strings) and YAML keys (password: x, and block ' +
    'scalars password: | …) whose key names a secret.',
  SECRET_KEY_SCAN,
  () => {
    /** Indent of the key line of an open YAML block scalar, and whether its mask line was written. */
    let block: { indent: number; shown: boolean } | null = null;

    const fields = (line: string): Redaction => {
      const json = rewrite(line, JSON_KEY, (match) => {
        const key = groupSpan(match, 'key');
        if (!key || !isSecretKeyName(line.slice(key.start, key.end))) return null;
        const start = match.index + match[0].length;
        if (!/^\\*["']/.test(line.slice(start, start + 8))) return null;
        const span = valueSpan(line, start, 'word');
        return isTokenCount(line.slice(key.start, key.end), line.slice(span.start, span.end)) ? null : span;
      });
      const text = json.line ?? line;
      const yaml = YAML_KEY.exec(text);
      const key = yaml ? groupSpan(yaml, 'key') : null;
      if (!yaml || !key || !isSecretKeyName(text.slice(key.start, key.end))) return json;
      const start = yaml.index + yaml[0].length;
      const rest = text.slice(start).trim();
      if (rest === '') return json;
      if (BLOCK_SCALAR.test(rest)) {
        block = { indent: (yaml.groups?.indent ?? '').length, shown: false };
        return json;
      }
      const span = valueSpan(text, start, 'rest');
      if (isTokenCount(text.slice(key.start, key.end), text.slice(span.start, span.end))) return json;
      const masked = maskSpan(text, span);
      return { line: masked.line, count: json.count + masked.count };
    };

    const apply = (line: string): Redaction => {
      if (block) {
        if (line.trim() === '') return unchanged(line);
        const indent = indentOf(line).length;
        if (indent > block.indent) {
          if (block.shown) return { line: null, count: 0 };
          block.shown = true;
          if (isHarmlessValue(line)) return unchanged(line);
          return { line: indentOf(line) + MASK, count: 1 };
        }
        block = null;
      }
      return fields(line);
    };
    return { apply, holding: () => block !== null };
  },
);

const COMPACT_PAIR =
  /(?<q>\\{0,7})"name\k<q>"[ \t]*:[ \t]*\k<q>"(?<key>[^"\\]+)\k<q>"[ \t]*,[ \t]*\k<q>"value\k<q>"[ \t]*:[ \t]*(?=\k<q>")/dg;
const NAME_LINE =
  /^[ \t]*(?:-[ \t]+)?(?<q>\\{0,7}["']?)name\k<q>[ \t]*:[ \t]*(?<vq>["']?)(?<key>[A-Za-z_][\w.-]*)\k<vq>[ \t]*,?[ \t]*$/d;
const VALUE_LINE = /^[ \t]*(?<q>["']?)value\k<q>[ \t]*:[ \t]*/;

export const envNameValueRedactor = multiLine(
  'env-name-value',
  'Environment entries written as name/value pairs (pod specs from the API server, kubectl JSON and YAML, ' +
    'last-applied-configuration): the value of an entry whose name names a secret. valueFrom references stay.',
  SECRET_KEY_SCAN,
  () => {
    let pending = false;
    const apply = (line: string): Redaction => {
      if (pending) {
        pending = false;
        const value = VALUE_LINE.exec(line);
        if (value) {
          const start = value[0].length;
          const span = valueSpan(line, start, 'rest');
          if (line[span.end - 1] === ',' && !/^["']/.test(line.slice(start))) span.end--;
          return maskSpan(line, span);
        }
      }
      const compact = rewrite(line, COMPACT_PAIR, (match) => {
        const key = groupSpan(match, 'key');
        if (!key || !isSecretKeyName(line.slice(key.start, key.end))) return null;
        return valueSpan(line, match.index + match[0].length, 'word');
      });
      const named = NAME_LINE.exec(line);
      const key = named ? groupSpan(named, 'key') : null;
      if (key && isSecretKeyName(line.slice(key.start, key.end))) pending = true;
      return compact;
    };
    return { apply, holding: () => pending };
  },
);
