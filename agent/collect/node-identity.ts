/**
 * The node identity written into the manifest, from what the run collected (IMDS values, uname, os-release, the
 * aws-node container spec) and, for a live node, from the machine itself.
 */
import { arch, availableParallelism, release } from 'node:os';
import type { NodeIdentity } from '../../contract/bundle.ts';

export function nodeIdentity(outputs: Map<string, string>, live: boolean): NodeIdentity {
  const node: NodeIdentity = {};
  const first = (id: string) => outputs.get(id)?.trim().split('\n')[0]?.trim() || undefined;
  const instanceId = first('instance-id');
  if (instanceId && /^i-[0-9a-f]+$/.test(instanceId)) node.instanceId = instanceId;
  node.region = first('region');
  node.availabilityZone = first('availability-zone');
  node.instanceType = first('instance-type');
  try {
    const imds = JSON.parse(outputs.get('imds-network-interfaces') ?? 'null') as {
      instance?: Record<string, string>;
    } | null;
    node.instanceId ??= imds?.instance?.['instance-id'];
    node.amiId = imds?.instance?.['ami-id'];
  } catch {
    // A partial IMDS document is still in the bundle; identity just lacks those fields.
  }
  const uname = first('uname')?.split(/\s+/);
  if (uname?.[0] === 'Linux') {
    node.hostname = uname[1];
    node.kernel = uname[2];
    node.architecture = uname.find((field) => field === 'x86_64' || field === 'aarch64');
  }
  const osRelease = outputs.get('os-release');
  node.os = osRelease ? /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] : undefined;
  const procStat = outputs.get('proc-stat');
  if (procStat) node.cpuCount = (procStat.match(/^cpu\d+ /gm) ?? []).length || undefined;
  const containerd = outputs.get('containerd-version');
  node.containerdVersion = containerd ? /Version:\s+(v?[\d.]+\S*)/.exec(containerd)?.[1] : undefined;
  const cniEnv = outputs.get('cni-env-containerd');
  node.vpcCniVersion = cniEnv ? /amazon-k8s-cni:(v[\d.]+[\w.-]*)/.exec(cniEnv)?.[1] : undefined;
  if (live) {
    node.kernel ??= release();
    node.architecture ??= arch() === 'arm64' ? 'aarch64' : arch() === 'x64' ? 'x86_64' : arch();
    node.cpuCount ??= availableParallelism();
  }
  return Object.fromEntries(Object.entries(node).filter(([, value]) => value !== undefined)) as NodeIdentity;
}
