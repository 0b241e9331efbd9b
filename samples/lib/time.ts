/**
 * Timestamps in the shapes node tools print them. Times are microseconds since the Unix epoch (fits a double
 * exactly until the year 2255), always rendered in UTC as EKS nodes run.
 */

export type Micros = number;

export const SECOND = 1_000_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function micros(iso: string): Micros {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not a timestamp: ${iso}`);
  return ms * 1000;
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

function parts(at: Micros) {
  const date = new Date(Math.floor(at / 1000));
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth(),
    day: date.getUTCDate(),
    weekday: date.getUTCDay(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    micro: ((at % SECOND) + SECOND) % SECOND,
  };
}

const clock = (p: ReturnType<typeof parts>): string => `${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;

/** journalctl `short` and rsyslog's traditional format: `Mar 12 03:41:27` (day padded with a space). */
export function syslogTime(at: Micros): string {
  const p = parts(at);
  return `${MONTHS[p.month]} ${String(p.day).padStart(2, ' ')} ${clock(p)}`;
}

/**
 * journalctl `short-iso-precise`: `2025-03-12T03:41:27.123456+0000` up to systemd 254 (AL2023 ships 252); systemd
 * 255 switched the zone to RFC 3339's `+00:00`.
 */
export function isoPrecise(at: Micros, zone: '+0000' | '+00:00' = '+0000'): string {
  const p = parts(at);
  return `${p.year}-${pad(p.month + 1)}-${pad(p.day)}T${clock(p)}.${pad(p.micro, 6)}${zone}`;
}

/** klog header time: `0312 03:41:27.123456` (month and day, no year). */
export function klogTime(at: Micros): string {
  const p = parts(at);
  return `${pad(p.month + 1)}${pad(p.day)} ${clock(p)}.${pad(p.micro, 6)}`;
}

/** zap ISO8601 with milliseconds, as the VPC CNI logs: `2025-03-12T03:41:27.123Z`. */
export function isoMillis(at: Micros): string {
  return new Date(Math.floor(at / 1000)).toISOString();
}

/** RFC 3339 to the second: `2025-03-12T03:41:27Z`. */
export function isoSeconds(at: Micros): string {
  return `${new Date(Math.floor(at / 1000)).toISOString().slice(0, 19)}Z`;
}

/** Go's time.Time String(): `2025-03-12 03:41:27.123456789 +0000 UTC` (nanoseconds padded from micros). */
export function goTime(at: Micros, withFraction = true): string {
  const p = parts(at);
  const base = `${p.year}-${pad(p.month + 1)}-${pad(p.day)} ${clock(p)}`;
  return withFraction
    ? `${base}.${pad(p.micro, 6)}${pad(Math.floor(p.micro / 7) % 1000, 3)} +0000 UTC`
    : `${base} +0000 UTC`;
}

/** C `ctime()` without the newline, as iptables-save prints it: `Wed Mar 12 03:41:29 2025`. */
export function ctime(at: Micros): string {
  const p = parts(at);
  return `${WEEKDAYS[p.weekday]} ${MONTHS[p.month]} ${String(p.day).padStart(2, ' ')} ${clock(p)} ${p.year}`;
}

/** systemd's `Tue 2025-03-04 08:12:31 UTC`, used in journal headers. */
export function systemdTime(at: Micros): string {
  const p = parts(at);
  return `${WEEKDAYS[p.weekday]} ${p.year}-${pad(p.month + 1)}-${pad(p.day)} ${clock(p)} UTC`;
}

/** ps START column for processes older than a day: `Mar11`; for today's: `03:12`. */
export function psStart(started: Micros, now: Micros): string {
  const p = parts(started);
  if (now - started < DAY && parts(now).day === p.day) return `${pad(p.hour)}:${pad(p.minute)}`;
  return `${MONTHS[p.month]}${pad(p.day)}`;
}

export function unixSeconds(at: Micros): number {
  return Math.floor(at / SECOND);
}

/** `top`'s uptime phrase: `up 10:39`, `up 45 min`, `up 2 days,  4:12`. */
export function uptimePhrase(uptime: Micros): string {
  const totalMinutes = Math.floor(uptime / MINUTE);
  const days = Math.floor(totalMinutes / 1440);
  const hours = Math.floor((totalMinutes % 1440) / 60);
  const minutes = totalMinutes % 60;
  const dayPart = days > 0 ? `${days} day${days > 1 ? 's' : ''}, ` : '';
  if (days === 0 && hours === 0) return `up ${minutes} min`;
  return `up ${dayPart}${String(hours).padStart(days > 0 ? 2 : 1, ' ')}:${pad(minutes)}`;
}

export function clockOf(at: Micros): string {
  return clock(parts(at));
}
