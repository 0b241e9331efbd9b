/**
 * `iptables -nvL [-t table]` / `ip6tables -nvL` listings: chains with their policy counters, then one row per rule.
 *
 * Reads: the stock script's `networking/ip{,6}tables{,-filter,-nat,-mangle}.txt`, written by
 * `iptables --wait 1 --numeric --verbose --list [--table T] | tee FILE | sed ... | echo -e "=======\nTotal Number of
 * Rules: $(wc -l)" >> FILE`, so each file ends with a `=======` line (skipped) and `Total Number of Rules: N` (a
 * `total-rules` event; N counts the listing's lines that are not blank, `Chain ...`, `num ...` or ` pkts ... destination`,
 * i.e. the rule rows). Our agent's listings have the same layout without the trailer.
 * Accepts, as iptables prints them (xshared.c, print_header/print_rule_details):
 * - chain headers `Chain FORWARD (policy DROP 12 packets, 720 bytes)`, `Chain KUBE-FORWARD (1 references)` and
 *   `Chain X (ERROR obtaining refs)`;
 * - counters with the K/M/G/T suffixes `-v` prints without `-x` (`1538K`, `775M`). iptables rounds them to the nearest
 *   1000, 1000^2, ..., so `packets`/`bytes` are that rounded number, not the exact count;
 * - an empty target column (rules without `-j`), found by the gap after the counters: a printed target starts one space
 *   after the byte counter, an empty one leaves ten or more spaces;
 * - a protocol of five characters or more glued to the opt column (`ipv6-icmp--`, `udplite--`), since iptables prints
 *   the protocol with `%-5s` and no separator;
 * - no opt at all: ip6tables before 1.8.9 (legacy, and nft's "fake" fragment column) prints blanks there (`opt: null`);
 * - `--line-numbers` listings (a `num` column, `ruleNumber`);
 * - iptables-nft's `# Warning: iptables-legacy tables present, use iptables-legacy to see them` (`warning`).
 * Rows before any `Chain` header, listings without `-v` (no counters) and anything else are `unparsed`; blank lines
 * are skipped. Lines cut at the reader's limit keep their columns and a partial `extra`, with `cut: true`.
 *
 * Sample (parsed by the test):
 *   Chain FORWARD (policy DROP 12 packets, 720 bytes)
 *    pkts bytes target     prot opt in     out     source               destination
 *   1538K  775M ACCEPT     all  --  *      *       0.0.0.0/0            0.0.0.0/0            ctstate RELATED,ESTABLISHED
 *       0     0            all  --  *      *       0.0.0.0/0            0.0.0.0/0
 *   =======
 *   Total Number of Rules: 2
 */

import { LONG_LINE_MARK } from '../bundle/lines.ts';
import type { LineEvent, ParserDef, UnparsedEvent } from './types.ts';

export interface IptablesListChainEvent extends LineEvent {
  kind: 'chain';
  chain: string;
  /** `ACCEPT`, `DROP`, ... for built-in chains; null for user chains, which show a reference count instead. */
  policy: string | null;
  /** Policy counters (packets that fell through to the policy); absent without `-v`. */
  packets?: number;
  bytes?: number;
  /** How many rules jump to this user chain; absent for built-in chains and `(ERROR obtaining refs)`. */
  references?: number;
}

export interface IptablesListColumnHeaderEvent extends LineEvent {
  kind: 'column-header';
}

export interface IptablesListRuleEvent extends LineEvent {
  kind: 'rule';
  chain: string;
  /** The `num` column of `--line-numbers` listings. */
  ruleNumber?: number;
  /** Rounded to the printed precision when iptables used a K/M/G/T suffix. */
  packets: number;
  bytes: number;
  /** null when the rule has no `-j` (it only counts packets). */
  target: string | null;
  /** e.g. `all`, `tcp`, `!udp`, `ipv6-icmp`, or a number for protocols iptables has no name for. */
  prot: string;
  /** `--`, `-f`, `!f` (old ip6tables: a traffic class such as `0x10`); null where ip6tables printed blanks. */
  opt: string | null;
  /** Interfaces, `*` for any, `!` prefixed when inverted (`!vlan+`). */
  in: string;
  out: string;
  /** Addresses with prefix length, `!` prefixed when inverted (`!172.30.0.0/16`). */
  source: string;
  destination: string;
  /** Match and target details after the destination (`ADDRTYPE match dst-type !LOCAL to:10.0.0.5`); '' when none. */
  extra: string;
  /** The reader cut the line at its length limit: `extra` is partial. */
  cut?: true;
}

