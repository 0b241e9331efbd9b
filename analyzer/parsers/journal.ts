/**
 * journal: systemd journal text (journalctl output) and syslog files, with klog decoding of kubelet messages.
 *
 * Reads `kubelet-log` (kubelet/kubelet.log: the stock collector's `journalctl --unit=kubelet`, our agent's
 * `-o short-iso`), `containerd-log`, `system-messages` (var_log/messages) and `system-syslog`.
 *
 * Line layouts accepted (timestamp, then an optional host, then `identifier[pid]: message`):
 * - journalctl `short`: `Nov 20 08:41:07 host kubelet[3412]: …`; `short-precise` adds `.123456` to the seconds.
 *   The day is zero-padded (`Nov 05`). The time is the node's local time; EKS nodes run in UTC.
 * - journalctl `short-iso`: `2026-11-20T08:41:07+0000` up to systemd 254, `+00:00` from systemd 255 (PR #29134);
 *   `short-iso-precise`: `2026-11-20T08:41:07.123456+0000` / `+00:00`. Both zone forms are read in both modes.
 * - rsyslog's traditional file format, the default of /var/log/messages on AL2 and Ubuntu: `Nov  5 08:41:07 ip-10-0-1-23
 *   kubelet: …` (day space-padded, short host name, often no pid); rsyslog's RFC 3339 file format
 *   (`2026-11-20T08:41:07.123456+00:00 host tag: …`); and `<PRI>`-prefixed RFC 3164 / RFC 5424 lines.
 * - journalctl's own lines: `-- No entries --`, `-- Logs begin at … --`, `-- Journal begins at … --`,
 *   `-- Boot 3f2… --`, `-- Reboot --` become `meta` events.
 * - `--no-hostname` output (no host token) and the `unknown` identifier journalctl prints when there is none.
 *
 * Kubelet messages carry a klog header (`I1120 08:41:07.123456    3412 prober.go:107] `, thread id right-aligned in
 * seven columns), decoded into `klog`; `text` is what follows it. `parseStructured` decodes the structured part
 * (`"Probe failed" probeType="Liveness" …`); rules call it only on lines that passed their substring prefilter.
 *
 * klog writes a multi-line value as `key=<`, tab-indented lines, then ` >`. journald splits kubelet's stderr at
 * line breaks, so those lines arrive as separate entries: with their indent stripped by journald before systemd 228
 * (AL2 ships 219), kept since (AL2023), journalctl printing each tab as eight spaces. Entries that continue such a
 * value carry `continuationOf`: the line number of the entry that opened it.
 *
 * Sample (journal.test.ts parses these lines):
 *   -- Logs begin at Mon 2026-11-09 08:00:01 UTC, end at Fri 2026-11-20 08:41:09 UTC. --
 *   Nov 20 08:41:07 ip-10-0-1-23.ec2.internal kubelet[3412]: I1120 08:41:07.123456    3412 prober.go:107] "Probe failed" probeType="Liveness" pod="kube-system/aws-node-7xk2p" podUID="0b5a2c1e-8f3d-4e2a-9c61-2f0d1e7a9b44" containerName="aws-node" probeResult="failure" output="timeout: failed to connect service \":50051\" within 5s"
 *   Nov 20 08:41:07 ip-10-0-1-23.ec2.internal kubelet[3412]: I1120 08:41:07.124001    3412 kuberuntime_manager.go:1027] "Message for Container of pod" containerName="aws-node" containerStatusID={"Type":"containerd","ID":"7f9c"} pod="kube-system/aws-node-7xk2p" containerMessage="Container aws-node failed liveness probe, will be restarted"
 *   2026-11-20T08:41:08+0000 ip-10-0-1-23.ec2.internal containerd[2901]: time="2026-11-20T08:41:08.000000000Z" level=info msg="StopContainer for \"7f9c\" with timeout 30 (s)"
 *   Nov 20 08:41:09 ip-10-0-1-23 kernel: IPv6: ADDRCONF(NETDEV_CHANGE): eni3a1b2c3d4e5: link becomes ready
 */

import type { Emit, LineEvent, LineParser, ParseContext, ParserDef, UnparsedEvent } from './types.ts';

