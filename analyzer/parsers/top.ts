/**
 * `top -b -n 1`: one snapshot of load, tasks, CPU split, memory and the process table.
 *
 * Reads: `system/top.txt` (item `top`), written by the stock script as `timeout 75 top -b -n 1 ... 2>&1` and by
 * our agent the same way.
 * Accepts procps-ng 3.3 (`KiB Mem :`, AL2), 4.x (`MiB Mem :`, AL2023) and the older 3.2 layout (`Cpu(s): 72.4%us`,
 * `Mem:  16117980k total, ... buffers`, whose `cached` sits on the Swap line and is added to buffCache). Uptime as
 * `up 12 days,  3:04`, `up 5 min`, `up 1:02`, with or without a user count; decimals with `.` or `,` (the stock
 * script forces LANG=C, other collectors may not). Per-CPU lines (`%Cpu0  :`), also two to a line. Process columns
 * are located from the `PID USER ...` header, so reordered fields still read; COMMAND may hold spaces when it is
 * the last column. VIRT/RES/SHR keep top's text (`1.2g`, `512m`, plain KiB) and add bytes. A number top cut to fit
 * (`16117980+total`) cannot be trusted, so that line is reported unparsed. Stderr lines mixed in are unparsed.
 * Several frames (`-n 2`) read as consecutive snapshots; a new `top - ` line ends the previous process table.
 *
 * Sample (parsed by the test):
 *   top - 10:02:11 up 12 days,  3:04,  0 users,  load average: 7.90, 6.12, 4.01
 *   Tasks: 312 total,   9 running, 303 sleeping,   0 stopped,   0 zombie
 *   %Cpu(s): 72.4 us, 20.1 sy,  0.0 ni,  5.2 id,  0.3 wa,  0.0 hi,  1.6 si,  0.4 st
 *   MiB Mem :  15739.4 total,    491.4 free,  12598.9 used,   2649.9 buff/cache
 *   MiB Swap:      0.0 total,      0.0 free,      0.0 used.   2791.4 avail Mem
 *
 *       PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND
 *      4242 root      20   0 1502348 123456  45678 R  98.0   0.8 123:45.67 aws-k8s-agent
 */

import type { LineEvent, ParserDef, UnparsedEvent } from './types.ts';

export interface TopUptimeEvent extends LineEvent {
  kind: 'uptime';
  /** Wall-clock time of the snapshot as top printed it, e.g. `10:02:11`. */
  time: string;
  /** The uptime as printed, e.g. `12 days,  3:04`. */
  upText: string;
  /** `upText` in seconds, when its parts were recognised. */
  upSeconds?: number;
  users?: number;
  load1: number;
  load5: number;
  load15: number;
}

export interface TopTasksEvent extends LineEvent {
  kind: 'tasks';
  /** `threads` when top ran in threads mode (`-H`). */
  of: 'tasks' | 'threads';
  total: number;
  running: number;
  sleeping: number;
  stopped: number;
  zombie: number;
}

/** Percentages of CPU time over top's sampling interval. */
export interface TopCpuEvent extends LineEvent {
  kind: 'cpu';
  /** `cpu` for the `%Cpu(s)` line (all CPUs, named as in /proc/stat), `cpuN` for one CPU. */
  cpu: string;
  index?: number;
  us: number;
  sy: number;
  ni: number;
  id: number;
  wa: number;
  hi: number;
  si: number;
  st: number;
}

export type TopMemoryUnit = 'KiB' | 'MiB' | 'GiB' | 'TiB' | 'PiB' | 'EiB';

export interface TopMemoryEvent extends LineEvent {
  kind: 'memory';
  unit: TopMemoryUnit;
  total: number;
  free: number;
  used: number;
  /** Buffers plus page cache. */
  buffCache: number;
}

export interface TopSwapEvent extends LineEvent {
  kind: 'swap';
  unit: TopMemoryUnit;
  total: number;
  free: number;
  used: number;
  /** Memory available for new work without swapping (MemAvailable); procps-ng 3.3 and later. */
  availMem?: number;
}

export interface TopProcessEvent extends LineEvent {
  kind: 'process';
  pid: number;
  user: string;
  /** Scheduling priority; `rt` for real-time tasks. */
  pr: number | 'rt';
  ni: number;
  /** As printed: KiB without a suffix, else scaled (`1.2g`, `512m`). */
  virt: string;
  res: string;
  shr: string;
  virtBytes: number;
  resBytes: number;
  shrBytes: number;
  /** One letter: R running, S sleeping, D uninterruptible, Z zombie, T/t stopped, I idle. */
  state: string;
  cpuPercent: number;
  memPercent: number;
  /** CPU time as printed (`TIME+` is `minutes:seconds.hundredths`). */
  time: string;
  command: string;
}

