/**
 * Journal entries and their text renderings: `journalctl` short and short-iso-precise, and rsyslog's
 * /var/log/messages. kubelet writes klog lines to stderr, which journald splits on newlines, so a klog value that
 * spans lines (`output=<` … ` >`) becomes several entries with the same prefix; the renderers reproduce that.
 */
import { createRandom, type Random } from './random.ts';
import { isoPrecise, klogTime, type Micros, syslogTime, systemdTime } from './time.ts';

export type Severity = 'I' | 'W' | 'E';

export interface JournalEntry {
  /** When the program produced the text; journald stamps it a few microseconds later. */
  at: Micros;
  received: Micros;
  identifier: string;
  pid: number;
  /** True for programs that log through syslog(3) with LOG_PID, so rsyslog shows `name[pid]:`. */
  syslogPid: boolean;
  text: string;
  order: number;
}

export type JournalStyle = 'short' | 'short-iso-precise' | 'syslog';

export interface RenderOptions {
  style: JournalStyle;
  hostname: string;
  /**
   * journald before systemd 228 (AL2 ships 219) strips leading and trailing whitespace from each stdout line, so
   * klog's tab-indented continuation lines and its ` >` closer arrive unindented.
   */
  stripStreamWhitespace?: boolean;
  /** systemd 219 (AL2) prints `-- Logs begin at …, end at … --` above `short` output. */
  logsBeginHeader?: { begin: Micros; end: Micros };
}

/** Quotes a klog string value the way Go's strconv.Quote does for ASCII text. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/**
 * Renders a klog structured value. Strings holding a newline use klog's multi-line form (`key=<`, tab-indented
 * lines, ` >`), which is how exec probe output ending in a newline appears.
 */
export function kv(key: string, value: string | number | boolean | { raw: string }): string {
  if (typeof value === 'object') return `${key}=${value.raw}`;
  if (typeof value !== 'string') return `${key}=${value}`;
  if (!value.includes('\n')) return `${key}=${quote(value)}`;
  const lines = value.split('\n');
  const endsWithNewline = value.endsWith('\n');
  const body = (endsWithNewline ? lines.slice(0, -1) : lines).map((line) => `\t${line}`).join('\n');
  return `${key}=<\n${body}\n >`;
}

export function klogLine(at: Micros, severity: Severity, pid: number, source: string, message: string): string {
  return `${severity}${klogTime(at)} ${String(pid).padStart(7, ' ')} ${source}] ${message}`;
}

export class Journal {
  readonly entries: JournalEntry[] = [];
  readonly #random: Random;
  #order = 0;

  constructor(seed: string) {
    this.#random = createRandom(`journal/${seed}`);
  }

  add(at: Micros, identifier: string, pid: number, text: string, syslogPid = false): void {
    // Each physical line is its own journal entry (stdout stream transport splits on newlines).
    const received = at + this.#random.int(18, 420);
    for (const line of text.split('\n')) {
      this.entries.push({ at, received, identifier, pid, syslogPid, text: line, order: this.#order++ });
    }
  }

  klog(at: Micros, pid: number, severity: Severity, source: string, message: string, identifier = 'kubelet'): void {
    this.add(at, identifier, pid, klogLine(at, severity, pid, source, message));
  }

  /** Entries in the order journald would return them, with receive times that never go backwards. */
  sorted(): JournalEntry[] {
    return stampInOrder(this.entries);
  }

  render(options: RenderOptions, filter?: (entry: JournalEntry) => boolean): string {
    return renderEntries(
      this.sorted().filter((entry) => (filter ? filter(entry) : true)),
      options,
    );
  }
}

/**
 * Orders entries by the time their program wrote them and makes journald's receive stamps monotonic, as they are
 * for entries arriving on one socket one after another.
 */
export function stampInOrder(entries: readonly JournalEntry[]): JournalEntry[] {
  const ordered = [...entries].sort((a, b) => a.at - b.at || a.order - b.order);
  let last = Number.NEGATIVE_INFINITY;
  return ordered.map((entry) => {
    const received = Math.max(entry.received, last + 1);
    last = received;
    return received === entry.received ? entry : { ...entry, received };
  });
}

export function renderEntries(entries: readonly JournalEntry[], options: RenderOptions): string {
  const out: string[] = [];
  if (options.logsBeginHeader) {
    out.push(
      `-- Logs begin at ${systemdTime(options.logsBeginHeader.begin)}, end at ${systemdTime(options.logsBeginHeader.end)}. --`,
    );
  }
  if (entries.length === 0) out.push('-- No entries --');
  for (const original of entries) {
    const entry =
      options.stripStreamWhitespace && original.identifier !== 'systemd'
        ? { ...original, text: original.text.trim() }
        : original;
    switch (options.style) {
      case 'short':
        out.push(`${syslogTime(entry.received)} ${options.hostname} ${entry.identifier}[${entry.pid}]: ${entry.text}`);
        break;
      case 'short-iso-precise':
        out.push(`${isoPrecise(entry.received)} ${options.hostname} ${entry.identifier}[${entry.pid}]: ${entry.text}`);
        break;
      case 'syslog': {
        const tag = entry.syslogPid ? `${entry.identifier}[${entry.pid}]` : entry.identifier;
        out.push(`${syslogTime(entry.received)} ${options.hostname} ${tag}: ${entry.text}`);
        break;
      }
    }
  }
  return `${out.join('\n')}\n`;
}
