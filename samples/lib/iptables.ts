/**
 * An iptables ruleset model and its two text forms: `iptables-save` and `iptables --numeric --verbose --list`
 * (the stock collector appends `=======` and `Total Number of Rules: N` to the latter). Each match and target
 * carries both spellings, because the listing prints extension-specific text (`ctstate NEW`, a `/\* comment *\/`,
 * `MARK or 0x4000`) that cannot be derived from the save form without re-implementing every extension.
 *
 * Column layout of the listing follows iptables 1.8: counters `%5llu`/`%4lluK`, target `%-9s`, a `!` slot before
 * the protocol and each address, `in`/`out` padded to 6.
 */
import type { Random } from './random.ts';
import { ctime, type Micros } from './time.ts';

export interface Part {
  save: string;
  list: string;
}

export interface Rule {
  chain: string;
  source?: string;
  notSource?: boolean;
  destination?: string;
  notDestination?: boolean;
  inInterface?: string;
  notIn?: boolean;
  outInterface?: string;
  notOut?: boolean;
  protocol?: 'tcp' | 'udp' | 'icmp';
  matches?: Part[];
  /** `-j` target; absent for counting-only rules. */
  target?: string;
  targetOptions?: Part;
  packets: number;
  bytes: number;
}

export interface Chain {
  name: string;
  /** Built-in chains have a policy; user chains are `-`. */
  policy?: 'ACCEPT' | 'DROP';
  packets: number;
  bytes: number;
}

export interface Table {
  name: 'filter' | 'nat' | 'mangle' | 'raw';
  chains: Chain[];
  rules: Rule[];
}

// ------------------------------------------------------------------ matches and targets

export const comment = (text: string): Part => ({ save: `-m comment --comment "${text}"`, list: `/* ${text} */` });
export const ctstate = (states: string, negate = false): Part => ({
  save: `-m conntrack ${negate ? '! ' : ''}--ctstate ${states}`,
  list: `${negate ? '! ' : ''}ctstate ${states}`,
});
export const oldState = (states: string): Part => ({ save: `-m state --state ${states}`, list: `state ${states}` });
export const dstTypeLocal = (negate = false, limitIn = false): Part => ({
  save: `-m addrtype ${negate ? '! ' : ''}--dst-type LOCAL${limitIn ? ' --limit-iface-in' : ''}`,
  list: `ADDRTYPE match dst-type ${negate ? '!' : ''}LOCAL${limitIn ? ' limit-in' : ''}`,
});
export const markMatch = (mark: string, negate = false): Part => ({
  save: `-m mark ${negate ? '! ' : ''}--mark ${mark}`,
  list: `mark match ${negate ? '! ' : ''}${mark}`,
});
export const dport = (protocol: 'tcp' | 'udp', port: number): Part => ({
  save: `-m ${protocol} --dport ${port}`,
  list: `${protocol} dpt:${port}`,
});
export const protoMatch = (protocol: 'tcp' | 'udp'): Part => ({ save: `-m ${protocol}`, list: protocol });
export const randomProbability = (probability: number): Part => ({
  save: `-m statistic --mode random --probability ${probability.toFixed(11)}`,
  list: `statistic mode random probability ${probability.toFixed(11)}`,
});
export const nfacct = (name: string): Part => ({
  save: `-m nfacct --nfacct-name ${name}`,
  list: `nfacct-name  ${name}`,
});