export type TopEvent =
  | TopUptimeEvent
  | TopTasksEvent
  | TopCpuEvent
  | TopMemoryEvent
  | TopSwapEvent
  | TopProcessEvent
  | UnparsedEvent;

type Emitter = (event: TopEvent) => void;

const UPTIME = /^top - (\S+) up (.+?),\s+(?:(\d+) users?,\s+)?load average:\s*(.*)$/;
const LOAD_VALUE = /\d+[.,]\d+/g;
const UP_DAYS = /(\d+) days?/;
const UP_CLOCK = /(\d+):(\d{2})/;
const UP_MINUTES = /(\d+) min/;
const TASKS = /^(Tasks|Threads):\s*(\d+) total,\s*(\d+) running,\s*(\d+) sleeping,\s*(\d+) stopped,\s*(\d+) zombie/;
const CPU_NAME = /^%?Cpu(\(s\)|\d+)\s*:/;
const CPU_FIELD = /(\d+(?:[.,]\d+)?)\s*%?\s*(us|sy|ni|id|wa|hi|si|st)\b/g;
const MEMORY_LINE = /^(?:([KMGTPE]iB) )?(Mem|Swap)\s*:(.*)$/;
const MEMORY_FIELD = /(\d+(?:[.,]\d+)?)([kmgtpe])?(\+)?\s*(total|free|used|buff\/cache|buffers|cached|avail Mem)/gi;
const NUMBER = /^-?\d+(?:[.,]\d+)?$/;
const INTEGER = /^-?\d+$/;
const SCALED_SIZE = /^(\d+(?:[.,]\d+)?)([kmgtpe])?$/i;
const PROCESS_HEADER = /^\s*PID\s/;

const CPU_KEYS = ['us', 'sy', 'ni', 'id', 'wa', 'hi', 'si', 'st'] as const;
const PROCESS_COLUMNS = ['PID', 'USER', 'PR', 'NI', 'VIRT', 'RES', 'SHR', 'S', '%CPU', '%MEM', 'COMMAND'] as const;
const UNIT_BY_SUFFIX: Record<string, TopMemoryUnit> = { k: 'KiB', m: 'MiB', g: 'GiB', t: 'TiB', p: 'PiB', e: 'EiB' };
const KIB_POWER: Record<string, number> = { k: 0, m: 1, g: 2, t: 3, p: 4, e: 5 };

/** Where each needed column sits in a process row, from the header. */
interface ProcessLayout {
  columnCount: number;
  index: Record<(typeof PROCESS_COLUMNS)[number] | 'TIME', number>;
  commandIsLast: boolean;
}

export const topParser: ParserDef<TopEvent> = {
  name: 'top',
  create() {
    let layout: ProcessLayout | undefined;
    /** An old-style `Mem:` line waits for the Swap line, which carries the `cached` half of buffCache. */
    let pendingMemory: TopMemoryEvent | undefined;

    const flushMemory = (emit: Emitter) => {
      if (pendingMemory) emit(pendingMemory);
      pendingMemory = undefined;
    };

    const parseMemoryLine = (match: RegExpExecArray, raw: string, line: number, emit: Emitter): void => {
      const values: Record<string, number> = {};
      let suffix: string | undefined;
      for (const field of (match[3] as string).matchAll(MEMORY_FIELD)) {
        if (field[3]) {
          emit({ kind: 'unparsed', line, raw, reason: 'top cut a number to fit its column (value ends in "+")' });
          return;
        }
        suffix ??= field[2]?.toLowerCase();
        values[(field[4] as string).toLowerCase()] = toNumber(field[1] as string);
      }
      const unit = (match[1] as TopMemoryUnit | undefined) ?? UNIT_BY_SUFFIX[suffix ?? 'k'] ?? 'KiB';
      const { total, free, used } = values;
      if (total === undefined || free === undefined || used === undefined) {
        emit({ kind: 'unparsed', line, raw, reason: 'expected total, free and used' });
        return;
      }
      if (match[2] === 'Mem') {
        const buffCache = values['buff/cache'] ?? values.buffers;
        if (buffCache === undefined) {
          emit({ kind: 'unparsed', line, raw, reason: 'expected buff/cache or buffers' });
          return;
        }
        const memory: TopMemoryEvent = { kind: 'memory', line, raw, unit, total, free, used, buffCache };
        if (values.buffers !== undefined) pendingMemory = memory;
        else emit(memory);
        return;
      }
      if (pendingMemory && values.cached !== undefined) pendingMemory.buffCache += values.cached;
      flushMemory(emit);
      const swap: TopSwapEvent = { kind: 'swap', line, raw, unit, total, free, used };
      if (values['avail mem'] !== undefined) swap.availMem = values['avail mem'];
      emit(swap);
    };

    return {
      push(raw, line, emit) {
        // A second frame (`-n 2`) starts with its own uptime line and ends the previous process table.
        if (layout && !raw.startsWith('top - ')) {
          if (raw.trim() === '') return;
          const process = parseProcessRow(raw, line, layout);
          if (typeof process === 'string') emit({ kind: 'unparsed', line, raw, reason: process });
          else emit(process);
          return;
        }
        layout = undefined;
        if (pendingMemory && !raw.startsWith('Swap')) flushMemory(emit);
        if (raw.trim() === '') return;
        if (raw.startsWith('top - ')) {
          emitOrExplain(parseUptime(raw, line), raw, line, emit);
        } else if (raw.startsWith('Tasks:') || raw.startsWith('Threads:')) {
          emitOrExplain(parseTasks(raw, line), raw, line, emit);
        } else if (raw.startsWith('%Cpu') || raw.startsWith('Cpu')) {
          parseCpuLine(raw, line, emit);
        } else if (PROCESS_HEADER.test(raw)) {
          const parsed = parseProcessHeader(raw);
          if (typeof parsed === 'string') emit({ kind: 'unparsed', line, raw, reason: parsed });
          else layout = parsed;
        } else {
          const memory = MEMORY_LINE.exec(raw);
          if (memory) parseMemoryLine(memory, raw, line, emit);
          else emit({ kind: 'unparsed', line, raw, reason: 'not a top summary line' });
        }
      },
      end(emit) {
        flushMemory(emit);
      },
    };
  },
};

