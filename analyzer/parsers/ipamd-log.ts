/**
 * ipamd-log: the VPC CNI's own logs under /var/log/aws-routed-eni/.
 *
 * Reads `ipamd-log` (ipamd.log), `plugin-log` (plugin.log) and `network-policy-agent-log`; the same shapes appear
 * in egress-v4/v6-plugin.log and ebpf-sdk.log.
 *
 * Layouts accepted:
 * - v1.6 and later: one zap JSON object per line (`pkg/utils/logger/zaplogger.go`, ISO 8601 time encoder) with
 *   `level`, `ts`, `caller`, `msg` and any extra fields. A numeric `ts` (zap's epoch encoder) becomes ISO 8601.
 * - before v1.6: seelog text `%UTCDate(2006-01-02T15:04:05Z07:00) [%LEVEL] %Msg`, levels TRACE, DEBUG, INFO, WARN,
 *   ERROR, CRITICAL (lower-cased here).
 * Anything else (a JSON value that is not an object, an object without a string `msg`, a line cut short by the
 * reader, a continuation of a multi-line seelog message) is `unparsed`.
 *
 * Sample (ipamd-log.test.ts parses these lines):
 *   {"level":"info","ts":"2026-06-08T02:50:18.473Z","caller":"ipamd/ipamd.go:1316","msg":"Added ENI(eni-09ab)'s IP/Prefix 10.141.86.239/32 to datastore"}
 *   {"level":"error","ts":"2024-10-30T21:32:54.531Z","caller":"datastore/data_store.go:607","msg":"DataStore has no available IP/Prefix addresses"}
 *   {"level":"info","ts":"2024-11-02T10:00:01.002Z","logger":"ebpf-client","caller":"ebpf/bpf_client.go:310","msg":"Attached ingress probe","podName":"coredns-6799fbcd5-ss7tc","attempt":2}
 *   2018-06-15T02:26:38Z [INFO] Received CNI add request: ContainerID(6397e2) Netns(/proc/4321/ns/net) IfName(eth0)
 */

import type { Emit, LineEvent, LineParser, ParserDef, UnparsedEvent } from './types.ts';

export type IpamdLogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal' | (string & Record<never, never>);

export interface IpamdLogEntry extends LineEvent {
  kind: 'entry';
  /** Lower-cased (`info`, `warn`, …); empty when the line has none. */
  level: IpamdLogLevel;
  /** As written (ISO 8601), or converted from zap's numeric epoch seconds. */
  ts?: string;
  /** `ipamd/ipamd.go:1316`; absent in seelog lines. */
  caller?: string;
  msg: string;
  /** Every other JSON key (`logger`, `error`, `podName`, …); empty for seelog lines. */
  fields: Record<string, unknown>;
}

export type IpamdLogEvent = IpamdLogEntry | UnparsedEvent;

const RESERVED_KEYS = new Set(['level', 'ts', 'caller', 'msg']);
const KNOWN_LEVELS = new Set(['debug', 'info', 'warn', 'error', 'dpanic', 'panic', 'fatal', 'trace', 'critical']);
/** Shared by every line without extra fields, so those lines allocate no object for them. */
const NO_FIELDS: Record<string, unknown> = Object.freeze({});

function normalizeLevel(level: string): string {
  if (KNOWN_LEVELS.has(level)) return level;
  const lower = level.toLowerCase();
  return lower === 'warning' ? 'warn' : lower;
}

function unparsed(raw: string, line: number, reason: string): UnparsedEvent {
  return { kind: 'unparsed', line, raw, reason };
}

function isWhitespace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

