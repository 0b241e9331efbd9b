/**
 * `systemctl cat <unit>` output: each unit file and drop-in, headed by `# <path>`, parsed into sections and
 * directives the way systemd reads them.
 *
 * Reads: `kubelet/kubelet_service.txt` (the stock script's `systemctl cat kubelet > ... 2>&1`; ours the same). A plain
 * unit file without `# <path>` headers also works: its events simply carry no `file`.
 * Accepts:
 * - file headers `# /etc/systemd/system/kubelet.service` and drop-ins `# /etc/systemd/system/kubelet.service.d/10-kubelet-args.conf`
 *   (an absolute path ending in a unit suffix, or `.conf` under a `.d/` directory, at the top or after a blank line,
 *   which is how systemctl separates files);
 * - backslash continuations, joined as systemd does (the backslash becomes a space, the next line is appended as is,
 *   comment lines inside are skipped, a blank line ends it): one `directive` whose `line` and `raw` are its first line;
 * - empty assignments (`ExecStart=`, which resets a list) as `value: ''`;
 * - `#` and `;` comments, skipped; systemctl's own notices (`# Warning: kubelet.service changed on disk, ...`,
 *   `# Unit kubelet.service is masked.`) as `notice`;
 * - `No files found for kubelet.service.` (systemctl's message, on stderr, when the unit has no file) as `missing`.
 * Assignments outside a section (systemd ignores them), malformed section headers, lines without `=` and anything
 * else are `unparsed`. A directive the reader cut at its line limit keeps its start with `cut: true`.
 *
 * Sample (parsed by the test):
 *   # /etc/systemd/system/kubelet.service
 *   [Service]
 *   ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5
 *   ExecStart=/usr/bin/kubelet \
 *       $NODEADM_KUBELET_ARGS
 */

import { LONG_LINE_MARK } from '../bundle/lines.ts';
import type { LineEvent, ParserDef, UnparsedEvent } from './types.ts';

export interface UnitFileEvent extends LineEvent {
  kind: 'file';
  /** The unit file or drop-in path as systemctl printed it. */
  path: string;
}

export interface UnitSectionEvent extends LineEvent {
  kind: 'section';
  /** The file the section is in; absent when the input had no `# <path>` header. */
  file?: string;
  section: string;
}

export interface UnitDirectiveEvent extends LineEvent {
  kind: 'directive';
  file?: string;
  section: string;
  key: string;
  /** Trimmed, continuations joined; quotes and `$VARIABLES` kept as written. */
  value: string;
  /** The reader cut a line of this directive at its length limit: `value` is a prefix. */
  cut?: true;
}

export interface UnitMissingEvent extends LineEvent {
  kind: 'missing';
  /** The message, e.g. `No files found for kubelet.service.`. */
  text: string;
  unit: string;
}

export interface UnitNoticeEvent extends LineEvent {
  kind: 'notice';
  /** systemctl's notice without the leading `# `. */
  text: string;
}

export type SystemdUnitEvent =
  | UnitFileEvent
  | UnitSectionEvent
  | UnitDirectiveEvent
  | UnitMissingEvent
  | UnitNoticeEvent
  | UnparsedEvent;

const UNIT_SUFFIX = /\.(?:service|socket|target|timer|mount|automount|swap|path|slice|scope|device)$/;
const MISSING = /^No files found for (\S+)\.$/;
const NOTICE = /^# (?:Warning: \S+ changed on disk|Unit \S+ (?:is masked|could not be loaded)\.)/;
const KEY = /^[A-Za-z0-9_.-]+$/;

interface PendingDirective {
  line: number;
  raw: string;
  file: string | undefined;
  section: string;
  key: string;
  value: string;
  cut: boolean;
}

