/**
 * cri-log: Kubernetes container log files, as the kubelet's container runtime writes them under
 * `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log` (symlinked from
 * `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`; the stock collector copies both).
 *
 * Reads `aws-node-container-log` and `network-policy-agent-container-log`.
 *
 * Layouts accepted:
 * - CRI (containerd, CRI-O): `<RFC 3339 time> <stdout|stderr> <tag> <message>`. The tag is `F` (full line) or `P`
 *   (partial: the runtime split a long line, 16 KiB in containerd), optionally followed by `:`-separated extra tags.
 *   Partial lines are joined with the following lines of the same stream up to the `F` line. The joined message is
 *   bounded (MAX_JOINED_PARTS lines, MAX_JOINED_CHARS characters): past that the text is dropped up to the `F` line
 *   and the entry is marked `truncated`. A partial record that never ends (end of file, or lines missing in between
 *   because the rules' prefilter skipped them) is emitted with what it has and marked `incomplete`.
 * - docker json-file (dockershim-era nodes): `{"log":"…\n","stream":"stderr","time":"…"}`. A `log` without a
 *   trailing newline is a partial line and is joined the same way.
 * A message that is a zap JSON object (the aws-node entrypoint, ipamd and the network policy agent log JSON) is also
 * decoded into `json`. Prefilter substrings must not contain `"` or `\`: docker json-file escapes them.
 *
 * Sample (cri-log.test.ts parses these lines):
 *   2024-03-10T17:25:08.487123456Z stdout F {"level":"info","ts":"2024-03-10T17:25:08.487Z","caller":"entrypoint.sh","msg":"Checking for IPAM connectivity ... "}
 *   2024-03-10T17:25:09.101000000Z stderr P {"level":"error","ts":"2024-03-10T17:25:09.100Z","logger":"ebpf-client",
 *   2024-03-10T17:25:09.101000001Z stderr F "msg":"BPF map update failed","error":"argument list too long"}
 *   2024-03-10T17:25:10.000000000Z stdout F Copying CNI plugin binaries ...
 *   {"log":"{\"level\":\"info\",\"ts\":\"2022-02-04T22:24:55.014Z\",\"caller\":\"entrypoint.sh\",\"msg\":\"Retrying waiting for IPAM-D\"}\n","stream":"stdout","time":"2022-02-04T22:24:55.014816383Z"}
 */

import type { Emit, LineEvent, LineParser, ParserDef, UnparsedEvent } from './types.ts';

export type CriLogStream = 'stdout' | 'stderr';

export interface CriLogEntry extends LineEvent {
  kind: 'entry';
  /** As written (RFC 3339, nanoseconds in CRI files); for a joined record, the time of its first line. */
  time: string;
  stream: CriLogStream;
  /** What the container wrote, partial lines joined, without the line's own newline. */
  message: string;
  /** The message decoded, when it is a zap JSON object (a `{…}` with a string `msg` or `level`). */
  json?: Record<string, unknown>;
  /** For a record joined from partial lines: the line number of its last line (`line` is the first). */
  endLine?: number;
  /** The joined message reached the bound; the rest of the record was dropped. */
  truncated?: true;
  /** The record's final (`F`) line never came: the file ended, or lines in between were not delivered. */
  incomplete?: true;
}

export type CriLogEvent = CriLogEntry | UnparsedEvent;

/** Lines joined into one record at most (containerd splits at 16 KiB, so this is 512 KiB of text). */
export const MAX_JOINED_PARTS = 32;
/** Characters kept of one joined record. */
export const MAX_JOINED_CHARS = 512 * 1024;

const CRI_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const NOT_A_CONTAINER_LOG_LINE =
  'neither a CRI log line (<time> <stdout|stderr> <F|P> <message>) nor a docker json-file line';

/** One physical line, read. */
interface PhysicalLine {
  time: string;
  stream: CriLogStream;
  text: string;
  partial: boolean;
}

/** A record being joined from partial lines. */
interface Pending {
  line: number;
  raw: string;
  time: string;
  stream: CriLogStream;
  parts: string[];
  chars: number;
  lastLine: number;
  truncated: boolean;
}

function unparsed(raw: string, line: number, reason: string): UnparsedEvent {
  return { kind: 'unparsed', line, raw, reason };
}

