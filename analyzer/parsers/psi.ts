/**
 * Pressure stall information: the share of wall time in which some (or all) runnable tasks were stalled waiting
 * for CPU, memory or IO.
 *
 * Reads: `system/pressure_cpu.txt`, `system/pressure_memory.txt`, `system/pressure_io.txt` (items `psi-cpu`,
 * `psi-memory`, `psi-io`; our agent copies `/proc/pressure/{cpu,memory,io}`, as the Node Monitoring Agent does).
 * Also reads a cgroup v2 `cpu.pressure`/`memory.pressure`/`io.pressure` file, which has the same layout.
 * Accepts `some` and `full` lines (system-wide `cpu` has a zero `full` line since kernel 5.13; older kernels have
 * only `some`). avgN are percentages over N seconds; `total` is cumulative stall time in microseconds. A kernel
 * with PSI disabled fails the read (`Operation not supported`); that line is reported unparsed with the reason.
 *
 * Sample (parsed by the test):
 *   some avg10=12.34 avg60=8.05 avg300=2.71 total=123456
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 */

import type { LineEvent, ParserDef, UnparsedEvent } from './types.ts';

export interface PsiEvent extends LineEvent {
  kind: 'psi';
  /** `some`: at least one task stalled; `full`: all non-idle tasks stalled at once. */
  scope: 'some' | 'full';
  avg10: number;
  avg60: number;
  avg300: number;
  totalUs: number;
}

export type PsiFileEvent = PsiEvent | UnparsedEvent;

const PSI_LINE = /^(some|full) avg10=(\d+(?:\.\d+)?) avg60=(\d+(?:\.\d+)?) avg300=(\d+(?:\.\d+)?) total=(\d+)\s*$/;

export const psiParser: ParserDef<PsiFileEvent> = {
  name: 'psi',
  create() {
    return {
      push(raw, line, emit) {
        const match = PSI_LINE.exec(raw);
        if (match) {
          emit({
            kind: 'psi',
            line,
            raw,
            scope: match[1] as 'some' | 'full',
            avg10: Number(match[2]),
            avg60: Number(match[3]),
            avg300: Number(match[4]),
            totalUs: Number(match[5]),
          });
          return;
        }
        if (raw.trim() === '') return;
        const reason = raw.includes('Operation not supported')
          ? 'PSI is disabled in this kernel (boot parameter psi=1 enables it)'
          : 'expected "some|full avg10=<pct> avg60=<pct> avg300=<pct> total=<us>"';
        emit({ kind: 'unparsed', line, raw, reason });
      },
    };
  },
};
