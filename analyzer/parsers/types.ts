/**
 * The shape every streaming parser has. A parser is created once per bundle file, receives that file's lines in
 * order (already split, decoded and capped by the reader) and emits typed events. It never buffers the file and
 * never throws on bad input: a line it cannot read becomes an `unparsed` event with a reason, which the report
 * counts per file.
 *
 * Push style (a callback per event) rather than async generators: the engine calls parsers millions of times per
 * bundle and a promise per line would dominate the cost.
 */

export interface LineEvent {
  /** 1-based line number in the bundle file. */
  line: number;
  /** The line as it stands in the file (capped at the reader's line limit). */
  raw: string;
}

export interface UnparsedEvent extends LineEvent {
  kind: 'unparsed';
  reason: string;
}

export type Emit<E> = (event: E) => void;

export interface LineParser<E> {
  push(raw: string, line: number, emit: Emit<E>): void;
  /** Called once after the last line (also when the file was cut short); may emit summary events. */
  end?(emit: Emit<E>): void;
}

/** What a parser may be told about its file beyond the lines themselves (the engine fills it from the bundle). */
export interface ParseContext {
  /**
   * Year to give timestamps written without one (journalctl `short`, syslog `Nov 20 08:41:07`): the year the file
   * was last written (its mtime), i.e. the year of its last lines. Every such line gets this year, so in a file that
   * spans New Year the December lines come out a year late; `referenceTime` avoids that.
   */
  referenceYear?: number;
  /**
   * When the file was last written (its mtime, or the collection time), in epoch milliseconds. Preferred over
   * `referenceYear`: each year-less timestamp gets the latest year that does not put it after this time.
   */
  referenceTime?: number;
}

export interface ParserDef<E> {
  /** Stable name, e.g. `iptables-save`; used in reports when counting unparsed lines. */
  name: string;
  create(context?: ParseContext): LineParser<E>;
}

/** The event type a parser definition produces. */
export type EventOf<P> = P extends ParserDef<infer E> ? E : never;