function readCriLine(raw: string): PhysicalLine | string {
  const firstSpace = raw.indexOf(' ');
  if (firstSpace < 0) return NOT_A_CONTAINER_LOG_LINE;
  const time = raw.slice(0, firstSpace);
  if (!CRI_TIME.test(time)) return NOT_A_CONTAINER_LOG_LINE;
  const secondSpace = raw.indexOf(' ', firstSpace + 1);
  if (secondSpace < 0) return 'CRI line without a tag';
  const stream = raw.slice(firstSpace + 1, secondSpace);
  if (stream !== 'stdout' && stream !== 'stderr') return `CRI line with an unknown stream "${stream}"`;
  const thirdSpace = raw.indexOf(' ', secondSpace + 1);
  // An empty message is written as `<time> <stream> F` with nothing after the tag.
  const tags = thirdSpace < 0 ? raw.slice(secondSpace + 1) : raw.slice(secondSpace + 1, thirdSpace);
  const tag = tags.split(':')[0];
  if (tag !== 'F' && tag !== 'P') return `CRI line with an unknown tag "${tags}"`;
  return { time, stream, text: thirdSpace < 0 ? '' : raw.slice(thirdSpace + 1), partial: tag === 'P' };
}

function readDockerLine(raw: string): PhysicalLine | string {
  const trimmed = raw.trimEnd();
  if (!trimmed.endsWith('}')) return 'JSON line cut short (no closing brace)';
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return 'invalid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'JSON value is not an object';
  const record = value as Record<string, unknown>;
  if (typeof record.log !== 'string') return 'docker json-file line without a string "log"';
  const stream = record.stream;
  if (stream !== 'stdout' && stream !== 'stderr') return 'docker json-file line without a stdout/stderr "stream"';
  const partial = !record.log.endsWith('\n');
  return {
    time: typeof record.time === 'string' ? record.time : '',
    stream,
    text: partial ? record.log : record.log.slice(0, -1),
    partial,
  };
}

/** The message as a zap JSON object, when it is one; parsing is tried only on text shaped like an object. */
export function zapObject(message: string): Record<string, unknown> | undefined {
  const text = message.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  return typeof record.msg === 'string' || typeof record.level === 'string' ? record : undefined;
}

class CriLogLineParser implements LineParser<CriLogEvent> {
  readonly #pending = new Map<CriLogStream, Pending>();
  #previousLine = 0;

  push(raw: string, line: number, emit: Emit<CriLogEvent>): void {
    // Lines skipped by the prefilter may have been continuations: a record cannot be joined across them.
    if (line !== this.#previousLine + 1) this.#flushAll(emit);
    this.#previousLine = line;

    if (raw.trim() === '') {
      emit(unparsed(raw, line, 'empty line'));
      return;
    }
    const read = raw.charCodeAt(0) === 123 /* { */ ? readDockerLine(raw) : readCriLine(raw);
    if (typeof read === 'string') {
      emit(unparsed(raw, line, read));
      return;
    }

    const pending = this.#pending.get(read.stream);
    if (!pending) {
      if (!read.partial) {
        emit(entry(line, raw, read.time, read.stream, read.text));
        return;
      }
      this.#pending.set(read.stream, {
        line,
        raw,
        time: read.time,
        stream: read.stream,
        parts: [read.text],
        chars: read.text.length,
        lastLine: line,
        truncated: false,
      });
      return;
    }

    pending.lastLine = line;
    if (!pending.truncated) {
      if (pending.parts.length >= MAX_JOINED_PARTS || pending.chars + read.text.length > MAX_JOINED_CHARS) {
        pending.truncated = true;
      } else {
        pending.parts.push(read.text);
        pending.chars += read.text.length;
      }
    }
    if (!read.partial) {
      this.#pending.delete(read.stream);
      emit(joined(pending, false));
    }
  }

  end(emit: Emit<CriLogEvent>): void {
    this.#flushAll(emit);
  }

  #flushAll(emit: Emit<CriLogEvent>): void {
    const open = [...this.#pending.values()].sort((a, b) => a.line - b.line);
    this.#pending.clear();
    for (const pending of open) emit(joined(pending, true));
  }
}

function entry(line: number, raw: string, time: string, stream: CriLogStream, message: string): CriLogEntry {
  const event: CriLogEntry = { kind: 'entry', line, raw, time, stream, message };
  const json = zapObject(message);
  if (json) event.json = json;
  return event;
}

function joined(pending: Pending, incomplete: boolean): CriLogEntry {
  const event = entry(pending.line, pending.raw, pending.time, pending.stream, pending.parts.join(''));
  if (pending.lastLine !== pending.line) event.endLine = pending.lastLine;
  if (pending.truncated) event.truncated = true;
  if (incomplete) event.incomplete = true;
  return event;
}

export const criLogParser: ParserDef<CriLogEvent> = {
  name: 'cri-log',
  create: () => new CriLogLineParser(),
};
