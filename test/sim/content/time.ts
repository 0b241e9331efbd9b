/**
 * Timestamp renderings the simulated node's programs use. All nodes run in UTC, as EKS nodes do.
 */

/** zap's ISO8601 encoder (ipamd, plugin and network-policy-agent logs): millisecond precision, `Z`. */
export function zapTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Go's time.Time JSON form (RFC 3339 with nanoseconds, trailing zeros dropped). */
export function goTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.(\d{3})Z$/, (_, fraction: string) => {
    const trimmed = fraction.replace(/0+$/, '');
    return trimmed ? `.${trimmed}Z` : 'Z';
  });
}

/** CRI log line timestamps: RFC 3339 with nanoseconds. */
export function criTime(ms: number, nanos: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_, millis: string) => {
    return `.${millis}${String(nanos % 1_000_000).padStart(6, '0')}Z`;
  });
}

/** klog header time: `I1126 09:41:12.331502` without the severity letter. */
export function klogTime(micros: number): string {
  const date = new Date(Math.floor(micros / 1000));
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(micros % 1_000_000, 6)}`;
}

/** containerd's logrus text timestamp: `2026-11-26T09:41:12.331502117Z`. */
export function logrusTime(micros: number, extraNanos: number): string {
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return `${iso.slice(0, 19)}.${String(micros % 1_000_000).padStart(6, '0')}${String(extraNanos % 1000).padStart(3, '0')}Z`;
}

/** lumberjack's rotated-file stamp: `2026-11-26T09-41-12.331`. */
export function lumberjackStamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace(/:/g, '-');
}