/** MARK/CONNMARK `--set-xmark v/m` print as `or`, `and`, `set` or `xset` depending on the value and mask. */
function xmarkWord(value: number, mask: number): string {
  const hex = (n: number): string => `0x${n.toString(16)}`;
  if (value === mask) return `or ${hex(value)}`;
  if (value === 0) return `and ${hex(~mask >>> 0)}`;
  if (mask === 0xffffffff) return `set ${hex(value)}`;
  return `xset ${hex(value)}/${hex(mask)}`;
}
export const setXmark = (value: number, mask: number): Part => ({
  save: `--set-xmark 0x${value.toString(16)}/0x${mask.toString(16)}`,
  list: `MARK ${xmarkWord(value, mask)}`,
});
export const connmarkSetXmark = (value: number, mask: number): Part => ({
  save: `--set-xmark 0x${value.toString(16)}/0x${mask.toString(16)}`,
  list: `CONNMARK ${xmarkWord(value, mask)}`,
});
export const connmarkRestore = (mask: number): Part => ({
  save: `--restore-mark --nfmask 0x${mask.toString(16)} --ctmask 0x${mask.toString(16)}`,
  list: `CONNMARK restore mask 0x${mask.toString(16)}`,
});
export const snatTo = (address: string, randomFully: boolean): Part => ({
  save: `--to-source ${address}${randomFully ? ' --random-fully' : ''}`,
  list: `to:${address}${randomFully ? ' random-fully' : ''}`,
});
export const dnatTo = (address: string): Part => ({ save: `--to-destination ${address}`, list: `to:${address}` });
export const masqueradeRandomFully = (): Part => ({ save: '--random-fully', list: 'random-fully' });
export const rejectWith = (kind: string): Part => ({ save: `--reject-with ${kind}`, list: `reject-with ${kind}` });

// ------------------------------------------------------------------ rendering

