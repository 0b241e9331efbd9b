/**
 * `/proc/meminfo`: the kernel's memory accounting, one `Key: value [kB]` line per counter.
 *
 * Reads: `system/meminfo.txt` (item `proc-meminfo`, our agent; the stock script does not collect it).
 * Accepts every kernel's layout: keys with parentheses (`Active(anon)`), sized lines in kB and the unit-less
 * `HugePages_Total/Free/Rsvd/Surp`, which count pages (their size is `Hugepagesize`). kB is converted to bytes once,
 * here; page counts never get a `bytes` value, so nobody multiplies them by 1024 by mistake.
 *
 * Sample (parsed by the test):
 *   MemTotal:       16106452 kB
 *   MemFree:          412340 kB
 *   MemAvailable:     901232 kB
 *   HugePages_Total:       0
 *   Hugepagesize:       2048 kB
 */

import type { LineEvent, ParserDef, UnparsedEvent } from './types.ts';

export interface MeminfoFieldEvent extends LineEvent {
  kind: 'field';
  /** The key as the kernel spells it, e.g. `MemAvailable`, `Active(anon)`, `HugePages_Total`. */
  key: string;
  /** The number as written: kB for sized lines, a count for unit-less ones. */
  value: number;
  unit: 'kB' | null;
  /** `value` in bytes; present only when the line had a kB unit. */
  bytes?: number;
}

export interface MeminfoSummaryEvent extends LineEvent {
  kind: 'summary';
  memTotalBytes?: number;
  memAvailableBytes?: number;
  memFreeBytes?: number;
  swapTotalBytes?: number;
  swapFreeBytes?: number;
  /** Every sized line, in bytes, keyed as in the file. Unit-less lines are in `counts`, never here. */
  fields: Record<string, number>;
  /** Every unit-less line (the HugePages_* page counts), keyed as in the file. */
  counts: Record<string, number>;
}

export type ProcMeminfoEvent = MeminfoFieldEvent | MeminfoSummaryEvent | UnparsedEvent;

const FIELD = /^([^:\s]+):\s+(\d+)(?:\s+(\S+))?\s*$/;

export const procMeminfoParser: ParserDef<ProcMeminfoEvent> = {
  name: 'proc-meminfo',
  create() {
    const fields: Record<string, number> = {};
    const counts: Record<string, number> = {};
    let seen = false;
    return {
      push(raw, line, emit) {
        const match = FIELD.exec(raw);
        if (!match) {
          if (raw.trim() !== '') emit({ kind: 'unparsed', line, raw, reason: 'expected "<Key>: <number> [kB]"' });
          return;
        }
        const key = match[1] as string;
        const value = Number(match[2]);
        const unit = match[3];
        if (unit === undefined) {
          counts[key] = value;
          emit({ kind: 'field', line, raw, key, value, unit: null });
        } else if (unit === 'kB') {
          const bytes = value * 1024;
          fields[key] = bytes;
          emit({ kind: 'field', line, raw, key, value, unit: 'kB', bytes });
        } else {
          emit({ kind: 'unparsed', line, raw, reason: `unknown unit "${unit}" (meminfo uses kB)` });
          return;
        }
        seen = true;
      },
      end(emit) {
        // A file with no readable line gets no summary: zeros here would read as "no memory".
        if (!seen) return;
        emit({
          kind: 'summary',
          line: 0,
          raw: '',
          memTotalBytes: fields.MemTotal,
          memAvailableBytes: fields.MemAvailable,
          memFreeBytes: fields.MemFree,
          swapTotalBytes: fields.SwapTotal,
          swapFreeBytes: fields.SwapFree,
          fields,
          counts,
        });
      },
    };
  },
};
