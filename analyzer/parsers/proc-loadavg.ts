/**
 * `/proc/loadavg`: run-queue averages and task counts at collection time.
 *
 * Reads: `system/loadavg.txt` (item `proc-loadavg`, our agent; the stock script does not collect it).
 * Accepts the one-line kernel format: three load averages, `running/total` scheduling entities, and the most recently
 * assigned pid. Blank lines are skipped; anything else becomes `unparsed`.
 *
 * Sample (parsed by the test):
 *   0.52 0.58 0.59 2/345 12345
 */

import type { LineEvent, ParserDef, UnparsedEvent } from './types.ts';

export interface LoadavgEvent extends LineEvent {
  kind: 'loadavg';
  load1: number;
  load5: number;
  load15: number;
  /** Runnable tasks at the moment of reading (includes the reader itself). */
  running: number;
  /** All scheduling entities (threads) on the system. */
  total: number;
  lastPid: number;
}

export type ProcLoadavgEvent = LoadavgEvent | UnparsedEvent;

const LOADAVG = /^\s*(\d+\.\d+) (\d+\.\d+) (\d+\.\d+) (\d+)\/(\d+) (\d+)\s*$/;

export const procLoadavgParser: ParserDef<ProcLoadavgEvent> = {
  name: 'proc-loadavg',
  create() {
    return {
      push(raw, line, emit) {
        const match = LOADAVG.exec(raw);
        if (match) {
          emit({
            kind: 'loadavg',
            line,
            raw,
            load1: Number(match[1]),
            load5: Number(match[2]),
            load15: Number(match[3]),
            running: Number(match[4]),
            total: Number(match[5]),
            lastPid: Number(match[6]),
          });
        } else if (raw.trim() !== '') {
          emit({ kind: 'unparsed', line, raw, reason: 'expected "<1m> <5m> <15m> <running>/<total> <last pid>"' });
        }
      },
    };
  },
};