export interface KlogHeader {
  severity: 'I' | 'W' | 'E' | 'F';
  month: number;
  day: number;
  /** As written, e.g. `08:41:07.123456`. */
  time: string;
  thread: number;
  file: string;
  fileLine: number;
}

export interface JournalEntry extends LineEvent {
  kind: 'entry';
  /** Exactly as written at the start of the line. */
  timestamp: string;
  /**
   * When the year is known: ISO layouts, or `short`/syslog with `ParseContext.referenceTime` or `referenceYear`.
   * Timestamps without a zone are taken as UTC.
   */
  epochMs?: number;
  host?: string;
  ident: string;
  pid?: number;
  /** Everything after `ident[pid]: `. */
  message: string;
  /** When the message starts with a klog header. */
  klog?: KlogHeader;
  /** The klog message body after `] `, or the whole message when there is no klog header. */
  text: string;
  /** Set on entries that continue a klog multi-line value (`key=<`): the line of the entry that opened it. */
  continuationOf?: number;
}

export interface JournalMeta extends LineEvent {
  kind: 'meta';
  /** The line without its `-- ` / ` --` frame, e.g. `No entries`, `Boot 3f2…`. */
  text: string;
}

export type JournalEvent = JournalEntry | JournalMeta | UnparsedEvent;

const CHAR_SPACE = 32;
const CHAR_TAB = 9;
const CHAR_0 = 48;
const DAY_MS = 86_400_000;

/** Month abbreviations (C locale) keyed by their three char codes packed into one number. */
const MONTH_BY_CODE = new Map<number, number>(
  ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].map((name, index) => [
    (name.charCodeAt(0) << 16) | (name.charCodeAt(1) << 8) | name.charCodeAt(2),
    index + 1,
  ]),
);

function digitAt(s: string, i: number): number {
  const d = s.charCodeAt(i) - CHAR_0;
  return d >= 0 && d <= 9 ? d : -1;
}

