/**
 * The kernel ring buffer as `dmesg` prints it.
 *
 * Reads: `kernel/dmesg.current` (item `dmesg`: `dmesg`, seconds since boot), `kernel/dmesg.human.current`
 * (`dmesg-human`: `dmesg --ctime`, wall-clock time) and `kernel/dmesg.boot` (`dmesg-boot`: the stock script's copy of
 * `/var/log/dmesg`, which AL2's rhel-dmesg.service writes at boot in the raw form).
 * Accepts, each line as one `entry`:
 * - `[ 1234.567890] message`: seconds since boot, right-aligned in the brackets (`[%5lu.%06lu]`, wider once up long);
 * - `[Thu Nov 20 08:41:07 2026] message`: `--ctime`, C locale, day space-padded (`Nov  5`); `epochMs` reads it as UTC,
 *   as EKS nodes run (dmesg derives it from uptime, so it drifts after a suspend);
 * - `2026-11-20T08:41:07,123456+00:00 message`: `--time-format iso`;
 * - a `<6>` priority prefix (`dmesg -r`, some boot logs; facility in the upper bits) or a `kern  :info  : ` prefix
 *   (`dmesg -x`), read into `level`/`facility`;
 * - lines without a timestamp (a kernel booted with `printk.time=0`, continuation lines), whose text is the message.
 * `dmesg: read kernel buffer failed: Operation not permitted` (dmesg's own error, when stderr was captured) is
 * `unparsed`; blank lines are skipped.
 *
 * Kernel lines in the system log (`kernel: [ 1234.567890] message` in var_log/messages) come through the journal
 * parser; `kernelMessageOf` strips the timestamp rsyslog keeps there, so rules match one text in both.
 *
 * Sample (parsed by the test):
 *   [    0.000000] Linux version 6.1.112-124.190.amzn2023.x86_64 (mockbuild@ip-10-0-33-4) #1 SMP PREEMPT_DYNAMIC
 *   [1694413.644132] nf_conntrack: nf_conntrack: table full, dropping packet
 *   [Thu Nov 20 08:41:07 2026] Memory cgroup out of memory: Killed process 4817 (java) total-vm:5065832kB, anon-rss:1046904kB, file-rss:30772kB, shmem-rss:0kB, UID:0 pgtables:2412kB oom_score_adj:969
 *   <4>[  812.004211] net_ratelimit: 2318 callbacks suppressed
 */

import type { LineEvent, ParserDef, UnparsedEvent } from './types.ts';

export interface DmesgEntry extends LineEvent {
  kind: 'entry';
  /** Seconds since boot, from `[12345.678901]`. */
  seconds?: number;
  /** The wall-clock timestamp as written (`Thu Nov 20 08:41:07 2026`, or the ISO form). */
  time?: string;
  /** `time` in epoch milliseconds (the `--ctime` form taken as UTC). */
  epochMs?: number;
  /** Syslog level 0 (emerg) to 7 (debug), from a `<N>` or `kern  :info  : ` prefix. */
  level?: number;
  /** Syslog facility number (0 = kern), from the same prefixes. */
  facility?: number;
  /** The text after the timestamp. */
  message: string;
}

export type DmesgEvent = DmesgEntry | UnparsedEvent;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];
const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
];

const PRIORITY = /^<(\d{1,3})>/;
const DECODED_PRIORITY = /^([a-z0-9]+)\s*:([a-z]+)\s*: /;
const UPTIME = /^\[\s*(\d+)\.(\d+)\](?: |$)/;
const CTIME =
  /^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})\](?: |$)/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[,.](\d+))?(Z|[+-]\d{2}:?\d{2}) /;

function facilityNumber(name: string): number | undefined {
  const index = FACILITIES.indexOf(name);
  if (index >= 0) return index;
  const local = /^local([0-7])$/.exec(name);
  return local ? 16 + Number(local[1]) : undefined;
}

function offsetMinutes(zone: string): number {
  if (zone === 'Z') return 0;
  const digits = zone.replace(':', '');
  const sign = digits.startsWith('-') ? -1 : 1;
  return sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
}

export const dmesgParser: ParserDef<DmesgEvent> = {
  name: 'dmesg',
  create: () => ({
    push(raw, line, emit) {
      if (raw.trim() === '') return;
      if (raw.startsWith('dmesg: ')) {
        emit({ kind: 'unparsed', line, raw, reason: "dmesg's own error message, not a kernel message" });
        return;
      }
      const entry: DmesgEntry = { kind: 'entry', line, raw, message: '' };
      let rest = raw;
      const priority = PRIORITY.exec(rest);
      if (priority) {
        const value = Number(priority[1]);
        entry.level = value & 7;
        entry.facility = value >> 3;
        rest = rest.slice(priority[0].length);
      } else {
        const decoded = DECODED_PRIORITY.exec(rest);
        const level = decoded ? LEVELS.indexOf(decoded[2] ?? '') : -1;
        const facility = decoded ? facilityNumber(decoded[1] ?? '') : undefined;
        if (decoded && level >= 0 && facility !== undefined) {
          entry.level = level;
          entry.facility = facility;
          rest = rest.slice(decoded[0].length);
        }
      }

      const uptime = UPTIME.exec(rest);
      if (uptime) {
        entry.seconds = Number(`${uptime[1]}.${uptime[2]}`);
        entry.message = rest.slice(uptime[0].length);
        emit(entry);
        return;
      }
      const ctime = CTIME.exec(rest);
      if (ctime) {
        const [, month = '', day, hour, minute, second, year] = ctime;
        const epochMs = Date.UTC(
          Number(year),
          MONTHS.indexOf(month),
          Number(day),
          Number(hour),
          Number(minute),
          Number(second),
        );
        entry.time = rest.slice(1, rest.indexOf(']'));
        if (Number(hour) <= 23 && Number(minute) <= 59 && Number(day) >= 1 && Number(day) <= 31) {
          entry.epochMs = epochMs;
        }
        entry.message = rest.slice(ctime[0].length);
        emit(entry);
        return;
      }
      const iso = ISO.exec(rest);
      if (iso) {
        const [, year, month, day, hour, minute, second, fraction = '', zone = 'Z'] = iso;
        entry.time = rest.slice(0, iso[0].length - 1);
        entry.epochMs =
          Date.UTC(
            Number(year),
            Number(month) - 1,
            Number(day),
            Number(hour),
            Number(minute),
            Number(second),
            Math.floor(Number(`0.${fraction || '0'}`) * 1000),
          ) -
          offsetMinutes(zone) * 60_000;
        entry.message = rest.slice(iso[0].length);
        emit(entry);
        return;
      }
      // No timestamp: printk.time=0, or a continuation line of a multi-line record.
      entry.message = rest.trim();
      emit(entry);
    },
  }),
};

const KERNEL_TIMESTAMP = /^\[\s*(\d+)\.(\d+)\] ?/;

/**
 * A kernel message as the system log holds it (`[ 1234.567890] nf_conntrack: table full, dropping packet` after
 * `kernel: `), without the uptime stamp rsyslog's imklog keeps; the stamp, when there is one, as `seconds`.
 */
export function kernelMessageOf(text: string): { message: string; seconds?: number } {
  const stamp = KERNEL_TIMESTAMP.exec(text);
  if (!stamp) return { message: text };
  return { message: text.slice(stamp[0].length), seconds: Number(`${stamp[1]}.${stamp[2]}`) };
}
