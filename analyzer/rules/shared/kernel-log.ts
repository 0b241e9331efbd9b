/**
 * Kernel messages wherever the bundle holds them: the ring buffer (`dmesg`, `dmesg --ctime`) and the system log
 * (`kernel:` entries of var_log/messages or var_log/syslog, which outlive the ring buffer and a reboot). Rules that
 * judge kernel messages read all of them through one shape, so the same message is matched the same way everywhere.
 */
import type { ItemState } from '../../engine/rule.ts';
import type { DmesgEvent } from '../../parsers/dmesg.ts';
import { kernelMessageOf } from '../../parsers/dmesg.ts';
import type { JournalEvent } from '../../parsers/journal.ts';
import type { Fact } from '../../report/model.ts';

/** Kernel log items, the ring buffer first: it is what `dmesg` showed at collection time. */
export const KERNEL_LOG_ITEMS = ['dmesg', 'dmesg-human', 'system-messages', 'system-syslog'] as const;
export type KernelLogItem = (typeof KERNEL_LOG_ITEMS)[number];

export interface KernelLine {
  line: number;
  raw: string;
  /** The kernel's text, without any timestamp or syslog prefix. */
  message: string;
  /** The line's timestamp as written, when it has a wall-clock one. */
  time?: string;
  /** Seconds since boot, when the line carries the kernel's own stamp. */
  seconds?: number;
}

/** The kernel message of a dmesg entry or of a system-log entry written by the kernel; undefined for anything else. */
export function kernelLineOf(event: DmesgEvent | JournalEvent): KernelLine | undefined {
  if (event.kind !== 'entry') return undefined;
  if ('ident' in event) {
    if (event.ident !== 'kernel') return undefined;
    const { message, seconds } = kernelMessageOf(event.message);
    const line: KernelLine = { line: event.line, raw: event.raw, message, time: event.timestamp };
    if (seconds !== undefined) line.seconds = seconds;
    return line;
  }
  const line: KernelLine = { line: event.line, raw: event.raw, message: event.message };
  if (event.time !== undefined) line.time = event.time;
  if (event.seconds !== undefined) line.seconds = event.seconds;
  return line;
}

const UPTIME_STAMP = /^(?:<\d+>)?\[\s*(\d+\.\d+)\]/;
const LEADING_TIME =
  /^(?:\[)?((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \w{3} [ \d]\d [\d:]{8} \d{4}|\w{3} [ \d]\d [\d:.]{8,15}|\d{4}-\d{2}-\d{2}T[\d:.,]+(?:Z|[+-][\d:]+)?)/;

/**
 * What the kernel log items cover, as facts for a verdict that rests on the absence of a message, and the caveat a
 * wrapped ring buffer deserves (it no longer starts at boot, so older messages are gone from it).
 */
export function kernelLogCoverage(item: (id: KernelLogItem) => ItemState): { facts: Fact[]; caveats: string[] } {
  const facts: Fact[] = [];
  const caveats: string[] = [];
  for (const id of KERNEL_LOG_ITEMS) {
    const state = item(id);
    if (!state.present) continue;
    for (const file of state.files) {
      const first = file.firstLine ?? '';
      const last = file.lastLine ?? '';
      const from = UPTIME_STAMP.exec(first)?.[1] ?? LEADING_TIME.exec(first)?.[1];
      const to = UPTIME_STAMP.exec(last)?.[1] ?? LEADING_TIME.exec(last)?.[1];
      const uptime = id === 'dmesg' && from !== undefined;
      const window =
        from !== undefined && to !== undefined
          ? uptime
            ? `, from ${from} s to ${to} s after boot`
            : `, from ${from} to ${to}`
          : '';
      facts.push({ label: 'Kernel log read', value: `${file.lines} lines${window}`, path: file.path });
      if (uptime && Number(from) > 60) {
        caveats.push(
          `${file.path} starts ${from} s after boot: the ring buffer has wrapped, so older kernel messages are only in the system log, if at all.`,
        );
      }
      if (file.truncated) caveats.push(`${file.path} was cut short, so messages after the cut are missing.`);
    }
  }
  return { facts, caveats };
}