/** Two digits at i as a number, or -1. */
function twoDigits(s: string, i: number): number {
  const a = digitAt(s, i);
  const b = digitAt(s, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

function monthAt(s: string, i: number): number {
  if (i + 3 > s.length) return 0;
  return MONTH_BY_CODE.get((s.charCodeAt(i) << 16) | (s.charCodeAt(i + 1) << 8) | s.charCodeAt(i + 2)) ?? 0;
}

/** The fields of one timestamp; a parser reuses a single instance so that reading a line allocates nothing here. */
interface Stamp {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millis: number;
  /** Minutes east of UTC; 0 for layouts without a zone, which are taken as UTC. */
  offsetMinutes: number;
}

/** `HH:MM:SS` with an optional `.fraction`; returns the index after it, or -1. */
function readClock(s: string, i: number, st: Stamp): number {
  const hour = twoDigits(s, i);
  const minute = twoDigits(s, i + 3);
  const second = twoDigits(s, i + 6);
  if (hour < 0 || minute < 0 || second < 0 || s.charCodeAt(i + 2) !== 58 || s.charCodeAt(i + 5) !== 58) return -1;
  st.hour = hour;
  st.minute = minute;
  st.second = second;
  st.millis = 0;
  let j = i + 8;
  if (s.charCodeAt(j) === 46 /* . */ && digitAt(s, j + 1) >= 0) {
    j++;
    let scale = 100;
    for (let d = digitAt(s, j); d >= 0; d = digitAt(s, ++j)) {
      st.millis += d * scale;
      scale /= 10;
    }
    st.millis = Math.floor(st.millis);
  }
  return j;
}

/** `Nov 20 08:41:07`, `Nov  5 08:41:07`, `Nov 5 08:41:07`, each with an optional fraction. */
function readSyslogStamp(s: string, i: number, st: Stamp): number {
  const month = monthAt(s, i);
  if (month === 0 || s.charCodeAt(i + 3) !== CHAR_SPACE) return -1;
  let j = i + 4;
  if (s.charCodeAt(j) === CHAR_SPACE) j++;
  let day = digitAt(s, j);
  if (day < 0) return -1;
  j++;
  const second = digitAt(s, j);
  if (second >= 0) {
    day = day * 10 + second;
    j++;
  }
  if (s.charCodeAt(j) !== CHAR_SPACE) return -1;
  st.month = month;
  st.day = day;
  st.offsetMinutes = 0;
  return readClock(s, j + 1, st);
}

/** `2026-11-20T08:41:07[.ffffff][Z|+0000|+00:00]`. */
function readIsoStamp(s: string, i: number, st: Stamp): number {
  const century = twoDigits(s, i);
  const yy = twoDigits(s, i + 2);
  const month = twoDigits(s, i + 5);
  const day = twoDigits(s, i + 8);
  if (century < 0 || yy < 0 || month < 0 || day < 0) return -1;
  if (s.charCodeAt(i + 4) !== 45 || s.charCodeAt(i + 7) !== 45 || s.charCodeAt(i + 10) !== 84 /* T */) return -1;
  st.year = century * 100 + yy;
  st.month = month;
  st.day = day;
  let j = readClock(s, i + 11, st);
  if (j < 0) return -1;
  st.offsetMinutes = 0;
  const c = s.charCodeAt(j);
  if (c === 90 /* Z */) return j + 1;
  if (c === 43 /* + */ || c === 45 /* - */) {
    const hours = twoDigits(s, j + 1);
    const colon = s.charCodeAt(j + 3) === 58 ? 1 : 0;
    const minutes = twoDigits(s, j + 3 + colon);
    if (hours < 0 || minutes < 0) return -1;
    st.offsetMinutes = (c === 45 ? -1 : 1) * (hours * 60 + minutes);
    j += 5 + colon;
  }
  return j;
}

function stampInRange(st: Stamp): boolean {
  return (
    st.month >= 1 &&
    st.month <= 12 &&
    st.day >= 1 &&
    st.day <= 31 &&
    st.hour <= 23 &&
    st.minute <= 59 &&
    st.second <= 60 &&
    Math.abs(st.offsetMinutes) <= 18 * 60
  );
}

function epochOf(st: Stamp, year: number): number {
  return Date.UTC(year, st.month - 1, st.day, st.hour, st.minute, st.second, st.millis) - st.offsetMinutes * 60_000;
}

const KLOG_SEVERITIES = 'IWEF';

/**
 * Reads a klog header at the start of `message`; returns the index where the body starts, or -1. Scans forward
 * only, never further than the header itself, so a message without a header costs a few character checks.
 */
function readKlogHeader(message: string, out: { klog?: KlogHeader }): number {
  const severity = message.charAt(0);
  if (message.length < 22 || !KLOG_SEVERITIES.includes(severity)) return -1;
  const month = twoDigits(message, 1);
  const day = twoDigits(message, 3);
  if (month < 1 || month > 12 || day < 1 || day > 31 || message.charCodeAt(5) !== CHAR_SPACE) return -1;
  let j = 6;
  // Clock: HH:MM:SS.ffffff, digits checked loosely; the header is recognised by its whole shape.
  if (twoDigits(message, j) < 0 || message.charCodeAt(j + 2) !== 58 || message.charCodeAt(j + 5) !== 58) return -1;
  j += 8;
  if (message.charCodeAt(j) === 46) {
    j++;
    while (digitAt(message, j) >= 0) j++;
  }
  const timeEnd = j;
  if (message.charCodeAt(j) !== CHAR_SPACE) return -1;
  while (message.charCodeAt(j) === CHAR_SPACE) j++;
  let thread = 0;
  const threadStart = j;
  for (let d = digitAt(message, j); d >= 0 && j - threadStart < 10; d = digitAt(message, ++j)) thread = thread * 10 + d;
  if (j === threadStart || message.charCodeAt(j) !== CHAR_SPACE) return -1;
  const fileStart = ++j;
  let colon = -1;
  for (; j < message.length; j++) {
    const c = message.charCodeAt(j);
    if (c === 58) colon = j;
    else if (c === 93 /* ] */ || c === CHAR_SPACE) break;
  }
  if (message.charCodeAt(j) !== 93 || colon <= fileStart || colon + 1 === j) return -1;
  let fileLine = 0;
  for (let k = colon + 1; k < j; k++) {
    const d = digitAt(message, k);
    if (d < 0) return -1;
    fileLine = fileLine * 10 + d;
  }
  out.klog = {
    severity: severity as KlogHeader['severity'],
    month,
    day,
    time: message.slice(6, timeEnd),
    thread,
    file: message.slice(fileStart, colon),
    fileLine,
  };
  j++;
  return message.charCodeAt(j) === CHAR_SPACE ? j + 1 : j;
}

/** True for the line that closes a klog multi-line value: ` >` (or `>` once journald stripped it), maybe more pairs. */
function closesMultilineValue(message: string): boolean {
  let i = 0;
  while (message.charCodeAt(i) === CHAR_SPACE || message.charCodeAt(i) === CHAR_TAB) i++;
  return message.charCodeAt(i) === 62 /* > */ && (i + 1 === message.length || message.charCodeAt(i + 1) === CHAR_SPACE);
}

function opensMultilineValue(text: string): boolean {
  return text.endsWith('=<');
}

function unparsed(raw: string, line: number, reason: string): UnparsedEvent {
  return { kind: 'unparsed', line, raw, reason };
}

class JournalLineParser implements LineParser<JournalEvent> {
  private readonly stamp: Stamp = {
    year: 0,
    month: 0,
    day: 0,
    hour: 0,
    minute: 0,
    second: 0,
    millis: 0,
    offsetMinutes: 0,
  };
  private readonly klogSlot: { klog?: KlogHeader } = {};
  private readonly referenceYear: number | undefined;
  private readonly referenceTime: number | undefined;
  /** The klog entry whose multi-line value is still open, with the process that wrote it. */
  private openValue: { line: number; ident: string; pid: number | undefined } | undefined;

  constructor(context: ParseContext | undefined) {
    const time = context?.referenceTime;
    this.referenceTime = time !== undefined && Number.isFinite(time) ? time : undefined;
    this.referenceYear =
      this.referenceTime !== undefined ? new Date(this.referenceTime).getUTCFullYear() : context?.referenceYear;
  }

  push(raw: string, line: number, emit: Emit<JournalEvent>): void {
    const length = raw.length;
    if (length === 0) {
      emit(unparsed(raw, line, 'empty line'));
      return;
    }
    const first = raw.charCodeAt(0);
    if (first === 45 /* - */ && raw.startsWith('-- ')) {
      const end = raw.endsWith(' --') && length >= 6 ? length - 3 : length;
      emit({ kind: 'meta', line, raw, text: raw.slice(3, end).trim() });
      return;
    }
    if (first === CHAR_SPACE || first === CHAR_TAB) {
      emit(
        unparsed(raw, line, raw.trim() === '' ? 'empty line' : 'indented line: continuation of a multi-line message'),
      );
      return;
    }

    let pos = 0;
    let rfc5424 = false;
    if (first === 60 /* < */) {
      // Syslog priority as sent on the wire: <PRI>, then RFC 3164 (`Nov 20 …`) or RFC 5424 (`1 2026-…`).
      let j = 1;
      while (j < 5 && digitAt(raw, j) >= 0) j++;
      if (j === 1 || raw.charCodeAt(j) !== 62) {
        emit(unparsed(raw, line, 'no recognisable timestamp at line start'));
        return;
      }
      pos = j + 1;
      if (raw.charCodeAt(pos) === 49 /* 1 */ && raw.charCodeAt(pos + 1) === CHAR_SPACE) {
        rfc5424 = true;
        pos += 2;
      }
    }

    const st = this.stamp;
    const iso = digitAt(raw, pos) >= 0;
    const stampEnd = iso ? readIsoStamp(raw, pos, st) : readSyslogStamp(raw, pos, st);
    if (stampEnd < 0) {
      emit(unparsed(raw, line, 'no recognisable timestamp at line start'));
      return;
    }
    if (!stampInRange(st)) {
      emit(unparsed(raw, line, 'timestamp out of range'));
      return;
    }
    if (raw.charCodeAt(stampEnd) !== CHAR_SPACE) {
      emit(unparsed(raw, line, stampEnd === length ? 'timestamp without a message' : 'no space after the timestamp'));
      return;
    }
    const timestamp = raw.slice(pos, stampEnd);
    const epochMs = iso ? epochOf(st, st.year) : this.syslogEpoch(st);

    const entry = rfc5424
      ? this.readRfc5424Rest(raw, line, stampEnd + 1)
      : this.readIdentAndMessage(raw, line, stampEnd + 1);
    if (typeof entry === 'string') {
      emit(unparsed(raw, line, entry));
      return;
    }
    entry.timestamp = timestamp;
    if (epochMs !== undefined) entry.epochMs = epochMs;
    this.decodeKlog(entry);
    emit(entry);
  }

  private syslogEpoch(st: Stamp): number | undefined {
    const year = this.referenceYear;
    if (year === undefined) return undefined;
    const epochMs = epochOf(st, year);
    // A line cannot postdate the file holding it; the day of slack absorbs a node clock that is not in UTC.
    if (this.referenceTime !== undefined && epochMs > this.referenceTime + DAY_MS) return epochOf(st, year - 1);
    return epochMs;
  }

  /** `[host ]ident[pid]: message`; returns the entry (timestamp filled in by the caller) or the reason it is not one. */
  private readIdentAndMessage(raw: string, line: number, start: number): JournalEntry | string {
    let tokenEnd = raw.indexOf(' ', start);
    if (tokenEnd < 0) tokenEnd = raw.length;
    let host: string | undefined;
    let identStart = start;
    if (raw.charCodeAt(tokenEnd - 1) !== 58 /* : */) {
      // Host names never end in a colon, so this token is the host and the identifier follows.
      host = raw.slice(start, tokenEnd);
      if (host === '') return 'no host or identifier after the timestamp';
      identStart = tokenEnd + 1;
      tokenEnd = raw.indexOf(' ', identStart);
      if (tokenEnd < 0) tokenEnd = raw.length;
      if (tokenEnd <= identStart || raw.charCodeAt(tokenEnd - 1) !== 58) {
        return 'no "identifier:" after the host name';
      }
    }
    const entry = this.newEntry(raw, line, identStart, tokenEnd - 1);
    if (host !== undefined) entry.host = host;
    entry.message = raw.slice(tokenEnd + 1);
    return entry;
  }

  /** RFC 5424 after the timestamp: `HOST APP PROCID MSGID SD MSG`, `-` meaning absent. */
  private readRfc5424Rest(raw: string, line: number, start: number): JournalEntry | string {
    const fields: number[] = [start];
    let j = start;
    for (let n = 0; n < 3; n++) {
      j = raw.indexOf(' ', j);
      if (j < 0) return 'RFC 5424 line cut short before its message';
      fields.push(++j);
    }
    const [hostStart = start, appStart = start, procStart = start, msgIdStart = start] = fields;
    // Structured data: `-` or one or more `[id key="value"]` elements, quotes escaped with a backslash.
    let k = raw.indexOf(' ', msgIdStart);
    if (k < 0) return 'RFC 5424 line cut short before its message';
    k++;
    if (raw.charCodeAt(k) === 45 /* - */) k++;
    else {
      while (raw.charCodeAt(k) === 91 /* [ */) {
        let inQuotes = false;
        for (k++; k < raw.length; k++) {
          const c = raw.charCodeAt(k);
          if (c === 92 /* \ */) k++;
          else if (c === 34 /* " */) inQuotes = !inQuotes;
          else if (c === 93 /* ] */ && !inQuotes) break;
        }
        k++;
      }
    }
    const host = raw.slice(hostStart, appStart - 1);
    const entry = this.newEntry(raw, line, appStart, procStart - 1);
    const procId = raw.slice(procStart, msgIdStart - 1);
    if (procId !== '-') {
      const pid = Number(procId);
      if (Number.isInteger(pid) && pid >= 0) entry.pid = pid;
    }
    if (entry.ident === '-') entry.ident = '';
    if (host !== '-') entry.host = host;
    let message = raw.slice(Math.min(k + 1, raw.length));
    if (message.charCodeAt(0) === 0xfeff) message = message.slice(1);
    entry.message = message;
    return entry;
  }

  /** An entry for the identifier token `raw[start, end)` (`kubelet[3412]` or `kernel`), message still empty. */
  private newEntry(raw: string, line: number, start: number, end: number): JournalEntry {
    let ident = raw.slice(start, end);
    let pid: number | undefined;
    if (raw.charCodeAt(end - 1) === 93 /* ] */) {
      const open = ident.lastIndexOf('[');
      if (open > 0) {
        let value = 0;
        let k = start + open + 1;
        for (; k < end - 1; k++) {
          const d = digitAt(raw, k);
          if (d < 0) break;
          value = value * 10 + d;
        }
        if (k === end - 1 && k > start + open + 1) {
          pid = value;
          ident = ident.slice(0, open);
        }
      }
    }
    const entry: JournalEntry = { kind: 'entry', line, raw, timestamp: '', ident, message: '', text: '' };
    if (pid !== undefined) entry.pid = pid;
    return entry;
  }

  private decodeKlog(entry: JournalEntry): void {
    const message = entry.message;
    const slot = this.klogSlot;
    slot.klog = undefined;
    const bodyStart = readKlogHeader(message, slot);
    const open = this.openValue;
    if (bodyStart >= 0 && slot.klog) {
      entry.klog = slot.klog;
      entry.text = message.slice(bodyStart);
      if (open && open.ident === entry.ident && open.pid === entry.pid) this.openValue = undefined;
      if (opensMultilineValue(entry.text)) this.openValue = { line: entry.line, ident: entry.ident, pid: entry.pid };
      return;
    }
    entry.text = message;
    if (!open || open.ident !== entry.ident) return;
    if (open.pid !== entry.pid) {
      // The process restarted: whatever value was open will never be closed.
      this.openValue = undefined;
      return;
    }
    entry.continuationOf = open.line;
    if (closesMultilineValue(message) && !opensMultilineValue(message)) this.openValue = undefined;
  }
}

export const journalParser: ParserDef<JournalEvent> = {
  name: 'journal',
  create: (context?: ParseContext) => new JournalLineParser(context),
};

// ---------------------------------------------------------------------------------------------------------------
// klog structured values

export interface StructuredLog {
  /** The leading quoted message, decoded. Absent when the text does not start with a quoted string. */
  msg?: string;
  /** Values decoded from Go quoting; `{…}`, `[…]` and `&{…}` values kept as written (JSON or Go `%+v`). */
  kv: Record<string, string>;
}

/** Index after the closing quote of a Go-quoted string that opens at `start`, plus its decoded value. */
function readQuoted(text: string, start: number): { value: string; end: number } {
  let i = start + 1;
  // Fast path: no escapes before the closing quote.
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) return { value: text.slice(start + 1, i), end: i + 1 };
    if (c === 92) break;
  }
  let value = text.slice(start + 1, i);
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 34) return { value, end: i + 1 };
    if (c !== 92) {
      const next = nextSpecial(text, i);
      value += text.slice(i, next);
      i = next;
      continue;
    }
    const escaped = text.charAt(i + 1);
    switch (escaped) {
      case 'n':
        value += '\n';
        i += 2;
        break;
      case 't':
        value += '\t';
        i += 2;
        break;
      case 'r':
        value += '\r';
        i += 2;
        break;
      case '"':
      case '\\':
      case "'":
        value += escaped;
        i += 2;
        break;
      case 'a':
        value += '\x07';
        i += 2;
        break;
      case 'b':
        value += '\b';
        i += 2;
        break;
      case 'f':
        value += '\f';
        i += 2;
        break;
      case 'v':
        value += '\v';
        i += 2;
        break;
      case 'x':
      case 'u':
      case 'U': {
        const width = escaped === 'x' ? 2 : escaped === 'u' ? 4 : 8;
        const hex = text.slice(i + 2, i + 2 + width);
        const code = hex.length === width && /^[0-9a-fA-F]+$/.test(hex) ? Number.parseInt(hex, 16) : -1;
        if (code < 0 || code > 0x10ffff) {
          value += text.slice(i, i + 2);
          i += 2;
        } else {
          // Go writes \x only for bytes that are not valid UTF-8; the byte value is kept as the character code.
          value += String.fromCodePoint(code);
          i += 2 + width;
        }
        break;
      }
      default: {
        const octal = text.slice(i + 1, i + 4);
        if (/^[0-3][0-7]{2}$/.test(octal)) {
          value += String.fromCharCode(Number.parseInt(octal, 8));
          i += 4;
        } else {
          value += text.slice(i, i + 2);
          i += 2;
        }
      }
    }
  }
  // Unterminated (the line was cut): keep what was there.
  return { value, end: text.length };
}

