/**
 * prom-text: the Prometheus text exposition format (0.0.4), as ipamd's promhttp handler serves it on :61678/metrics.
 *
 * Reads `ipamd-metrics`: the stock collector's `ipamd/metrics.json` is Prometheus TEXT despite its name (`curl
 * --max-time 3 --silent http://localhost:61678/metrics`), the legacy script's `metrics.out`, and ours.
 *
 * Accepted:
 * - `# HELP name text` (text unescaped: `\\` and `\n`) and `# TYPE name counter|gauge|histogram|summary|untyped`
 *   (OpenMetrics' `unknown`, `info`, `stateset`, `gaugehistogram` too); any other `#` line is a comment.
 * - samples `name{label="value",...} value [timestamp]`: label values unescaped (`\\`, `\"`, `\n`), a trailing comma
 *   and blanks around tokens allowed; values as Go's ParseFloat reads them, `NaN`, `+Inf`, `-Inf` included; the
 *   timestamp in integer milliseconds (a decimal one is OpenMetrics seconds and is converted). A quoted name inside
 *   the braces (`{"name.with.dots",label="v"}`, Prometheus 3 UTF-8 names) is the metric name. OpenMetrics exemplars
 *   (` # {...} 1`) and `# EOF` are skipped.
 * - histogram and summary series: `_bucket`/`_sum`/`_count` (and `quantile` samples) carry the family they belong to
 *   (`family`) and its type, so `awscni_aws_api_latency_ms_sum` is read as part of `awscni_aws_api_latency_ms`.
 * - a curl error written into the file (`curl: (7) Failed to connect to localhost port 61678 ...: Connection
 *   refused`) becomes a `fetch-error` event: the endpoint did not answer. An empty file gives no events.
 * Anything else (a cut line, a label set never closed, a value that is not a number) is `unparsed`.
 *
 * Sample (prom-text.test.ts parses these lines):
 *   # HELP awscni_aws_api_error_count The number of times AWS API returns an error
 *   # TYPE awscni_aws_api_error_count counter
 *   awscni_aws_api_error_count{api="DeleteNetworkInterface",error="InvalidParameterValue"} 14
 *   # TYPE awscni_aws_api_latency_ms summary
 *   awscni_aws_api_latency_ms{api="AssignPrivateIpAddresses",error="false",quantile="0.5"} NaN
 *   awscni_aws_api_latency_ms_sum{api="AssignPrivateIpAddresses",error="false"} 2938
 *   awscni_eni_max 3
 */
import type { Emit, LineEvent, LineParser, ParserDef, UnparsedEvent } from './types.ts';

export type PromMetricType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'summary'
  | 'untyped'
  | 'unknown'
  | 'info'
  | 'stateset'
  | 'gaugehistogram';

export interface PromSampleEvent extends LineEvent {
  kind: 'sample';
  /** The series name as written (`awscni_aws_api_latency_ms_sum`). */
  name: string;
  labels: Record<string, string>;
  /** NaN and ±Infinity included. */
  value: number;
  timestampMs?: number;
  /** The metric family the sample belongs to (`awscni_aws_api_latency_ms`); the name itself when it has no TYPE. */
  family: string;
  /** The family's declared type; `untyped` when no TYPE line declared it. */
  type: PromMetricType;
}

export interface PromHelpEvent extends LineEvent {
  kind: 'help';
  name: string;
  help: string;
}

export interface PromTypeEvent extends LineEvent {
  kind: 'type';
  name: string;
  type: PromMetricType;
}

/** The scrape itself failed and the client wrote its error where the metrics should be. */
export interface PromFetchErrorEvent extends LineEvent {
  kind: 'fetch-error';
  message: string;
}

export type PromTextEvent = PromSampleEvent | PromHelpEvent | PromTypeEvent | PromFetchErrorEvent | UnparsedEvent;

const METRIC_TYPES = new Set<string>([
  'counter',
  'gauge',
  'histogram',
  'summary',
  'untyped',
  'unknown',
  'info',
  'stateset',
  'gaugehistogram',
]);
/** Suffixes of the series a family of each type exposes besides its own name. */
const FAMILY_SUFFIXES: readonly [string, readonly PromMetricType[]][] = [
  ['_bucket', ['histogram', 'gaugehistogram']],
  ['_sum', ['histogram', 'summary']],
  ['_count', ['histogram', 'summary']],
  ['_gsum', ['gaugehistogram']],
  ['_gcount', ['gaugehistogram']],
  ['_created', ['counter', 'histogram', 'summary']],
  ['_total', ['counter']],
  ['_info', ['info']],
];
/** Families remembered for resolving suffixes; a real exposition has a few hundred. */
const MAX_REMEMBERED_FAMILIES = 10_000;