function readJsonLine(raw: string, line: number, start: number, end: number): IpamdLogEvent {
  // A cut-off line (reader cap, truncated file) ends without its closing brace: say so rather than "invalid JSON".
  if (raw.charCodeAt(end - 1) !== 125 /* } */) return unparsed(raw, line, 'JSON line cut short (no closing brace)');
  let value: unknown;
  try {
    value = JSON.parse(start === 0 && end === raw.length ? raw : raw.slice(start, end));
  } catch {
    return unparsed(raw, line, 'invalid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return unparsed(raw, line, 'JSON value is not an object');
  }
  const record = value as Record<string, unknown>;
  const msg = record.msg;
  if (typeof msg !== 'string') return unparsed(raw, line, 'JSON object without a string "msg"');
  const entry: IpamdLogEntry = {
    kind: 'entry',
    line,
    raw,
    level: typeof record.level === 'string' ? normalizeLevel(record.level) : '',
    msg,
    fields: NO_FIELDS,
  };
  const ts = record.ts;
  if (typeof ts === 'string') entry.ts = ts;
  else if (typeof ts === 'number' && Number.isFinite(ts)) {
    const date = new Date(Math.round(ts * 1000));
    if (!Number.isNaN(date.getTime())) entry.ts = date.toISOString();
  }
  if (typeof record.caller === 'string') entry.caller = record.caller;
  for (const key in record) {
    // `__proto__` as an own JSON key would replace the prototype of `fields` when assigned.
    if (RESERVED_KEYS.has(key) || key === '__proto__') continue;
    if (entry.fields === NO_FIELDS) entry.fields = {};
    entry.fields[key] = record[key];
  }
  return entry;
}

const NOT_A_LOG_LINE = 'neither a JSON object nor a seelog "<time> [LEVEL] message" line';

/** Only called for lines already known not to be log lines, so the parse cost does not matter. */
function isJsonValue(raw: string): boolean {
  try {
    JSON.parse(raw);
    return true;
  } catch {
    return false;
  }
}

/** `2018-06-15T02:26:38Z [INFO] message`; the timestamp is checked by shape only. */
function readSeelogLine(raw: string, line: number, start: number): IpamdLogEvent {
  const bracket = raw.indexOf(' [', start);
  // An ISO timestamp is 20 (`…Z`) to 35 (fraction and `+00:00`) characters; a later bracket belongs to other text.
  const shaped = raw.charCodeAt(start + 4) === 45 && raw.charCodeAt(start + 10) === 84;
  if (!shaped || bracket < start + 19 || bracket > start + 35) return unparsed(raw, line, NOT_A_LOG_LINE);
  const levelEnd = raw.indexOf(']', bracket + 2);
  if (levelEnd < 0 || levelEnd - bracket > 12) return unparsed(raw, line, NOT_A_LOG_LINE);
  const level = normalizeLevel(raw.slice(bracket + 2, levelEnd));
  const msgStart = raw.charCodeAt(levelEnd + 1) === 32 ? levelEnd + 2 : levelEnd + 1;
  return {
    kind: 'entry',
    line,
    raw,
    level,
    ts: raw.slice(start, bracket),
    msg: raw.slice(msgStart),
    fields: NO_FIELDS,
  };
}

class IpamdLogLineParser implements LineParser<IpamdLogEvent> {
  push(raw: string, line: number, emit: Emit<IpamdLogEvent>): void {
    let start = 0;
    let end = raw.length;
    while (start < end && isWhitespace(raw.charCodeAt(start))) start++;
    while (end > start && isWhitespace(raw.charCodeAt(end - 1))) end--;
    if (start === end) {
      emit(unparsed(raw, line, 'empty line'));
      return;
    }
    const first = raw.charCodeAt(start);
    if (first === 123 /* { */) {
      emit(readJsonLine(raw, line, start, end));
      return;
    }
    const seelog = first >= 48 && first <= 57 ? readSeelogLine(raw, line, start) : undefined;
    if (seelog?.kind === 'entry') emit(seelog);
    else emit(unparsed(raw, line, isJsonValue(raw) ? 'JSON value is not an object' : NOT_A_LOG_LINE));
  }
}

export const ipamdLogParser: ParserDef<IpamdLogEvent> = {
  name: 'ipamd-log',
  create: () => new IpamdLogLineParser(),
};
