/**
 * How a source hands over an item's bytes. A source starts reading (a process, a file, an HTTP response) and returns
 * the byte stream plus a promise of how it ended; the collector pipes the stream through redaction and the spool
 * (budget, tail, temp file) into the bundle. Sources never throw for a node problem: a missing tool, an unreadable
 * file or an endpoint that hangs is an outcome, recorded in the manifest.
 */
import type { Readable } from 'node:stream';
import type { ItemStatus } from '../../contract/bundle.ts';

export interface SourceOutcome {
  /** `truncated` is decided by the spool, not by sources. */
  status: Exclude<ItemStatus, 'truncated'>;
  /** Why it was skipped or failed: `not installed`, `timed out after 10s`, `HTTP 404`, the command's stderr tail. */
  reason?: string;
  exitCode?: number | null;
}

export interface SourceRun {
  /** The item's bytes; ends when the source is done (also on timeout or error). */
  stream: Readable;
  /** Settles once the source has finished; never rejects. */
  done: Promise<SourceOutcome>;
}

export interface SourceContext {
  /** The node root files and journals are read from (`--root`, default `/`). */
  root: string;
  /** Aborts when the whole-run deadline passes or the agent is stopped: sources kill what they started. */
  signal: AbortSignal;
  /** Per-item time limit. */
  timeoutMs: number;
  /** Read budget for file sources: with `tail`, only the last `maxBytes` of a file are read. */
  maxBytes: number;
  tail: boolean;
  /** Environment for commands (PATH, LANG=C); nothing from the agent's own environment leaks beyond it. */
  env: Record<string, string>;
}