const METRIC_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*/;
const WHOLE_METRIC_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX_FLOAT = /^[+-]?0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const CURL_ERROR = /^curl: \(\d+\)/;

function unparsed(raw: string, line: number, reason: string): UnparsedEvent {
  return { kind: 'unparsed', line, raw, reason };
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

function skipBlanks(text: string, at: number): number {
  let i = at;
  while (i < text.length && isBlank(text.charCodeAt(i))) i++;
  return i;
}

/** A float as Go's strconv.ParseFloat accepts it; undefined when it is not one. */
export function parsePromValue(token: string): number | undefined {
  if (DECIMAL.test(token)) return Number(token);
  const lower = token.toLowerCase();
  const unsigned = lower.startsWith('+') || lower.startsWith('-') ? lower.slice(1) : lower;
  if (unsigned === 'nan') return Number.NaN;
  if (unsigned === 'inf' || unsigned === 'infinity') return lower.startsWith('-') ? -Infinity : Infinity;
  if (HEX_FLOAT.test(token)) return parseHexFloat(token);
  return undefined;
}

function parseHexFloat(token: string): number {
  const negative = token.startsWith('-');
  const body = token.replace(/^[+-]?0[xX]/, '');
  const [mantissa = '', exponent = '0'] = body.split(/[pP]/);
  const [whole = '', fraction = ''] = mantissa.split('.');
  let value = whole === '' ? 0 : Number.parseInt(whole, 16);
  for (let i = 0; i < fraction.length; i++) value += Number.parseInt(fraction.charAt(i), 16) / 16 ** (i + 1);
  value *= 2 ** Number(exponent);
  return negative ? -value : value;
}

/** HELP text: `\\` and `\n` are the escapes; any other backslash stays as written. */
function unescapeHelp(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** A double-quoted string opening at `start`: its value and the index after the closing quote, or why not. */
function readQuoted(text: string, start: number): { value: string; end: number } | string {
  let value = '';
  let from = start + 1;
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) return { value: value + text.slice(from, i), end: i + 1 };
    if (c !== 92 /* \ */) continue;
    const escaped = text.charAt(i + 1);
    if (escaped === '\\' || escaped === '"') value += text.slice(from, i) + escaped;
    else if (escaped === 'n') value += `${text.slice(from, i)}\n`;
    else if (escaped === '') break;
    else return `invalid escape sequence \\${escaped} in a label value`;
    i++;
    from = i + 1;
  }
  return 'label value not closed (line cut short?)';
}

/** Index of the next pair (or the closing brace) after one, or why the label set is malformed. */
function nextPair(raw: string, from: number, what: string): number | string {
  let i = skipBlanks(raw, from);
  if (raw.charCodeAt(i) === 44 /* , */) i = skipBlanks(raw, i + 1);
  else if (i < raw.length && raw.charCodeAt(i) !== 125 /* } */) return `expected "," or "}" after ${what}`;
  return i < raw.length ? i : 'label set not closed (line cut short?)';
}

class PromTextLineParser implements LineParser<PromTextEvent> {
  private readonly types = new Map<string, PromMetricType>();

  push(raw: string, line: number, emit: Emit<PromTextEvent>): void {
    const start = skipBlanks(raw, 0);
    if (start === raw.length) return;
    if (raw.charCodeAt(start) === 35 /* # */) {
      const event = this.readComment(raw, line, start);
      if (event) emit(event);
      return;
    }
    if (CURL_ERROR.test(raw.slice(start))) {
      emit({ kind: 'fetch-error', line, raw, message: raw.slice(start).trim() });
      return;
    }
    emit(this.readSample(raw, line, start));
  }

  private readComment(raw: string, line: number, start: number): PromTextEvent | undefined {
    const match = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(raw.slice(start).replace(/\r$/, ''));
    if (!match) return undefined;
    const [, keyword, name = '', rest = ''] = match;
    if (!WHOLE_METRIC_NAME.test(name) && !/^".*"$/.test(name))
      return unparsed(raw, line, `invalid metric name in # ${keyword}`);
    const metric = name.startsWith('"') ? name.replace(/^"|"$/g, '') : name;
    if (keyword === 'HELP') return { kind: 'help', line, raw, name: metric, help: unescapeHelp(rest) };
    const type = rest.trim();
    if (!METRIC_TYPES.has(type)) {
      return unparsed(raw, line, type === '' ? '# TYPE without a type' : `unknown metric type "${type}"`);
    }
    if (this.types.size < MAX_REMEMBERED_FAMILIES || this.types.has(metric)) {
      this.types.set(metric, type as PromMetricType);
    }
    return { kind: 'type', line, raw, name: metric, type: type as PromMetricType };
  }

