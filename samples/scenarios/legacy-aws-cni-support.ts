/**
 * A 2019 node (Kubernetes 1.14, Docker 18.06, VPC CNI v1.5.0) from a custom AMI built on an old amazon-eks-ami fork
 * whose kubelet unit predates `ExecStartPre=/sbin/iptables -P FORWARD ACCEPT`. Docker 18.06 sets the FORWARD policy
 * to DROP when it starts, so pod traffic to and from other nodes is dropped. Collected with the legacy
 * aws-cni-support.sh: a flat `var/log/aws-routed-eni/` tar with the `.out` files, /var/log/messages (kubelet in
 * syslog form, glog lines) and the hourly-rotated seelog ipamd and plugin logs.
 */
import { clusterServices, nodeIdentity, nodeProfile, vpcAddress } from '../lib/cluster.ts';
import { eksRuleset } from '../lib/eks-iptables.ts';
import { renderList, renderSave } from '../lib/iptables.ts';
import { Journal, renderEntries, stampInOrder } from '../lib/journal.ts';
import {
  LegacyKubelet,
  legacyEniOut,
  legacyIpamdLogs,
  legacyMetrics,
  legacyPluginLogs,
  legacyPodOut,
} from '../lib/legacy.ts';
import { shortHostnameOf } from '../lib/node.ts';
import { createRandom } from '../lib/random.ts';
import { NodeSimulation, type Pod } from '../lib/simulation.ts';
import { ifconfigTxt } from '../lib/stock-files.ts';
import { ipRoute, ipRule } from '../lib/system-files.ts';
import { HOUR, MINUTE, SECOND } from '../lib/time.ts';
import { hostVeth, renderConflist } from '../lib/vpc-cni.ts';
import { appSpec, awsNodeSpec, corednsSpec, kubeProxySpec } from '../lib/workloads.ts';
import { defineScenario } from './types.ts';

const CREATED_AT = '2019-06-12T09:14:22.000Z';
const ROOT = 'var/log/aws-routed-eni';
const CNI_VERSION = 'v1.5.0';

const node = nodeProfile(
  {
    seed: 'legacy-aws-cni-support',
    os: 'al2-2019',
    clusterName: 'retail-eks',
    instanceId: 'i-0a7f3c9e5b1d8f264',
    instanceType: 'm5.xlarge',
    cpuCount: 4,
    memTotalKb: 15_852_516,
    region: 'us-west-2',
    availabilityZone: 'us-west-2a',
    amiId: 'ami-0923e4b35a30a5f53',
    privateIp: '192.168.12.34',
    vpcCidr: '192.168.0.0/16',
    subnetCidr: '192.168.0.0/19',
    subnetId: 'subnet-0f4a8c2e6b1d3a5c7',
    serviceCidr: '10.100.0.0/16',
    clusterDnsIp: '10.100.0.10',
    apiServerEndpoint: 'https://C4E6A8B0D2F4A6C8E0B2D4F6A8C0E2B4.yl4.us-west-2.eks.amazonaws.com',
    kernel: '4.14.123-111.109.amzn2.x86_64',
    kubeletVersion: 'v1.14.7-eks-1861c5',
    containerdVersion: '1.1.2',
    vpcCniVersion: CNI_VERSION,
    kubeProxyVersion: 'v1.14.6',
    corednsVersion: 'v1.3.1',
    maxEnis: 4,
    ipsPerEni: 15,
    kubeletPid: 4105,
  },
  CREATED_AT,
  9.3,
);