const BUILTIN_ORDER: Record<Table['name'], string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/** Built-in chains in hook order, then user chains by name, as both iptables-save and the listing order them. */
export function orderedChains(table: Table): Chain[] {
  const builtins = BUILTIN_ORDER[table.name];
  const byName = new Map(table.chains.map((chain) => [chain.name, chain]));
  const first = builtins.map((name) => byName.get(name)).filter((chain): chain is Chain => chain !== undefined);
  const rest = table.chains
    .filter((chain) => !builtins.includes(chain.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return [...first, ...rest];
}

function saveRule(rule: Rule): string {
  const parts = [`-A ${rule.chain}`];
  if (rule.source) parts.push(`${rule.notSource ? '! ' : ''}-s ${rule.source}`);
  if (rule.destination) parts.push(`${rule.notDestination ? '! ' : ''}-d ${rule.destination}`);
  if (rule.inInterface) parts.push(`${rule.notIn ? '! ' : ''}-i ${rule.inInterface}`);
  if (rule.outInterface) parts.push(`${rule.notOut ? '! ' : ''}-o ${rule.outInterface}`);
  if (rule.protocol) parts.push(`-p ${rule.protocol}`);
  for (const match of rule.matches ?? []) parts.push(match.save);
  if (rule.target) parts.push(`-j ${rule.target}${rule.targetOptions ? ` ${rule.targetOptions.save}` : ''}`);
  return parts.join(' ');
}

export interface SaveHeader {
  /** `iptables-nft-save v1.8.8 (nf_tables)`, `iptables-save v1.8.4`, `iptables-save v1.4.21`. */
  program: string;
  at: Micros;
  /** Whether `# Completed on` lines close each table (all versions here do). */
}

export function renderSave(tables: readonly Table[], header: SaveHeader): string {
  const out: string[] = [];
  for (const table of tables) {
    out.push(`# Generated by ${header.program} on ${ctime(header.at)}`);
    out.push(`*${table.name}`);
    const chains = orderedChains(table);
    for (const chain of chains) {
      out.push(
        `:${chain.name} ${chain.policy ?? '-'} [${chain.policy ? chain.packets : 0}:${chain.policy ? chain.bytes : 0}]`,
      );
    }
    for (const chain of chains)
      for (const rule of table.rules.filter((r) => r.chain === chain.name)) out.push(saveRule(rule));
    out.push('COMMIT');
    out.push(`# Completed on ${ctime(header.at)}`);
  }
  return `${out.join('\n')}\n`;
}

/** xtables_print_num with FMT_KILOMEGAGIGA: up to 99999 as is, then K/M/G/T rounded. */
export function formatCount(value: number, table = true): string {
  let number = value;
  if (number <= 99999) return table ? `${String(number).padStart(5, ' ')} ` : `${number} `;
  for (const unit of ['K', 'M', 'G', 'T']) {
    number = Math.floor((number + 500) / 1000);
    if (number <= 9999 || unit === 'T')
      return table ? `${String(number).padStart(4, ' ')}${unit} ` : `${number}${unit} `;
  }
  return `${number} `;
}

const LIST_HEADER = ' pkts bytes target     prot opt in     out     source               destination         ';

function listRule(rule: Rule, family: 4 | 6): string {
  const iface = (name: string | undefined, negate: boolean | undefined): string =>
    `${negate ? '!' : ''}${name ?? '*'}`.padEnd(6, ' ');
  const address = (value: string | undefined, negate: boolean | undefined): string =>
    `${negate ? '!' : ' '}${(value ?? (family === 4 ? '0.0.0.0/0' : '::/0')).padEnd(19, ' ')}`;
  let line = formatCount(rule.packets) + formatCount(rule.bytes);
  line += `${(rule.target ?? '').padEnd(9, ' ')} `;
  // IPv6 has no fragment flag, so ip6tables leaves the `opt` column blank.
  line += ` ${(rule.protocol ?? 'all').padEnd(5, ' ')}${family === 4 ? '-- ' : '   '}`;
  line += ` ${iface(rule.inInterface, rule.notIn)} ${iface(rule.outInterface, rule.notOut)} `;
  line += `${address(rule.source, rule.notSource)} ${address(rule.destination, rule.notDestination)} `;
  for (const match of rule.matches ?? []) line += ` ${match.list}`;
  if (rule.targetOptions) line += ` ${rule.targetOptions.list}`;
  return line;
}

/** `iptables --numeric --verbose --list [--table T]` (or ip6tables) for one table. */
export function renderList(table: Table, family: 4 | 6 = 4): string {
  const blocks: string[] = [];
  for (const chain of orderedChains(table)) {
    const lines: string[] = [];
    if (chain.policy) {
      lines.push(
        `Chain ${chain.name} (policy ${chain.policy} ${formatCount(chain.packets, false)}packets, ${formatCount(chain.bytes, false)}bytes)`,
      );
    } else {
      const references = table.rules.filter((rule) => rule.target === chain.name).length;
      lines.push(`Chain ${chain.name} (${references} references)`);
    }
    lines.push(LIST_HEADER);
    for (const rule of table.rules.filter((r) => r.chain === chain.name)) lines.push(listRule(rule, family));
    blocks.push(lines.join('\n'));
  }
  return `${blocks.join('\n\n')}\n`;
}

/**
 * What eks-log-collector.sh writes: the listing, then `=======` and the count of lines that are not `num…`,
 * empty, `Chain…` or the column header (its `sed '/^num\|^$\|^Chain\|^\ pkts.*.destination/d' | wc -l`).
 */
export function stockListing(table: Table, family: 4 | 6 = 4): string {
  const listing = renderList(table, family);
  const counted = listing
    .split('\n')
    .slice(0, -1)
    .filter((line) => !/^num|^$|^Chain|^ pkts.*.destination/.test(line)).length;
  return `${listing}=======\nTotal Number of Rules: ${counted}\n`;
}

// ------------------------------------------------------------------ building rulesets

/** Adds a rule with traffic counters drawn around a typical magnitude. */
export function counted(
  random: Random,
  packetsAround: number,
  bytesPerPacket = 90,
): { packets: number; bytes: number } {
  if (packetsAround <= 0) return { packets: 0, bytes: 0 };
  const packets = Math.max(0, Math.round(packetsAround * random.float(0.6, 1.4)));
  return { packets, bytes: Math.round(packets * bytesPerPacket * random.float(0.8, 1.25)) };
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export function kubeChainHash(random: Random): string {
  let out = '';
  for (let index = 0; index < 16; index++) out += BASE32[random.int(0, 31)];
  return out;
}