function emitOrExplain(event: TopEvent | string, raw: string, line: number, emit: Emitter): void {
  if (typeof event === 'string') emit({ kind: 'unparsed', line, raw, reason: event });
  else emit(event);
}

/** Top prints `,` decimals in some locales. */
function toNumber(text: string): number {
  return Number(text.replace(',', '.'));
}

function parseUptime(raw: string, line: number): TopUptimeEvent | string {
  const match = UPTIME.exec(raw);
  if (!match) return 'expected "top - <time> up <uptime>, [<n> users,] load average: <1m>, <5m>, <15m>"';
  const loads = (match[4] as string).match(LOAD_VALUE);
  if (loads?.length !== 3) return 'expected three load averages';
  const upText = match[2] as string;
  const event: TopUptimeEvent = {
    kind: 'uptime',
    line,
    raw,
    time: match[1] as string,
    upText,
    load1: toNumber(loads[0] as string),
    load5: toNumber(loads[1] as string),
    load15: toNumber(loads[2] as string),
  };
  const upSeconds = uptimeSeconds(upText);
  if (upSeconds !== undefined) event.upSeconds = upSeconds;
  if (match[3] !== undefined) event.users = Number(match[3]);
  return event;
}

/** Seconds from `12 days,  3:04`, `5 min`, `1 day, 22 min`, `1:02`; undefined when nothing was recognised. */
function uptimeSeconds(upText: string): number | undefined {
  const days = UP_DAYS.exec(upText);
  const clock = UP_CLOCK.exec(upText);
  const minutes = UP_MINUTES.exec(upText);
  if (!days && !clock && !minutes) return undefined;
  let seconds = days ? Number(days[1]) * 86_400 : 0;
  if (clock) seconds += Number(clock[1]) * 3600 + Number(clock[2]) * 60;
  if (minutes) seconds += Number(minutes[1]) * 60;
  return seconds;
}

function parseTasks(raw: string, line: number): TopTasksEvent | string {
  const match = TASKS.exec(raw);
  if (!match) return 'expected "<n> total, <n> running, <n> sleeping, <n> stopped, <n> zombie"';
  return {
    kind: 'tasks',
    line,
    raw,
    of: match[1] === 'Threads' ? 'threads' : 'tasks',
    total: Number(match[2]),
    running: Number(match[3]),
    sleeping: Number(match[4]),
    stopped: Number(match[5]),
    zombie: Number(match[6]),
  };
}

/** One event per `%Cpu…:` segment; top can print two CPUs on one line. */
function parseCpuLine(raw: string, line: number, emit: Emitter): void {
  const marker = raw.startsWith('%') ? '%Cpu' : 'Cpu';
  let start = 0;
  while (start !== -1) {
    const next = raw.indexOf(marker, start + marker.length);
    const segment = next === -1 ? raw.slice(start) : raw.slice(start, next);
    emitOrExplain(parseCpuSegment(segment, raw, line), raw, line, emit);
    start = next;
  }
}