function render(): Record<string, string> {
  const sim = new NodeSimulation(node);
  const kubelet = new LegacyKubelet(sim);
  const random = createRandom(`legacy/${node.seed}`);
  const kubeletStart = node.bootAt + 38 * SECOND;
  sim.attachEni(node.bootAt, node.privateIp);
  const awsNode = kubelet.admit(
    { ...awsNodeSpec('aws-node-8wqkr', CNI_VERSION, node.region), initContainers: undefined },
    kubeletStart + 4 * SECOND,
    false,
  );
  const cniReadyAt = awsNode.startedAt + 9 * SECOND;
  sim.ipamdStarts.push({ at: awsNode.startedAt + 800_000, version: CNI_VERSION, restart: false });
  sim.attachEni(cniReadyAt + 6 * SECOND);
  kubelet.startup(kubeletStart, cniReadyAt);
  kubelet.admit(
    kubeProxySpec('kube-proxy-x4hcn', node.kubeProxyVersion, node.region),
    kubeletStart + 4 * SECOND + 300,
    false,
  );
  const coredns = kubelet.admit(
    corednsSpec('coredns-6f647f5754-xk9p2', node.corednsVersion),
    cniReadyAt + 40 * SECOND,
    true,
  );
  const apps: Pod[] = [];
  for (let index = 0; index < 3; index++) {
    apps.push(
      kubelet.admit(
        appSpec('retail', `cart-7d8c6b9f4-${sim.random.kubeSuffix(5)}`, {
          name: 'cart',
          image: '123456789012.dkr.ecr.us-west-2.amazonaws.com/retail/cart:1.8.2',
          comm: 'java',
          args: 'java -jar /app/cart.jar',
        }),
        cniReadyAt + (55 + index * 20) * SECOND,
        true,
      ),
    );
  }
  // A CronJob every 5 minutes: churn in kubelet and the CNI logs.
  const runs: Pod[] = [];
  for (
    let at = Math.ceil((cniReadyAt + 3 * MINUTE) / (5 * MINUTE)) * 5 * MINUTE;
    at < node.collectedAt - MINUTE;
    at += 5 * MINUTE
  ) {
    const pod = kubelet.admit(
      appSpec('retail', `price-sync-${Math.floor(at / MINUTE)}-${sim.random.kubeSuffix(5)}`, {
        name: 'sync',
        image: '123456789012.dkr.ecr.us-west-2.amazonaws.com/retail/price-sync:0.4.1',
        comm: 'price-sync',
        args: '/price-sync',
      }),
      at + random.int(400_000, 1_900_000),
      true,
    );
    kubelet.complete(pod, pod.startedAt + random.int(8, 45) * SECOND);
    runs.push(pod);
    const old = runs.length > 4 ? runs[runs.length - 5] : undefined;
    if (old && old.removedAt === undefined) kubelet.remove(old, pod.startedAt + random.int(60, 90) * SECOND);
  }

  // The rest of /var/log/messages: dockerd, systemd, dhclient, kernel veth lines.
  const other = new Journal(`legacy-other/${node.seed}`);
  const dockerd = 3_602;
  other.add(node.bootAt + 20 * SECOND, 'systemd', 1, 'Starting Docker Application Container Engine...');
  other.add(
    node.bootAt + 21 * SECOND,
    'dockerd',
    dockerd,
    `time="${new Date(Math.floor((node.bootAt + 21 * SECOND) / 1000)).toISOString().replace('Z', '000000Z').slice(0, 30)}Z" level=info msg="Loading containers: start."`.replace(
      'ZZ',
      'Z',
    ),
  );
  other.add(
    node.bootAt + 22 * SECOND,
    'dockerd',
    dockerd,
    `time="${new Date(Math.floor((node.bootAt + 22 * SECOND) / 1000)).toISOString().slice(0, 19)}.${String(random.int(100_000_000, 999_999_999))}Z" level=info msg="Loading containers: done."`,
  );
  other.add(
    node.bootAt + 22_300_000,
    'dockerd',
    dockerd,
    `time="${new Date(Math.floor((node.bootAt + 22 * SECOND) / 1000)).toISOString().slice(0, 19)}.${String(random.int(100_000_000, 999_999_999))}Z" level=info msg="Docker daemon" commit=2f1ebb9 graphdriver(s)=overlay2 version=18.06.1-ce`,
  );
  other.add(
    node.bootAt + 22_400_000,
    'dockerd',
    dockerd,
    `time="${new Date(Math.floor((node.bootAt + 22 * SECOND) / 1000)).toISOString().slice(0, 19)}.${String(random.int(100_000_000, 999_999_999))}Z" level=info msg="Daemon has completed initialization"`,
  );
  other.add(node.bootAt + 22_500_000, 'systemd', 1, 'Started Docker Application Container Engine.');
  for (let at = node.bootAt + 1_800 * SECOND; at < node.collectedAt; at += random.int(1_500, 1_900) * SECOND) {
    other.add(at, 'dhclient', 2_821, `DHCPREQUEST on eth0 to 192.168.0.1 port 67 (xid=0x${random.hex(8)})`, true);
    other.add(at + 2_000, 'dhclient', 2_821, `DHCPACK from 192.168.0.1 (xid=0x${random.hex(8)})`, true);
    other.add(
      at + 9_000,
      'dhclient',
      2_821,
      `bound to ${node.privateIp} -- renewal in ${random.int(1_500, 1_900)} seconds.`,
      true,
    );
    other.add(
      at + 12_000,
      'ec2net',
      0,
      `[get_meta] Trying to get http://169.254.169.254/latest/meta-data/network/interfaces/macs/02:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}/local-ipv4s`,
    );
  }
  for (const event of sim.cni) {
    if (event.kind === 'add')
      other.add(
        event.at + 30_000,
        'kernel',
        0,
        `IPv6: ADDRCONF(NETDEV_CHANGE): ${hostVeth(`${event.pod.spec.namespace}.${event.pod.spec.name}`)}: link becomes ready`,
      );
  }
  const messages = renderEntries(
    stampInOrder([...sim.journal.entries, ...other.entries]).filter((entry) => entry.at < node.collectedAt),
    {
      style: 'syslog',
      hostname: shortHostnameOf(node),
      stripStreamWhitespace: true,
    },
  );

  const services = clusterServices({
    random,
    node,
    corednsIps: [coredns.ip ?? '', vpcAddress(random, node.vpcCidr)],
    apps: [
      {
        namespace: 'retail',
        name: 'cart',
        port: 80,
        targetPort: 8080,
        clusterIp: '10.100.184.22',
        endpoints: apps.map((pod) => pod.ip ?? ''),
      },
    ],
  });
  const uptimeHours = (node.collectedAt - node.bootAt) / HOUR;
  const rules = eksRuleset({
    random: createRandom(`legacy-iptables/${node.seed}`),
    era: '2019',
    nodeIp: node.privateIp,
    primaryInterface: 'eth0',
    vpcCidr: node.vpcCidr,
    services: services.filter((service) => service.name !== 'eks-extension-metrics-api'),
    forwardPolicy: 'DROP',
    forwardPolicyCounters: { packets: 18_734, bytes: 1_204_446 },
    trafficScale: uptimeHours / 24,
    nfacctInvalid: false,
  });
  const saveAt = node.collectedAt + 2 * SECOND;
  const rpFilter = [
    'all',
    'default',
    'eth0',
    'eth1',
    'lo',
    ...sim
      .runningAt(node.collectedAt)
      .filter((pod) => pod.ip)
      .map((pod) => hostVeth(`${pod.spec.namespace}.${pod.spec.name}`)),
  ]
    .sort()
    .map(
      (name) =>
        `/proc/sys/net/ipv4/conf/${name}/rp_filter = ${name === 'eth0' ? 2 : name.startsWith('eni') || name === 'lo' ? 0 : 1}`,
    );

  const files: Record<string, string> = {
    'eni.out': legacyEniOut(sim),
    'pod.out': legacyPodOut(sim),
    'networkutils-env.out': JSON.stringify({
      AWS_VPC_K8S_CNI_CONNMARK: 128,
      AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: null,
      AWS_VPC_K8S_CNI_EXTERNALSNAT: false,
      AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'hashrandom',
      AWS_VPC_ENI_MTU: 9001,
      AWS_VPC_K8S_CNI_VETHPREFIX: 'eni',
      AWS_VPC_CNI_NODE_PORT_SUPPORT: true,
    }),
    'ipamd-env.out': JSON.stringify({
      WARM_ENI_TARGET: 1,
      WARM_IP_TARGET: 0,
      MINIMUM_IP_TARGET: 0,
      MAX_ENI: -1,
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: false,
    }),
    'eni-configs.out': JSON.stringify({
      ENI: {},
      MyENI: 'default',
      EniConfigAnnotationDef: 'k8s.amazonaws.com/eniConfig',
      EniConfigLabelDef: 'k8s.amazonaws.com/eniConfig',
    }),
    'metrics.out': legacyMetrics(sim),
    'ifconfig.out': ifconfigTxt(node, sim),
    'iprule.out': ipRule(sim),
    'iptables-save.out': renderSave([rules.nat, rules.mangle, rules.filter], {
      program: 'iptables-save v1.4.21',
      at: saveAt,
    }),
    'iptables.out': renderList(rules.filter),
    'iptables-nat.out': renderList(rules.nat),
    'iptables-mangle.out': renderList(rules.mangle),
    'cni/10-aws.conflist': renderConflist('2019'),
    messages,
    'route.out': `===============================================\n${ipRoute(sim)}`,
    'sysctls.out': `${rpFilter.join('\n')}\n`,
    ...legacyIpamdLogs(sim, CNI_VERSION),
    ...legacyPluginLogs(sim),
  };
  return Object.fromEntries(Object.entries(files).map(([name, content]) => [`${ROOT}/${name}`, content]));
}

export const legacyAwsCniSupport = defineScenario(
  {
    name: 'legacy-aws-cni-support',
    description:
      '2019 aws-cni-support.tar.gz (`var/log/aws-routed-eni/*.out`, messages, hourly seelog ipamd/plugin logs) from a custom-AMI node where Docker 18.06 left FORWARD at DROP; Kubernetes 1.14 kubelet lines in syslog form, no probe failures, no CPU data.',
    layout: 'aws-cni-support-legacy',
    createdAt: CREATED_AT,
    node: nodeIdentity(node),
    expected: { 'kubelet-probe-failures': 'pass', 'cpu-starvation': 'not-evaluated', 'forward-policy-drop': 'fail' },
  },
  render,
);