function nextSpecial(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 34 || c === 92) break;
    i++;
  }
  return i;
}

/** End of a `{…}` / `[…]` value starting at `start`: brackets balanced, double-quoted strings skipped. */
function readBracketed(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

/**
 * A klog multi-line value after `=<`: tab-indented lines up to ` >`. Also reads the forms the journal leaves
 * when a rule joins consecutive entries' messages with `\n` (tab shown as eight spaces, or stripped).
 */
function readMultiline(text: string, start: number): { value: string; end: number } {
  if (text.charCodeAt(start) !== 10 /* \n */) return { value: '', end: start };
  const lines: string[] = [];
  let i = start + 1;
  while (i < text.length) {
    let lineEnd = text.indexOf('\n', i);
    if (lineEnd < 0) lineEnd = text.length;
    const lineText = text.slice(i, lineEnd);
    if (closesMultilineValue(lineText)) {
      return { value: lines.join('\n'), end: i + lineText.indexOf('>') + 1 };
    }
    if (lineText.charCodeAt(0) === CHAR_TAB) lines.push(lineText.slice(1));
    else lines.push(lineText.startsWith('        ') ? lineText.slice(8) : lineText);
    i = lineEnd + 1;
  }
  return { value: lines.join('\n'), end: text.length };
}

function isSpace(c: number): boolean {
  return c === CHAR_SPACE || c === CHAR_TAB || c === 10 || c === 13;
}

/**
 * Decodes klog structured logging (also logrus `key=value` text): an optional leading quoted message, then
 * `key="value"`, `key=value`, `key={…}`, `key=[…]`, `key=&{…}` and multi-line `key=<` pairs. Quoted values are
 * unquoted as Go's strconv.Unquote would. Never throws; a value cut off by the end of the line keeps what is there.
 * Without a leading message the text may be prose, so reading stops at the first token that is not `key=value`.
 */
export function parseStructured(text: string): StructuredLog {
  const kv: Record<string, string> = {};
  let i = 0;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  let msg: string | undefined;
  if (text.charCodeAt(i) === 34) {
    const quoted = readQuoted(text, i);
    msg = quoted.value;
    i = quoted.end;
  }
  const lenient = msg !== undefined;
  while (i < text.length) {
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (i >= text.length) break;
    const keyStart = i;
    while (i < text.length && text.charCodeAt(i) !== 61 /* = */ && !isSpace(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== 61 || i === keyStart) {
      if (!lenient) break;
      while (i < text.length && !isSpace(text.charCodeAt(i))) i++;
      continue;
    }
    const key = text.slice(keyStart, i);
    i++;
    const c = text.charCodeAt(i);
    let value: string;
    if (c === 34) {
      const quoted = readQuoted(text, i);
      value = quoted.value;
      i = quoted.end;
    } else if (c === 123 || c === 91 || (c === 38 /* & */ && text.charCodeAt(i + 1) === 123)) {
      const end = readBracketed(text, c === 38 ? i + 1 : i);
      value = text.slice(i, end);
      i = end;
    } else if (c === 60 /* < */ && (i + 1 === text.length || text.charCodeAt(i + 1) === 10)) {
      const multi = readMultiline(text, i + 1);
      value = multi.value;
      i = multi.end;
    } else {
      const start = i;
      while (i < text.length && !isSpace(text.charCodeAt(i))) i++;
      value = text.slice(start, i);
    }
    if (key !== '__proto__') kv[key] = value;
  }
  return msg === undefined ? { kv } : { msg, kv };
}