export interface IptablesListTotalRulesEvent extends LineEvent {
  kind: 'total-rules';
  count: number;
}

export interface IptablesListWarningEvent extends LineEvent {
  kind: 'warning';
  /** The notice without the leading `# `. */
  text: string;
}

export type IptablesListEvent =
  | IptablesListChainEvent
  | IptablesListColumnHeaderEvent
  | IptablesListRuleEvent
  | IptablesListTotalRulesEvent
  | IptablesListWarningEvent
  | UnparsedEvent;

const CHAIN_HEADER =
  /^Chain (\S+) \((?:policy (\S+)(?: (\S+) packets, (\S+) bytes)?|(-?\d+) references|ERROR obtaining refs)\)$/;
const TOTAL_RULES = 'Total Number of Rules:';
const SUFFIX_MULTIPLIER: Record<string, number> = { K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

interface Layout {
  lineNumbers: boolean;
  counters: boolean;
}

export const iptablesListParser: ParserDef<IptablesListEvent> = {
  name: 'iptables-list',
  create() {
    let chain: string | null = null;
    let layout: Layout = { lineNumbers: false, counters: true };
    return {
      push(raw, line, emit) {
        const cut = raw.endsWith(LONG_LINE_MARK);
        const text = (cut ? raw.slice(0, -LONG_LINE_MARK.length) : raw).trimEnd();
        if (text === '') return;

        if (text.startsWith('Chain ')) {
          const header = parseChainHeader(text);
          if (header === null) {
            emit({ kind: 'unparsed', line, raw, reason: 'expected "Chain <name> (policy ...)" or "(N references)"' });
            return;
          }
          chain = header.chain;
          // Each chain prints its own column header; until it does, assume the stock -nvL layout.
          layout = { lineNumbers: false, counters: true };
          emit({ kind: 'chain', line, raw, ...header });
          return;
        }

        const trimmed = text.trimStart();
        if (trimmed.endsWith('destination') && /^(?:num|pkts|target)\s/.test(trimmed)) {
          layout = { lineNumbers: trimmed.startsWith('num'), counters: trimmed.includes('pkts') };
          emit({ kind: 'column-header', line, raw });
          return;
        }

        if (text.startsWith(TOTAL_RULES)) {
          const count = text.slice(TOTAL_RULES.length).trim();
          if (isDigits(count)) emit({ kind: 'total-rules', line, raw, count: Number(count) });
          else emit({ kind: 'unparsed', line, raw, reason: 'expected "Total Number of Rules: <number>"' });
          return;
        }

        // The stock script's separator before its rule count.
        if (text[0] === '=' && /^=+$/.test(text)) return;

        if (text[0] === '#') {
          const body = text.replace(/^#\s*/, '');
          if (body.startsWith('Warning:') || (body.startsWith('Table ') && body.includes('incompatible'))) {
            emit({ kind: 'warning', line, raw, text: body });
          } else {
            emit({ kind: 'unparsed', line, raw, reason: 'unexpected comment in an iptables listing' });
          }
          return;
        }

        if (chain === null) {
          emit({ kind: 'unparsed', line, raw, reason: 'rule row before any "Chain" header' });
          return;
        }
        if (!layout.counters) {
          emit({ kind: 'unparsed', line, raw, reason: 'listing without -v counters is not supported' });
          return;
        }
        const row = parseRow(text, layout.lineNumbers);
        if (typeof row === 'string') {
          emit({ kind: 'unparsed', line, raw, reason: row });
          return;
        }
        const rule: IptablesListRuleEvent = { kind: 'rule', line, raw, chain, ...row };
        if (cut) rule.cut = true;
        emit(rule);
      },
    };
  },
};

function parseChainHeader(text: string): Omit<IptablesListChainEvent, 'kind' | 'line' | 'raw'> | null {
  const match = CHAIN_HEADER.exec(text);
  if (!match) return null;
  const chain = match[1] as string;
  if (match[2] === undefined) {
    return match[5] === undefined ? { chain, policy: null } : { chain, policy: null, references: Number(match[5]) };
  }
  if (match[3] === undefined || match[4] === undefined) return { chain, policy: match[2] };
  const packets = parseCount(match[3]);
  const bytes = parseCount(match[4]);
  if (packets === undefined || bytes === undefined) return null;
  return { chain, policy: match[2], packets, bytes };
}

type RowFields = Omit<IptablesListRuleEvent, 'kind' | 'line' | 'raw' | 'chain' | 'cut'>;

/** Reads one rule row; returns the reason when the row does not have the -v layout. */
function parseRow(text: string, lineNumbers: boolean): RowFields | string {
  const cursor = new Cursor(text);
  let ruleNumber: number | undefined;
  if (lineNumbers) {
    const number = cursor.word();
    if (number === undefined || !isDigits(number)) return 'expected a rule number in the num column';
    ruleNumber = Number(number);
  }
  const packetsWord = cursor.word();
  const bytesWord = cursor.word();
  const packets = packetsWord === undefined ? undefined : parseCount(packetsWord);
  const bytes = bytesWord === undefined ? undefined : parseCount(bytesWord);
  if (packets === undefined || bytes === undefined) return 'expected packet and byte counters (e.g. "1538K  775M")';

  // Counters end with exactly one space; a target follows at once, an empty one is printed as spaces.
  const target = cursor.skipSpaces() === 1 ? (cursor.word() ?? null) : null;

  let prot = cursor.word();
  if (prot === undefined) return 'expected a protocol column';
  let opt: string | null = null;
  if (prot.length >= 7 && isOpt(prot.slice(-2))) {
    opt = prot.slice(-2);
    prot = prot.slice(0, -2);
  } else {
    const afterProt = cursor.position;
    const word = cursor.word();
    if (word !== undefined && isOpt(word)) opt = word;
    else cursor.position = afterProt;
  }

  const inInterface = cursor.word();
  const outInterface = cursor.word();
  const source = cursor.word();
  const destination = cursor.word();
  if (destination === undefined || source === undefined || outInterface === undefined || inInterface === undefined) {
    return 'expected in, out, source and destination columns';
  }
  const row: RowFields = {
    packets,
    bytes,
    target,
    prot,
    opt,
    in: inInterface,
    out: outInterface,
    source,
    destination,
    extra: text.slice(cursor.position).trim(),
  };
  if (ruleNumber !== undefined) row.ruleNumber = ruleNumber;
  return row;
}

class Cursor {
  position = 0;
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  /** Skips spaces and tabs; returns how many. */
  skipSpaces(): number {
    const start = this.position;
    while (this.position < this.#text.length && isBlank(this.#text.charCodeAt(this.position))) this.position++;
    return this.position - start;
  }

  word(): string | undefined {
    this.skipSpaces();
    const start = this.position;
    while (this.position < this.#text.length && !isBlank(this.#text.charCodeAt(this.position))) this.position++;
    return this.position > start ? this.#text.slice(start, this.position) : undefined;
  }
}

function isBlank(code: number): boolean {
  return code === 32 || code === 9;
}

/** `--`, `-f`, `!f`; old ip6tables printed a traffic-class match there instead (`0x10`, `!0x10`). */
function isOpt(word: string): boolean {
  if (word.length === 2) return (word[0] === '-' || word[0] === '!') && (word[1] === '-' || word[1] === 'f');
  return word.startsWith('0x') || word.startsWith('!0x');
}

function isDigits(text: string): boolean {
  if (text === '') return false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

/** `12345`, `1538K`, `775M`: iptables' xtables_print_num, which divides by 1000 per suffix. */
function parseCount(word: string): number | undefined {
  const multiplier = SUFFIX_MULTIPLIER[word.slice(-1)];
  const digits = multiplier === undefined ? word : word.slice(0, -1);
  if (!isDigits(digits)) return undefined;
  return Number(digits) * (multiplier ?? 1);
}
