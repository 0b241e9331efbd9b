/**
 * `ps fauxwww --headers`: every process with its owner, CPU and memory share, state and full command line, as a
 * parent/child forest.
 *
 * Reads: `system/ps.txt` (item `ps`), written by the stock script as `timeout 75 ps fauxwww --headers ... 2>&1` and
 * by our agent the same way.
 * Accepts the BSD `u` layout of procps-ng 3.3 and 4.x: USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND (PID is
 * right-aligned to the width of pid_max; START is one token: `10:00`, `Jan01` or `2023`). `--headers` repeats the
 * header every page; repeats are skipped. The forest prefix procps draws before COMMAND (4 characters per level:
 * `    `, ` |  `, and ` \_ ` last) is stripped from `command` and turned into `depth` (0 for a root); `raw` keeps it.
 * `%CPU`/`%MEM` with `,` decimals are read too. Stderr lines mixed in (`Signal 21 (TTIN) caught by ps`) are unparsed.
 *
 * Sample (parsed by the test):
 *   USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
 *   root           1  0.0  0.1 171592 13308 ?        Ss   Jan01   1:02 /usr/lib/systemd/systemd --switched-root
 *   root        3310  0.0  0.2 1236608 20480 ?       Sl   Jan01   2:47 /usr/bin/containerd-shim-runc-v2 -namespace k8s.io
 *   root        3402 98.2  0.8 1502348 123456 ?      Ssl  Jan01 3412:05  \_ /app/aws-k8s-agent
 *   root        3455  0.0  0.0   1604  1024 ?        S    10:00   0:00      \_ /app/grpc-health-probe -addr=:50051
 */

import type { LineEvent, ParserDef, UnparsedEvent } from './types.ts';

export interface PsProcessEvent extends LineEvent {
  kind: 'process';
  /** User name, a numeric uid, or a name ps cut to 8 characters ending in `+`. */
  user: string;
  pid: number;
  /** CPU time used divided by time running, over the process's whole life (not a recent sample). */
  cpuPercent: number;
  memPercent: number;
  vszKiB: number;
  rssKiB: number;
  /** `?` when the process has no controlling terminal. */
  tty: string;
  /** State letter plus BSD flags, e.g. `Ssl`, `R+`, `D<`, `Z`. */
  stat: string;
  start: string;
  /** Cumulative CPU time as printed (`MMM:SS`). */
  time: string;
  /** The command line without the forest prefix. */
  command: string;
  /** Levels below a root in the forest: 0 for a root, 1 under ` \_ `, and so on. */
  depth: number;
}

export type PsEvent = PsProcessEvent | UnparsedEvent;

const HEADER = ['USER', 'PID', '%CPU', '%MEM', 'VSZ', 'RSS', 'TTY', 'STAT', 'START', 'TIME', 'COMMAND'];
const HEADER_TEXT = HEADER.join(' ');
const FIXED_COLUMNS = HEADER.length - 1;
/** Ancestor levels (4 characters each) followed by the branch that leads to this process. */
const FOREST_PREFIX = /^((?: {4}| \| {2})*) \\_ /;
const INTEGER = /^\d+$/;
const PERCENT = /^\d+(?:[.,]\d+)?$/;

export const psParser: ParserDef<PsEvent> = {
  name: 'ps',
  create() {
    return {
      push(raw, line, emit) {
        if (raw.trim() === '') return;
        const row = parseRow(raw, line);
        if (typeof row === 'string') emit({ kind: 'unparsed', line, raw, reason: row });
        else if (row) emit(row);
      },
    };
  },
};

/** The process on a row, undefined for a header, or why the row could not be read. */
function parseRow(raw: string, line: number): PsProcessEvent | string | undefined {
  const fields: string[] = [];
  const length = raw.length;
  let position = 0;
  while (fields.length < FIXED_COLUMNS) {
    while (position < length && raw.charCodeAt(position) === 32) position++;
    if (position >= length) break;
    let end = position;
    while (end < length && raw.charCodeAt(end) !== 32) end++;
    fields.push(raw.slice(position, end));
    position = end;
  }
  if (fields[0] === 'USER' && fields[1] === 'PID') {
    return normalizeSpaces(raw) === HEADER_TEXT ? undefined : `unexpected ps header (expected "${HEADER_TEXT}")`;
  }
  if (fields.length < FIXED_COLUMNS || raw.trimEnd().length <= position) {
    return `expected ${HEADER.length} columns (USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND)`;
  }
  // The length check above makes every default unreachable; they only satisfy the index type.
  const [user = '', pid = '', cpu = '', mem = '', vsz = '', rss = '', tty = '', stat = '', start = '', time = ''] =
    fields;
  if (!INTEGER.test(pid) || !INTEGER.test(vsz) || !INTEGER.test(rss)) return 'PID, VSZ or RSS is not a number';
  if (!PERCENT.test(cpu) || !PERCENT.test(mem)) return '%CPU or %MEM is not a number';
  // One space separates TIME from COMMAND; anything after it up to the branch is the forest prefix.
  let command = raw.slice(position + 1);
  let depth = 0;
  const prefix = FOREST_PREFIX.exec(command);
  if (prefix) {
    depth = (prefix[1] as string).length / 4 + 1;
    command = command.slice(prefix[0].length);
  }
  return {
    kind: 'process',
    line,
    raw,
    user,
    pid: Number(pid),
    cpuPercent: Number(cpu.replace(',', '.')),
    memPercent: Number(mem.replace(',', '.')),
    vszKiB: Number(vsz),
    rssKiB: Number(rss),
    tty,
    stat,
    start,
    time,
    command: command.trimEnd(),
    depth,
  };
}

function normalizeSpaces(text: string): string {
  return text.trim().split(/\s+/).join(' ');
}
