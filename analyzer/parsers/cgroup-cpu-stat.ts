/**
 * A cgroup's `cpu.stat`: CPU usage and CFS quota throttling for one cgroup.
 *
 * Reads: `system/cgroup/kubepods.slice/cpu.stat` and `system/cgroup/aws-node/cpu.stat` (items
 * `cgroup-kubepods-cpu-stat`, `cgroup-aws-node-cpu-stat`; our agent). The cpu-throttling parser reuses
 * `summarizeCpuStat` for the cpu.stat blocks inside the stock `system/cpu_throttling.txt`.
 * Accepts cgroup v2 (`usage_usec`, `user_usec`, `system_usec`, `nr_periods`, `nr_throttled`, `throttled_usec`,
 * `nr_bursts`, `burst_usec`, `core_sched.force_idle_usec`) and cgroup v1 (`nr_periods`, `nr_throttled`,
 * `throttled_time` in nanoseconds, newer kernels also `nr_bursts`, `burst_time`, `wait_sum`). Every `key value` line
 * becomes a `stat` event; the summary converts v1 nanoseconds to microseconds so both versions compare directly.
 *
 * Sample (parsed by the test):
 *   usage_usec 8812394122
 *   user_usec 6120039844
 *   system_usec 2692354278
 *   nr_periods 412093
 *   nr_throttled 96234
 *   throttled_usec 5129934011
 */

import type { LineEvent, ParserDef, UnparsedEvent } from './types.ts';

export interface CpuStatLineEvent extends LineEvent {
  kind: 'stat';
  key: string;
  value: number;
}

/** The numbers rules use, in microseconds whatever the cgroup version. */
export interface CpuStatSummary {
  usageUsec?: number;
  userUsec?: number;
  systemUsec?: number;
  /** CFS enforcement periods that elapsed while the cgroup had runnable tasks. */
  nrPeriods?: number;
  /** Periods in which the cgroup hit its quota and was throttled. */
  nrThrottled?: number;
  throttledUsec?: number;
  /** nrThrottled / nrPeriods, 0 to 1; absent when there were no periods (no quota set). */
  throttledRatio?: number;
}

export interface CpuStatSummaryEvent extends LineEvent, CpuStatSummary {
  kind: 'summary';
}

export type CgroupCpuStatEvent = CpuStatLineEvent | CpuStatSummaryEvent | UnparsedEvent;

/** A `key value` line of cpu.stat; keys are lower-case words joined by `_` or `.`. */
export const CPU_STAT_LINE = /^([a-z_][a-z0-9_.]*) (\d+)\s*$/;

/** The summary of one cpu.stat, from its key/value pairs (v1 or v2). */
export function summarizeCpuStat(stats: Readonly<Record<string, number>>): CpuStatSummary {
  const summary: CpuStatSummary = {};
  if (stats.usage_usec !== undefined) summary.usageUsec = stats.usage_usec;
  if (stats.user_usec !== undefined) summary.userUsec = stats.user_usec;
  if (stats.system_usec !== undefined) summary.systemUsec = stats.system_usec;
  if (stats.nr_periods !== undefined) summary.nrPeriods = stats.nr_periods;
  if (stats.nr_throttled !== undefined) summary.nrThrottled = stats.nr_throttled;
  if (stats.throttled_usec !== undefined) summary.throttledUsec = stats.throttled_usec;
  else if (stats.throttled_time !== undefined) summary.throttledUsec = Math.round(stats.throttled_time / 1000);
  if (summary.nrPeriods !== undefined && summary.nrPeriods > 0 && summary.nrThrottled !== undefined) {
    summary.throttledRatio = summary.nrThrottled / summary.nrPeriods;
  }
  return summary;
}

export const cgroupCpuStatParser: ParserDef<CgroupCpuStatEvent> = {
  name: 'cgroup-cpu-stat',
  create() {
    const stats: Record<string, number> = {};
    let seen = false;
    return {
      push(raw, line, emit) {
        const match = CPU_STAT_LINE.exec(raw);
        if (!match) {
          if (raw.trim() !== '') emit({ kind: 'unparsed', line, raw, reason: 'expected "<key> <integer>"' });
          return;
        }
        const key = match[1] as string;
        const value = Number(match[2]);
        stats[key] = value;
        seen = true;
        emit({ kind: 'stat', line, raw, key, value });
      },
      end(emit) {
        if (!seen) return;
        emit({ kind: 'summary', line: 0, raw: '', ...summarizeCpuStat(stats) });
      },
    };
  },
};
