/**
 * Who the node is, for the top of the report: from our manifest when there is one, otherwise from the small
 * identity files the stock collector writes (instance id, region, AZ, `uname -a`) and from what the logs say
 * about versions. The manifest wins where both speak.
 */
import type { BundleManifest, NodeIdentity } from '../../contract/bundle.ts';
import type { RuleHandlers } from './rule.ts';

const KUBELET_VERSION = 'kubeletVersion=';
const IPAMD_START = 'Starting L-IPAMD';

export function createIdentityCollector(): {
  handlers: RuleHandlers;
  filters: Partial<Record<string, readonly string[]>>;
  node(manifest: BundleManifest | undefined): NodeIdentity;
} {
  const seen: NodeIdentity = {};
  const handlers: RuleHandlers = {
    'instance-id': (event) => {
      if (/^(i|mi)-[0-9a-f]+$/.test(event.text)) seen.instanceId ??= event.text;
    },
    region: (event) => {
      seen.region ??= event.text;
    },
    'availability-zone': (event) => {
      seen.availabilityZone ??= event.text;
    },
    'instance-type': (event) => {
      seen.instanceType ??= event.text;
    },
    uname: (event) => {
      // `Linux <hostname> <kernel release> #1 SMP <date> <machine> <processor> <platform> GNU/Linux`
      const fields = event.text.split(/\s+/);
      if (fields[0] !== 'Linux' || fields.length < 3) return;
      seen.hostname ??= fields[1];
      seen.kernel ??= fields[2];
      const machine = fields.find((field) => field === 'x86_64' || field === 'aarch64');
      if (machine) seen.architecture ??= machine;
    },
    'os-release': (event) => {
      const match = /^PRETTY_NAME="?([^"]*)"?$/.exec(event.text);
      if (match) seen.os ??= match[1];
    },
    'proc-stat': (event) => {
      if (event.kind === 'summary' && event.cpuCount > 0) seen.cpuCount ??= event.cpuCount;
    },
    'kubelet-log': (event) => {
      if (event.kind !== 'entry') return;
      const match = /kubeletVersion="?(v[\w.+-]+)/.exec(event.text);
      if (match) seen.kubeletVersion ??= match[1];
    },
    'ipamd-log': (event) => {
      if (event.kind !== 'entry') return;
      const match = /Starting L-IPAMD\s+(v?\d[\w.+-]*)/.exec(event.msg);
      if (match) seen.vpcCniVersion = match[1];
    },
  };
  return {
    handlers,
    filters: { 'kubelet-log': [KUBELET_VERSION], 'ipamd-log': [IPAMD_START] },
    node: (manifest) => ({ ...seen, ...definedOnly(manifest?.node ?? {}) }),
  };
}

function definedOnly(node: NodeIdentity): NodeIdentity {
  return Object.fromEntries(
    Object.entries(node).filter(([, value]) => value !== undefined && value !== ''),
  ) as NodeIdentity;
}
