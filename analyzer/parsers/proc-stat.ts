/**
 * `/proc/stat`: cumulative CPU time per CPU since boot, plus the scheduler counters.
 *
 * Reads: `system/procstat.txt` (item `proc-stat`), written by the stock script as `cat /proc/stat` and by our agent
 * the same way.
 * Accepts `cpu`/`cpuN` lines with 4 to 10 columns (iowait/irq/softirq came in 2.6, steal in 2.6.11, guest in
 * 2.6.24, guest_nice in 2.6.33; absent columns stay absent rather than read as 0), the counters ctxt, btime,
 * processes, procs_running and procs_blocked, and the 2.4-era page/swap/disk_io lines (ignored). `intr` and `softirq`
 * lines can run to thousands of numbers on big hosts and are skipped on their prefix, never split.
 * CPU times are in USER_HZ ticks (100 per second on every EKS AMI). Offline CPUs have no `cpuN` line, so
 * `cpuCount` is the number of online CPUs.
 *
 * Sample (parsed by the test):
 *   cpu  10132153 290696 3084719 46828483 16683 0 25195 0 0 0
 *   cpu0 1393280 32966 572056 13343292 6130 0 17875 0 0 0
 *   intr 199292 22 0 0 0 0 0 0 0 1 0 0 0 0 0
 *   ctxt 1990473
 *   procs_running 3
 */

import type { LineEvent, ParserDef, UnparsedEvent } from './types.ts';

export interface ProcStatCpuEvent extends LineEvent {
  kind: 'cpu';
  /** `cpu` for the all-CPU total, `cpuN` for one CPU. */
  cpu: string;
  /** N of `cpuN`; absent on the total line. */
  index?: number;
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait?: number;
  irq?: number;
  softirq?: number;
  steal?: number;
  guest?: number;
  guestNice?: number;
}

export type ProcStatCounterKey = 'ctxt' | 'btime' | 'processes' | 'procs_running' | 'procs_blocked';

export interface ProcStatCounterEvent extends LineEvent {
  kind: 'counter';
  key: ProcStatCounterKey;
  value: number;
}

export interface ProcStatSummaryEvent extends LineEvent {
  kind: 'summary';
  /** Online CPUs: the number of `cpuN` lines. */
  cpuCount: number;
  procsRunning?: number;
  procsBlocked?: number;
  /** Boot time, seconds since the epoch. */
  btime?: number;
}

export type ProcStatEvent = ProcStatCpuEvent | ProcStatCounterEvent | ProcStatSummaryEvent | UnparsedEvent;

const COUNTER_KEYS: ReadonlySet<string> = new Set<ProcStatCounterKey>([
  'ctxt',
  'btime',
  'processes',
  'procs_running',
  'procs_blocked',
]);
/** Lines we know and do not need: per-IRQ counts and 2.4-era paging and disk totals. */
const IGNORED_KEYS: ReadonlySet<string> = new Set(['intr', 'softirq', 'page', 'swap', 'disk_io', 'disk']);
const DIGITS = /^\d+$/;
const CPU_NAME = /^cpu(\d*)$/;

export const procStatParser: ParserDef<ProcStatEvent> = {
  name: 'proc-stat',
  create() {
    let cpuCount = 0;
    let seen = false;
    let procsRunning: number | undefined;
    let procsBlocked: number | undefined;
    let btime: number | undefined;

    return {
      push(raw, line, emit) {
        // The cheap exits first: these two lines are the long ones.
        if (raw.startsWith('intr ') || raw.startsWith('softirq ')) return;
        if (raw.startsWith('cpu')) {
          const cpu = parseCpuLine(raw, line);
          if (typeof cpu === 'string') {
            emit({ kind: 'unparsed', line, raw, reason: cpu });
            return;
          }
          if (cpu.index !== undefined) cpuCount++;
          seen = true;
          emit(cpu);
          return;
        }
        const space = raw.indexOf(' ');
        const key = space === -1 ? raw : raw.slice(0, space);
        if (COUNTER_KEYS.has(key)) {
          const text = raw.slice(space + 1).trim();
          if (space === -1 || !DIGITS.test(text)) {
            emit({ kind: 'unparsed', line, raw, reason: `${key} without a number` });
            return;
          }
          const value = Number(text);
          if (key === 'procs_running') procsRunning = value;
          else if (key === 'procs_blocked') procsBlocked = value;
          else if (key === 'btime') btime = value;
          seen = true;
          emit({ kind: 'counter', line, raw, key: key as ProcStatCounterKey, value });
          return;
        }
        if (IGNORED_KEYS.has(key) || key.startsWith('disk_') || raw.trim() === '') return;
        emit({ kind: 'unparsed', line, raw, reason: 'not a /proc/stat line' });
      },
      end(emit) {
        if (!seen) return;
        emit({ kind: 'summary', line: 0, raw: '', cpuCount, procsRunning, procsBlocked, btime });
      },
    };
  },
};

/** The cpu event for a `cpu`/`cpuN` line, or why it could not be read. */
function parseCpuLine(raw: string, line: number): ProcStatCpuEvent | string {
  const tokens = raw.trim().split(/\s+/);
  const name = CPU_NAME.exec(tokens[0] as string);
  if (!name) return 'not a cpu line';
  if (tokens.length < 5 || tokens.length > 11) return `expected 4 to 10 tick columns, found ${tokens.length - 1}`;
  const ticks: number[] = [];
  for (let i = 1; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (!DIGITS.test(token)) return `tick column ${i} is not a number`;
    ticks.push(Number(token));
  }
  const event: ProcStatCpuEvent = {
    kind: 'cpu',
    line,
    raw,
    cpu: tokens[0] as string,
    user: ticks[0] as number,
    nice: ticks[1] as number,
    system: ticks[2] as number,
    idle: ticks[3] as number,
  };
  if (name[1] !== '') event.index = Number(name[1]);
  if (ticks.length > 4) event.iowait = ticks[4];
  if (ticks.length > 5) event.irq = ticks[5];
  if (ticks.length > 6) event.softirq = ticks[6];
  if (ticks.length > 7) event.steal = ticks[7];
  if (ticks.length > 8) event.guest = ticks[8];
  if (ticks.length > 9) event.guestNice = ticks[9];
  return event;
}