export const systemdUnitParser: ParserDef<SystemdUnitEvent> = {
  name: 'systemd-unit',
  create() {
    let file: string | undefined;
    let section: string | undefined;
    let previousBlank = true;
    /** A section or directive was read: from then on only a blank line may precede a file header. */
    let started = false;
    let pending: PendingDirective | undefined;

    return {
      push(raw, line, emit) {
        const cut = raw.endsWith(LONG_LINE_MARK);
        // systemd drops only the line terminator before looking for a continuation backslash.
        const text = cut ? raw.slice(0, -LONG_LINE_MARK.length) : raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        const trimmed = text.trim();
        const wasBlank = previousBlank;
        previousBlank = trimmed === '';

        if (pending) {
          if (trimmed === '') {
            emit(directiveEvent(pending));
            pending = undefined;
            return;
          }
          if (trimmed[0] === '#' || trimmed[0] === ';') return;
          const continued = endsWithContinuation(text);
          pending.value += continued ? `${text.slice(0, -1)} ` : text;
          if (cut) pending.cut = true;
          if (!continued || cut) {
            emit(directiveEvent(pending));
            pending = undefined;
          }
          return;
        }

        if (trimmed === '') return;

        if (trimmed[0] === '#' || trimmed[0] === ';') {
          const path = trimmed.startsWith('# /') ? trimmed.slice(2) : '';
          if (path !== '' && (wasBlank || !started) && isUnitPath(path)) {
            file = path;
            section = undefined;
            emit({ kind: 'file', line, raw, path });
          } else if (NOTICE.test(trimmed)) {
            emit({ kind: 'notice', line, raw, text: trimmed.slice(2) });
          }
          return;
        }

        if (trimmed[0] === '[') {
          if (trimmed.length < 3 || trimmed[trimmed.length - 1] !== ']') {
            emit({ kind: 'unparsed', line, raw, reason: 'section header without a closing "]"' });
            return;
          }
          section = trimmed.slice(1, -1);
          started = true;
          const event: UnitSectionEvent = { kind: 'section', line, raw, section };
          if (file !== undefined) event.file = file;
          emit(event);
          return;
        }

        const equals = trimmed.indexOf('=');
        if (equals === -1) {
          const missing = MISSING.exec(trimmed);
          if (missing) emit({ kind: 'missing', line, raw, text: trimmed, unit: missing[1] as string });
          else emit({ kind: 'unparsed', line, raw, reason: 'expected "[Section]" or "Key=value"' });
          return;
        }
        const key = trimmed.slice(0, equals).trim();
        if (!KEY.test(key)) {
          emit({ kind: 'unparsed', line, raw, reason: `"${key}" is not a directive name` });
          return;
        }
        if (section === undefined) {
          emit({ kind: 'unparsed', line, raw, reason: 'assignment outside a section (systemd ignores it)' });
          return;
        }
        started = true;
        const rest = text.slice(text.indexOf('=') + 1);
        const continued = !cut && endsWithContinuation(rest);
        const directive: PendingDirective = {
          line,
          raw,
          file,
          section,
          key,
          value: continued ? `${rest.slice(0, -1)} ` : rest,
          cut,
        };
        if (continued) pending = directive;
        else emit(directiveEvent(directive));
      },
      end(emit) {
        // A file that ends inside a continuation (cut short, or a stray backslash): systemd would use what it has.
        if (pending) emit(directiveEvent(pending));
        pending = undefined;
      },
    };
  },
};

function isUnitPath(path: string): boolean {
  if (/\s/.test(path)) return false;
  return UNIT_SUFFIX.test(path) || (path.endsWith('.conf') && path.includes('.d/'));
}

/** An odd number of trailing backslashes continues the line; an even number is escaped backslashes. */
function endsWithContinuation(text: string): boolean {
  let count = 0;
  for (let index = text.length - 1; index >= 0 && text[index] === '\\'; index--) count++;
  return count % 2 === 1;
}

function directiveEvent(directive: PendingDirective): UnitDirectiveEvent {
  const event: UnitDirectiveEvent = {
    kind: 'directive',
    line: directive.line,
    raw: directive.raw,
    section: directive.section,
    key: directive.key,
    value: directive.value.trim(),
  };
  if (directive.file !== undefined) event.file = directive.file;
  if (directive.cut) event.cut = true;
  return event;
}
