/**
 * Which parser reads which bundle item. Rules subscribe to item ids; the engine parses each file once with the
 * parser named here and fans the events out to every rule that asked for that item.
 */
import type { ItemId } from '../contract/bundle.ts';
import { cgroupCpuStatParser } from './parsers/cgroup-cpu-stat.ts';
import { cpuThrottlingParser } from './parsers/cpu-throttling.ts';
import { criLogParser } from './parsers/cri-log.ts';
import { dmesgParser } from './parsers/dmesg.ts';
import { ipamdLogParser } from './parsers/ipamd-log.ts';
import { iptablesListParser } from './parsers/iptables-list.ts';
import { iptablesSaveParser } from './parsers/iptables-save.ts';
import { journalParser } from './parsers/journal.ts';
import { jsonDocumentParser } from './parsers/json-document.ts';
import { procLoadavgParser } from './parsers/proc-loadavg.ts';
import { procMeminfoParser } from './parsers/proc-meminfo.ts';
import { procStatParser } from './parsers/proc-stat.ts';
import { promTextParser } from './parsers/prom-text.ts';
import { psParser } from './parsers/ps.ts';
import { psiParser } from './parsers/psi.ts';
import { sysctlParser } from './parsers/sysctl.ts';
import { systemdUnitParser } from './parsers/systemd-unit.ts';
import { textLinesParser } from './parsers/text-lines.ts';
import { topParser } from './parsers/top.ts';
import type { EventOf, ParserDef } from './parsers/types.ts';

export const itemParsers = {
  'kubelet-log': journalParser,
  'containerd-log': journalParser,
  'system-messages': journalParser,
  'system-syslog': journalParser,
  'kubelet-unit': systemdUnitParser,
  'ipamd-log': ipamdLogParser,
  'plugin-log': ipamdLogParser,
  'network-policy-agent-log': ipamdLogParser,
  'egress-v4-plugin-log': ipamdLogParser,
  'ebpf-sdk-log': ipamdLogParser,
  'aws-node-container-log': criLogParser,
  'network-policy-agent-container-log': criLogParser,
  'ipamd-metrics': promTextParser,
  'sysctl-all': sysctlParser,
  'sysctl-rp-filter': sysctlParser,
  'ip-route': textLinesParser,
  'nftables-ruleset': textLinesParser,
  dmesg: dmesgParser,
  'dmesg-human': dmesgParser,
  'dmesg-boot': dmesgParser,
  'cni-env-dockerd': jsonDocumentParser,
  'conntrack-stats': textLinesParser,
  'conntrack-count': textLinesParser,
  'ipamd-introspection-ignored': textLinesParser,
  'ipamd-metrics-ignored': textLinesParser,
  'network-policy-ebpf-data': textLinesParser,
  'containerd-version': textLinesParser,
  services: textLinesParser,
  'ipamd-enis': jsonDocumentParser,
  'ipamd-eni-configs': jsonDocumentParser,
  'ipamd-networkutils-env': jsonDocumentParser,
  'ipamd-env': jsonDocumentParser,
  'ipamd-checkpoint': jsonDocumentParser,
  'ipamd-pods': jsonDocumentParser,
  'cni-conflist': jsonDocumentParser,
  'cni-env-containerd': jsonDocumentParser,
  'kubelet-pods': jsonDocumentParser,
  'kubelet-config': jsonDocumentParser,
  'imds-network-interfaces': jsonDocumentParser,
  'iptables-save': iptablesSaveParser,
  'ip6tables-save': iptablesSaveParser,
  'iptables-legacy-save': iptablesSaveParser,
  'iptables-list': iptablesListParser,
  'iptables-list-filter': iptablesListParser,
  'iptables-list-nat': iptablesListParser,
  'iptables-list-mangle': iptablesListParser,
  'ip6tables-list': iptablesListParser,
  'ip6tables-list-filter': iptablesListParser,
  'ip6tables-list-nat': iptablesListParser,
  'ip6tables-list-mangle': iptablesListParser,
  'iptables-backend': textLinesParser,
  'proc-loadavg': procLoadavgParser,
  'proc-meminfo': procMeminfoParser,
  'proc-stat': procStatParser,
  'psi-cpu': psiParser,
  'psi-memory': psiParser,
  'psi-io': psiParser,
  'cpu-throttling': cpuThrottlingParser,
  'cgroup-kubepods-cpu-stat': cgroupCpuStatParser,
  'cgroup-aws-node-cpu-stat': cgroupCpuStatParser,
  top: topParser,
  ps: psParser,
  'instance-id': textLinesParser,
  region: textLinesParser,
  'availability-zone': textLinesParser,
  'instance-type': textLinesParser,
  uname: textLinesParser,
  'os-release': textLinesParser,
} as const satisfies Partial<Record<ItemId, ParserDef<unknown>>>;

export type ParsedItemId = keyof typeof itemParsers;
export type ItemEvent<K extends ParsedItemId> = EventOf<(typeof itemParsers)[K]>;

export function parserFor(id: ItemId): ParserDef<unknown> | undefined {
  return (itemParsers as Partial<Record<ItemId, ParserDef<unknown>>>)[id];
}