  private readSample(raw: string, line: number, start: number): PromTextEvent {
    let i = start;
    let name = '';
    const nameMatch = METRIC_NAME.exec(raw.slice(i));
    if (nameMatch) {
      name = nameMatch[0];
      i += name.length;
    } else if (raw.charCodeAt(i) !== 123 /* { */) {
      return unparsed(raw, line, 'not a metric line (no metric name)');
    }
    const labels: Record<string, string> = {};
    const brace = skipBlanks(raw, i);
    if (raw.charCodeAt(brace) === 123) {
      const read = this.readLabels(raw, brace + 1, labels);
      if (typeof read === 'string') return unparsed(raw, line, read);
      i = read.end;
      if (read.quotedName !== undefined) {
        if (name !== '') return unparsed(raw, line, 'metric name given twice');
        name = read.quotedName;
      }
    }
    if (name === '') return unparsed(raw, line, 'sample without a metric name');
    if (i < raw.length && !isBlank(raw.charCodeAt(i))) {
      return unparsed(raw, line, `unexpected character after the metric name: ${JSON.stringify(raw.charAt(i))}`);
    }
    // Exemplars (OpenMetrics) follow ` # `; they say nothing about the value.
    const hash = raw.indexOf(' #', i);
    const tail = (hash >= 0 ? raw.slice(i, hash) : raw.slice(i)).trim();
    const tokens = tail === '' ? [] : tail.split(/[ \t]+/);
    const [valueToken, timestampToken, extra] = tokens;
    if (valueToken === undefined) return unparsed(raw, line, 'sample without a value');
    if (extra !== undefined) return unparsed(raw, line, 'unexpected text after the timestamp');
    const value = parsePromValue(valueToken);
    if (value === undefined) return unparsed(raw, line, `value is not a number: ${JSON.stringify(valueToken)}`);
    const event: PromSampleEvent = { kind: 'sample', line, raw, name, labels, value, ...this.familyOf(name) };
    if (timestampToken !== undefined) {
      if (INTEGER.test(timestampToken)) event.timestampMs = Number(timestampToken);
      else if (DECIMAL.test(timestampToken)) event.timestampMs = Math.round(Number(timestampToken) * 1000);
      else return unparsed(raw, line, `timestamp is not a number: ${JSON.stringify(timestampToken)}`);
    }
    return event;
  }

  /** Label pairs after `{`, up to the closing `}`. */
  private readLabels(
    raw: string,
    from: number,
    labels: Record<string, string>,
  ): { end: number; quotedName?: string } | string {
    let i = skipBlanks(raw, from);
    let quotedName: string | undefined;
    while (i < raw.length) {
      if (raw.charCodeAt(i) === 125 /* } */) return { end: i + 1, quotedName };
      let labelName: string;
      if (raw.charCodeAt(i) === 34) {
        const quoted = readQuoted(raw, i);
        if (typeof quoted === 'string') return quoted;
        i = skipBlanks(raw, quoted.end);
        if (raw.charCodeAt(i) !== 61 /* = */) {
          if (quotedName !== undefined) return 'two quoted metric names in one label set';
          quotedName = quoted.value;
          const next = nextPair(raw, i, 'the quoted metric name');
          if (typeof next === 'string') return next;
          i = next;
          continue;
        }
        labelName = quoted.value;
      } else {
        const match = LABEL_NAME.exec(raw.slice(i));
        if (!match) return `invalid label name at column ${i + 1}`;
        labelName = match[0];
        i = skipBlanks(raw, i + labelName.length);
      }
      if (raw.charCodeAt(i) !== 61) return `label ${labelName} has no "="`;
      i = skipBlanks(raw, i + 1);
      if (raw.charCodeAt(i) !== 34) return `label ${labelName} has no quoted value`;
      const value = readQuoted(raw, i);
      if (typeof value === 'string') return value;
      if (Object.hasOwn(labels, labelName)) return `label ${labelName} appears twice`;
      // `__proto__` as a label name would replace the prototype of `labels` when assigned.
      if (labelName !== '__proto__') labels[labelName] = value.value;
      const next = nextPair(raw, value.end, `label ${labelName}`);
      if (typeof next === 'string') return next;
      i = next;
    }
    return 'label set not closed (line cut short?)';
  }

  private familyOf(name: string): { family: string; type: PromMetricType } {
    const own = this.types.get(name);
    if (own) return { family: name, type: own };
    for (const [suffix, types] of FAMILY_SUFFIXES) {
      if (!name.endsWith(suffix)) continue;
      const base = name.slice(0, -suffix.length);
      const type = this.types.get(base);
      if (type && types.includes(type)) return { family: base, type };
    }
    return { family: name, type: 'untyped' };
  }
}

export const promTextParser: ParserDef<PromTextEvent> = {
  name: 'prom-text',
  create: () => new PromTextLineParser(),
};
