/**
 * Progress while a dispatch runs, and the table it ends with.
 *
 * On a terminal: a status line at the bottom (counts by SSM status, elapsed time) redrawn in place, with a line per
 * node printed above it as each one finishes. Otherwise (CI logs, pipes): the same per-node lines, and the counts
 * as a plain line when they change, at most every 30 s.
 */
import { formatBytes } from '../../analyzer/report/text.ts';
import type { InvocationView, NodeOutcome } from './outcome.ts';

export interface DisplayIo {
  write: (text: string) => void;
  isTTY: boolean;
  now?: () => number;
}

const STATUS_ORDER = ['Pending', 'InProgress', 'Delayed', 'Success', 'Failed', 'TimedOut', 'Cancelling', 'Cancelled'];

/** `1m12s`, `45s`, `2h03m`. */
export function shortDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** Counts by SSM status; an offline node shows as Undeliverable rather than Failed. */
export function statusCounts(views: Iterable<InvocationView>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const view of views) {
    const key = view.statusDetails.replace(/\s+/g, '') === 'Undeliverable' ? 'Undeliverable' : view.status;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return new Map(
    [...counts].sort(
      ([a], [b]) =>
        (STATUS_ORDER.indexOf(a) < 0 ? 99 : STATUS_ORDER.indexOf(a)) -
          (STATUS_ORDER.indexOf(b) < 0 ? 99 : STATUS_ORDER.indexOf(b)) || (a < b ? -1 : 1),
    ),
  );
}

export function formatCounts(counts: Map<string, number>, total?: number): string {
  const parts = [...counts].map(([status, count]) => `${count} ${status}`);
  const done = [...counts].filter(([status]) => !['Pending', 'InProgress', 'Delayed', 'Cancelling'].includes(status));
  const finished = done.reduce((sum, [, count]) => sum + count, 0);
  const of = total ?? [...counts.values()].reduce((sum, count) => sum + count, 0);
  return `${finished}/${of} done${parts.length > 0 ? ` · ${parts.join(' · ')}` : ''}`;
}

export function nodeLine(outcome: NodeOutcome): string {
  const size = outcome.bundleBytes !== undefined ? formatBytes(outcome.bundleBytes) : '';
  const tail = outcome.error ? `  ${outcome.error}` : size ? `  ${size}` : '';
  return `${outcome.instanceId.padEnd(19)} ${outcome.status.padEnd(17)} ${shortDuration(outcome.durationMs).padStart(6)}${tail}`;
}

export class ProgressDisplay {
  readonly #io: DisplayIo;
  readonly #now: () => number;
  readonly #started: number;
  #status = '';
  #lastPlain = 0;
  #lastPlainText = '';
  #timer?: NodeJS.Timeout;

  constructor(io: DisplayIo) {
    this.#io = io;
    this.#now = io.now ?? Date.now;
    this.#started = this.#now();
    if (io.isTTY) {
      this.#timer = setInterval(() => this.#redraw(), 1000);
      this.#timer.unref();
    }
  }

  #clear(): void {
    if (this.#io.isTTY && this.#status) this.#io.write('\r\x1b[2K');
  }

  #redraw(): void {
    if (!this.#io.isTTY || !this.#status) return;
    const elapsed = shortDuration(this.#now() - this.#started);
    const width = process.stderr.columns ?? 120;
    this.#io.write(`\r\x1b[2K${`[${elapsed}] ${this.#status}`.slice(0, Math.max(20, width - 1))}`);
  }

  /** A line of its own (a step done, a warning), kept above the status line. */
  line(text: string): void {
    this.#clear();
    this.#io.write(`${text}\n`);
    this.#redraw();
  }

  counts(counts: Map<string, number>, total?: number): void {
    const text = formatCounts(counts, total);
    if (this.#io.isTTY) {
      this.#status = text;
      this.#redraw();
      return;
    }
    const now = this.#now();
    if (text !== this.#lastPlainText && now - this.#lastPlain >= 30_000) {
      this.#lastPlain = now;
      this.#lastPlainText = text;
      this.#io.write(`progress: ${text}\n`);
    }
  }

  finished(outcome: NodeOutcome): void {
    this.line(nodeLine(outcome));
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#clear();
    this.#status = '';
  }
}

/** The closing table: one row per node, failures first, then by instance id. */
export function outcomeTable(outcomes: NodeOutcome[]): string {
  const rows = [...outcomes].sort(
    (a, b) =>
      Number(a.status === 'ok') - Number(b.status === 'ok') ||
      (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0),
  );
  const cells = rows.map((outcome) => [
    outcome.instanceId,
    outcome.status,
    shortDuration(outcome.durationMs),
    outcome.bundleBytes !== undefined ? formatBytes(outcome.bundleBytes) : '-',
    (outcome.error ?? '').replace(/\s+/g, ' '),
  ]);
  const header = ['NODE', 'STATUS', 'DURATION', 'BUNDLE', 'ERROR'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => (row[column] ?? '').length)),
  );
  const format = (row: string[]) =>
    row
      .map((cell, column) =>
        column === 4
          ? cell
          : column === 2 || column === 3
            ? cell.padStart(widths[column] ?? 0)
            : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return `${[format(header), ...cells.map(format)].join('\n')}\n`;
}