function parseCpuSegment(segment: string, raw: string, line: number): TopCpuEvent | string {
  const name = CPU_NAME.exec(segment);
  if (!name) return 'expected "%Cpu(s):" or "%CpuN :"';
  const values: Partial<Record<(typeof CPU_KEYS)[number], number>> = {};
  for (const field of segment.slice(name[0].length).matchAll(CPU_FIELD)) {
    values[field[2] as (typeof CPU_KEYS)[number]] = toNumber(field[1] as string);
  }
  const missing = CPU_KEYS.filter((key) => values[key] === undefined);
  if (missing.length > 0) return `CPU line lacks ${missing.join(', ')} (graph mode or an unknown layout)`;
  const which = name[1] as string;
  const event: TopCpuEvent = {
    kind: 'cpu',
    line,
    raw,
    cpu: which === '(s)' ? 'cpu' : `cpu${which}`,
    us: values.us as number,
    sy: values.sy as number,
    ni: values.ni as number,
    id: values.id as number,
    wa: values.wa as number,
    hi: values.hi as number,
    si: values.si as number,
    st: values.st as number,
  };
  if (which !== '(s)') event.index = Number(which);
  return event;
}

function parseProcessHeader(raw: string): ProcessLayout | string {
  const columns = raw.trim().split(/\s+/);
  const index: Partial<ProcessLayout['index']> = {};
  columns.forEach((column, position) => {
    index[(column === 'TIME+' ? 'TIME' : column) as keyof ProcessLayout['index']] = position;
  });
  const missing = [...PROCESS_COLUMNS, 'TIME' as const].filter((column) => index[column] === undefined);
  if (missing.length > 0) return `process header lacks ${missing.join(', ')}`;
  return {
    columnCount: columns.length,
    index: index as ProcessLayout['index'],
    commandIsLast: index.COMMAND === columns.length - 1,
  };
}

/** Splits off `count - 1` whitespace-separated fields; the last field is the rest of the line. */
function splitFields(raw: string, count: number): string[] {
  const fields: string[] = [];
  const length = raw.length;
  let position = 0;
  while (fields.length < count) {
    while (position < length && raw.charCodeAt(position) <= 32) position++;
    if (position >= length) break;
    if (fields.length === count - 1) {
      fields.push(raw.slice(position).trimEnd());
      break;
    }
    let end = position;
    while (end < length && raw.charCodeAt(end) > 32) end++;
    fields.push(raw.slice(position, end));
    position = end;
  }
  return fields;
}

/** Bytes from top's memory column: plain KiB or a number scaled by k/m/g/t/p/e. */
function scaledBytes(text: string): number | undefined {
  const match = SCALED_SIZE.exec(text);
  if (!match) return undefined;
  const power = KIB_POWER[match[2]?.toLowerCase() ?? 'k'] ?? 0;
  return Math.round(toNumber(match[1] as string) * 1024 ** (power + 1));
}

function parseProcessRow(raw: string, line: number, layout: ProcessLayout): TopProcessEvent | string {
  const fields = layout.commandIsLast ? splitFields(raw, layout.columnCount) : raw.trim().split(/\s+/);
  if (fields.length < layout.columnCount) return `expected ${layout.columnCount} columns, found ${fields.length}`;
  const { index } = layout;
  const at = (position: number) => fields[position] as string;
  const pid = at(index.PID);
  const pr = at(index.PR);
  const ni = at(index.NI);
  const cpu = at(index['%CPU']);
  const mem = at(index['%MEM']);
  if (!INTEGER.test(pid) || !INTEGER.test(ni) || (pr !== 'rt' && !INTEGER.test(pr))) {
    return 'PID, PR or NI is not a number';
  }
  if (!NUMBER.test(cpu) || !NUMBER.test(mem)) return '%CPU or %MEM is not a number';
  const virt = at(index.VIRT);
  const res = at(index.RES);
  const shr = at(index.SHR);
  const virtBytes = scaledBytes(virt);
  const resBytes = scaledBytes(res);
  const shrBytes = scaledBytes(shr);
  if (virtBytes === undefined || resBytes === undefined || shrBytes === undefined) {
    return 'VIRT, RES or SHR is not a size';
  }
  return {
    kind: 'process',
    line,
    raw,
    pid: Number(pid),
    user: at(index.USER),
    pr: pr === 'rt' ? 'rt' : Number(pr),
    ni: Number(ni),
    virt,
    res,
    shr,
    virtBytes,
    resBytes,
    shrBytes,
    state: at(index.S),
    cpuPercent: toNumber(cpu),
    memPercent: toNumber(mem),
    time: at(index.TIME),
    command: at(index.COMMAND),
  };
}
