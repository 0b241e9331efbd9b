/**
 * What the VPC CNI leaves on a node, rendered from a simulation: ipamd.log and plugin.log (zap JSON lines since
 * v1.6, seelog text before), `/v1/enis`, the checkpoint, the introspection env endpoints, Prometheus metrics and
 * the CNI config list.
 */
import { type NodeProfile, primaryInterfaceOf } from './node.ts';
import { createRandom } from './random.ts';
import type { CniEvent, NodeSimulation } from './simulation.ts';
import { isoMillis, isoSeconds, type Micros, SECOND } from './time.ts';

interface LogLine {
  at: Micros;
  level: 'debug' | 'info' | 'warn' | 'error';
  caller: string;
  msg: string;
}

const zap = (line: LogLine): string =>
  JSON.stringify({ level: line.level, ts: isoMillis(line.at), caller: line.caller, msg: line.msg });

const seelog = (line: LogLine): string => `${isoMillis(line.at)} [${line.level.toUpperCase()}] ${line.msg}`;

export type CniLogFormat = 'zap' | 'seelog';

function podArgs(event: CniEvent, sandboxId: string): string {
  const pod = event.pod;
  return `K8S_POD_INFRA_CONTAINER_ID=${sandboxId};K8S_POD_UID=${pod.uid};IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.spec.namespace};K8S_POD_NAME=${pod.spec.name}`;
}

const STDIN_DATA =
  '{"cniVersion":"0.4.0","mtu":"9001","name":"aws-cni","pluginLogFile":"/var/log/aws-routed-eni/plugin.log","pluginLogLevel":"DEBUG","podSGEnforcingMode":"strict","type":"aws-cni","vethPrefix":"eni"}';

/** The host side of a pod's veth pair: `eni` + 11 hex characters (a hash of `namespace.name`). */
export function hostVeth(seed: string): string {
  return `eni${createRandom(`veth/${seed}`).hex(11)}`;
}

/** plugin.log: one block per CNI ADD/DEL the container runtime ran. */
export function renderPluginLog(sim: NodeSimulation, format: CniLogFormat): string {
  const lines: LogLine[] = [];
  const vpc = sim.node.vpcCidr;
  for (const event of sim.cni.filter((e) => e.at < sim.node.collectedAt)) {
    const t = event.at;
    if (event.kind === 'add' || event.kind === 'add-failed') {
      const sandbox = event.kind === 'add' ? event.pod.sandboxId : event.sandboxId;
      const netns = event.kind === 'add' ? event.pod.netns : event.netns;
      lines.push({
        at: t,
        level: 'info',
        caller: 'routed-eni-cni-plugin/cni.go:125',
        msg: `Received CNI add request: ContainerID(${sandbox}) Netns(${netns}) IfName(eth0) Args(${podArgs(event, sandbox)}) Path(/opt/cni/bin) argsStdinData(${STDIN_DATA})`,
      });
      lines.push({
        at: t + 310,
        level: 'debug',
        caller: 'routed-eni-cni-plugin/cni.go:125',
        msg: 'MTU value set is 9001:',
      });
      if (event.kind === 'add-failed') {
        lines.push({
          at: t + 1_300,
          level: 'error',
          caller: 'routed-eni-cni-plugin/cni.go:125',
          msg: `Error received from AddNetwork grpc call for containerID ${sandbox}: ${event.error}`,
        });
        continue;
      }
      const veth = hostVeth(`${event.pod.spec.namespace}.${event.pod.spec.name}`);
      lines.push({
        at: t + 4_900,
        level: 'info',
        caller: 'routed-eni-cni-plugin/cni.go:125',
        msg: `Received add network response from ipamd for container ${sandbox} interface eth0: Success:true IPAllocationMetadata:{IPv4Addr:"${event.ip}" DeviceNumber:${event.deviceNumber} RouteTableId:${event.deviceNumber === 0 ? 254 : event.deviceNumber + 1}} VPCv4CIDRs:"${vpc}" NetworkPolicyMode:"none"`,
      });
      lines.push({
        at: t + 5_200,
        level: 'debug',
        caller: 'routed-eni-cni-plugin/cni.go:204',
        msg: `SetupPodNetwork: hostVethName=${veth}, contVethName=eth0, netnsPath=${netns}, v4Addr=${event.ip}/32, v6Addr=<nil>, deviceNumber=${event.deviceNumber}, mtu=9001`,
      });
      lines.push({
        at: t + 41_000,
        level: 'debug',
        caller: 'driver/driver.go:295',
        msg: `Successfully disabled IPv6 RA and ICMP redirects on hostVeth ${veth}`,
      });
      lines.push({
        at: t + 41_400,
        level: 'debug',
        caller: 'driver/driver.go:295',
        msg: `Successfully setup container route, containerAddr=${event.ip}/32, hostVeth=${veth}, rtTable=main`,
      });
      lines.push({
        at: t + 41_900,
        level: 'debug',
        caller: 'driver/driver.go:295',
        msg: `Successfully setup toContainer rule, containerAddr=${event.ip}/32, rtTable=main`,
      });
    } else {
      const pod = event.pod;
      lines.push({
        at: t,
        level: 'info',
        caller: 'routed-eni-cni-plugin/cni.go:277',
        msg: `Received CNI del request: ContainerID(${pod.sandboxId}) Netns(${pod.netns}) IfName(eth0) Args(${podArgs(event, pod.sandboxId)}) Path(/opt/cni/bin) argsStdinData(${STDIN_DATA})`,
      });
      lines.push({
        at: t + 3_700,
        level: 'info',
        caller: 'routed-eni-cni-plugin/cni.go:277',
        msg: `Received del network response from ipamd for pod ${pod.spec.name} namespace ${pod.spec.namespace} sandbox ${pod.sandboxId}: Success:true IPAllocationMetadata:{IPv4Addr:"${event.ip}" DeviceNumber:0 RouteTableId:254} NetworkPolicyMode:"none"`,
      });
      lines.push({
        at: t + 3_900,
        level: 'debug',
        caller: 'driver/driver.go:309',
        msg: `TeardownPodNetwork: containerAddr=${event.ip}/32, routeTable=main`,
      });
      lines.push({
        at: t + 5_100,
        level: 'debug',
        caller: 'driver/driver.go:309',
        msg: `Successfully deleted toContainer rule, containerAddr=${event.ip}/32, rtTable=main`,
      });
    }
  }
  return render(lines, format);
}

function render(lines: LogLine[], format: CniLogFormat): string {
  lines.sort((a, b) => a.at - b.at);
  return `${lines.map(format === 'zap' ? zap : seelog).join('\n')}\n`;
}

export interface IpamdLogOptions {
  /** Seconds between "IP pool stats" lines (ipamd checks every 5 s at debug level; sparser keeps samples small). */
  statsEverySeconds: number;
  clusterVersion: string;
  mac: string;
}

/** ipamd.log: start-up blocks at each aws-k8s-agent start, pool statistics, reconciles and every pod IP call. */
export function renderIpamdLog(sim: NodeSimulation, options: IpamdLogOptions): string {
  const node = sim.node;
  const random = createRandom(`ipamd/${node.seed}`);
  const lines: LogLine[] = [];
  const push = (at: Micros, level: LogLine['level'], caller: string, msg: string): void => {
    lines.push({ at, level, caller, msg });
  };
  const primary = sim.enis[0];
  for (const start of sim.ipamdStarts) {
    let t = start.at;
    const step = (level: LogLine['level'], caller: string, msg: string, gap: [number, number] = [200, 4_000]): void => {
      t += random.int(gap[0], gap[1]);
      push(t, level, caller, msg);
    };
    step('info', 'logger/logger.go:52', 'Constructed new logger instance');
    step('info', 'eniconfig/eniconfig.go:61', 'Initialized new logger as an existing instance was not found');
    step('info', 'aws-k8s-agent/main.go:64', `Starting L-IPAMD ${start.version}  ...`);
    step('info', 'aws-k8s-agent/main.go:64', 'Testing communication with server', [900, 4_000]);
    step(
      'info',
      'aws-k8s-agent/main.go:64',
      `Successful communication with the Cluster! Cluster Version is: v${options.clusterVersion.replace(/^v/, '').split('.').slice(0, 2).join('.')}. git version: ${options.clusterVersion}. git tree state: clean. commit: ${random.hex(40)}. platform: linux/amd64`,
      [9_000, 60_000],
    );
    step('info', 'aws-k8s-agent/main.go:64', 'Starting Pod controller');
    step('info', 'aws-k8s-agent/main.go:64', 'Waiting for controller cache sync');
    step('info', 'wait/backoff.go:227', 'Synced successfully with APIServer', [90_000, 400_000]);
    step('debug', 'ipamd/ipamd.go:389', `Discovered region: ${node.region}`);
    step('info', 'ipamd/ipamd.go:389', 'Custom networking enabled false');
    step('debug', 'awsutils/awsutils.go:427', `Found availability zone: ${node.availabilityZone} `);
    step('debug', 'awsutils/awsutils.go:427', `Discovered the instance primary IPv4 address: ${node.privateIp}`);
    step('debug', 'awsutils/awsutils.go:427', `Found instance-id: ${node.instanceId} `);
    step('debug', 'awsutils/awsutils.go:427', `Found instance-type: ${node.instanceType} `);
    step('debug', 'awsutils/awsutils.go:427', `Found primary interface's MAC address: ${options.mac}`);
    if (primary) step('debug', 'awsutils/awsutils.go:427', `${primary.id} is the primary ENI of this instance`);
    step('debug', 'awsutils/awsutils.go:427', `Found subnet-id: ${node.subnetId} `);
    step('info', 'ipamd/ipamd.go:389', `Setting up host network... `, [3_000, 20_000]);
    step('debug', 'networkutils/network.go:279', `Trying to find primary interface that has mac : ${options.mac}`);
    step('debug', 'networkutils/network.go:279', `Discovered interface: lo, mac: `);
    const primaryIf = primaryInterfaceOf(node);
    step('debug', 'networkutils/network.go:279', `Discovered interface: ${primaryIf}, mac: ${options.mac}`);
    step('info', 'networkutils/network.go:279', `Discovered primary interface: ${primaryIf}`);
    step(
      'debug',
      'networkutils/network.go:279',
      `Setting RPF for primary interface: net/ipv4/conf/${primaryIf}/rp_filter`,
    );
    step('info', 'ipamd/ipamd.go:389', `Begin ipam state recovery from backing store`, [20_000, 90_000]);
    const active = [...sim.assignments.values()].filter((a) => a.at < start.at);
    for (const assignment of active) {
      step(
        'info',
        'datastore/data_store.go:412',
        `Recovered AddNetwork for Pod ${assignment.pod.spec.name}, Namespace ${assignment.pod.spec.namespace}, Container ${assignment.pod.sandboxId}`,
        [50, 400],
      );
    }
    step('info', 'ipamd/ipamd.go:389', 'Completed ipam state recovery');
    step('info', 'aws-k8s-agent/main.go:64', 'Serving RPC Handler version on 127.0.0.1:50051');
    step('info', 'ipamd/introspect.go:58', 'Serving introspection endpoints on 127.0.0.1:61679');
    step('info', 'prometheusmetrics/prometheusmetrics.go:228', 'Serving metrics on port 61678');
  }

  // Pool statistics and reconciles, from the first start until collection.
  const firstStart = sim.ipamdStarts[0]?.at ?? node.bootAt;
  const assignedAt = (at: Micros): number =>
    sim.cni.reduce(
      (count, event) =>
        event.at > at ? count : event.kind === 'add' ? count + 1 : event.kind === 'del' ? count - 1 : count,
      0,
    );
  const total = sim.enis.reduce((sum, eni) => sum + eni.secondaryIps.length, 0);
  let nextReconcile = firstStart + 60 * SECOND;
  for (
    let at = firstStart + 40 * SECOND;
    at < node.collectedAt;
    at += options.statsEverySeconds * SECOND + random.int(-400_000, 400_000)
  ) {
    if (sim.isIpamdDown(at)) continue;
    const assigned = assignedAt(at);
    push(
      at,
      'debug',
      'ipamd/ipamd.go:695',
      `IP pool stats for network card 0: Total IPs/Prefixes = ${total}/0, AssignedIPs/CooldownIPs: ${assigned}/0, c.maxIPsPerENI = ${node.ipsPerEni - 1}`,
    );
    if (at >= nextReconcile) {
      nextReconcile = at + 60 * SECOND;
      push(
        at + 900,
        'debug',
        'ipamd/ipamd.go:695',
        `Reconciling ENI/IP pool info because time since last ${(60 + random.float(0, 0.9)).toFixed(6)}s > 1m0s`,
      );
      push(at + 190_000, 'debug', 'ipamd/ipamd.go:695', `Total number of interfaces found: ${sim.enis.length} `);
      for (const eni of sim.enis) {
        push(at + 191_000, 'debug', 'ipamd/ipamd.go:695', `Reconcile existing ENI ${eni.id} IP pool`);
        push(
          at + 191_300,
          'debug',
          'ipamd/ipamd.go:695',
          `Reconcile and skip primary IP ${eni.primaryIp} on ENI ${eni.id}`,
        );
      }
      push(at + 192_000, 'debug', 'ipamd/ipamd.go:695', 'Successfully Reconciled ENI/IP pool');
    }
  }

  for (const event of sim.cni.filter((e) => e.at < node.collectedAt)) {
    const pod = event.pod;
    const t = event.at + random.int(1_000, 3_000);
    if (event.kind === 'add') {
      const assigned = assignedAt(event.at - 1);
      push(
        t,
        'info',
        'rpc/rpc.pb.go:863',
        `Received AddNetwork for NS ${pod.netns}, Sandbox ${pod.sandboxId}, ifname eth0`,
      );
      push(
        t + 120,
        'debug',
        'rpc/rpc.pb.go:863',
        `AddNetworkRequest: K8S_POD_NAME:"${pod.spec.name}" K8S_POD_NAMESPACE:"${pod.spec.namespace}" K8S_POD_INFRA_CONTAINER_ID:"${pod.sandboxId}" ContainerID:"${pod.sandboxId}" IfName:"eth0" NetworkName:"aws-cni" Netns:"${pod.netns}"`,
      );
      push(
        t + 260,
        'debug',
        'datastore/data_store.go:1027',
        `AssignIPv4Address: IP address pool stats: total ${total}, assigned ${assigned}`,
      );
      push(
        t + 410,
        'info',
        'datastore/data_store.go:1027',
        `AssignPodIPv4Address: Assign IP ${event.ip} to sandbox aws-cni/${pod.sandboxId}/eth0`,
      );
      push(t + 530, 'debug', 'rpc/rpc.pb.go:863', `VPC CIDR ${node.vpcCidr}`);
      push(
        t + 760,
        'info',
        'rpc/rpc.pb.go:863',
        `Send AddNetworkReply: IPAddr: ip_addr:{ip:"${event.ip}"}, DeviceNumber: ${event.deviceNumber}, err: <nil>`,
      );
    } else if (event.kind === 'del') {
      const assigned = assignedAt(event.at - 1);
      push(t, 'info', 'rpc/rpc.pb.go:881', `Received DelNetwork for Sandbox ${pod.sandboxId}`);
      push(
        t + 110,
        'debug',
        'rpc/rpc.pb.go:881',
        `DelNetworkRequest: K8S_POD_NAME:"${pod.spec.name}" K8S_POD_NAMESPACE:"${pod.spec.namespace}" K8S_POD_INFRA_CONTAINER_ID:"${pod.sandboxId}" Reason:"${event.reason}" ContainerID:"${pod.sandboxId}" IfName:"eth0" NetworkName:"aws-cni"`,
      );
      push(
        t + 240,
        'debug',
        'ipamd/rpc_handler.go:261',
        `UnassignPodIPAddress: IP address pool stats: total ${total}, assigned ${assigned}, sandbox aws-cni/${pod.sandboxId}/eth0`,
      );
      push(
        t + 350,
        'debug',
        'ipamd/rpc_handler.go:261',
        `UnassignPodIPAddress: sandbox aws-cni/${pod.sandboxId}/eth0's ipAddr ${event.ip}, DeviceNumber 0`,
      );
      push(
        t + 610,
        'info',
        'rpc/rpc.pb.go:881',
        `Send DelNetworkReply: IPv4Addr: ${event.ip}, IPv6Addr: , DeviceNumber: 0, err: <nil>`,
      );
    }
  }
  return render(lines, 'zap');
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** `/v1/enis` for v1.11–v1.19: one bare ENIInfos object (no per-network-card map), IPAMKey not yet scrubbed. */
export function renderEnisJson(sim: NodeSimulation): string {
  const enis: Record<string, unknown> = {};
  let assignedCount = 0;
  let totalCount = 0;
  for (const eni of [...sim.enis].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const cidrs: Record<string, unknown> = {};
    for (const ip of [...eni.secondaryIps].sort()) {
      totalCount++;
      const assignment = sim.assignments.get(ip);
      if (assignment) assignedCount++;
      cidrs[`${ip}/32`] = {
        Cidr: { IP: ip, Mask: '/////w==' },
        IPAddresses: {
          [ip]: {
            Address: ip,
            IPAMKey: assignment
              ? { networkName: 'aws-cni', containerID: assignment.pod.sandboxId, ifName: 'eth0' }
              : { networkName: '', containerID: '', ifName: '' },
            IPAMMetadata: assignment
              ? { k8sPodNamespace: assignment.pod.spec.namespace, k8sPodName: assignment.pod.spec.name }
              : {},
            AssignedTime: assignment ? isoSeconds(assignment.at) : ZERO_TIME,
            UnassignedTime: ZERO_TIME,
          },
        },
        IsPrefix: false,
        AddressFamily: '',
      };
    }
    enis[eni.id] = {
      ID: eni.id,
      IsPrimary: eni.deviceNumber === 0,
      IsTrunk: false,
      IsEFA: false,
      DeviceNumber: eni.deviceNumber,
      AvailableIPv4Cidrs: cidrs,
      IPv6Cidrs: {},
    };
  }
  return JSON.stringify({ TotalIPs: totalCount, AssignedIPs: assignedCount, ENIs: enis });
}

/** `/var/run/aws-node/ipam.json`. */
export function renderCheckpoint(sim: NodeSimulation): string {
  const allocations = [...sim.assignments.values()]
    .sort((a, b) => a.at - b.at)
    .map((assignment) => ({
      networkName: 'aws-cni',
      containerID: assignment.pod.sandboxId,
      ifName: 'eth0',
      ipv4: assignment.ip,
      allocationTimestamp: assignment.at * 1000 + 123,
      metadata: { k8sPodNamespace: assignment.pod.spec.namespace, k8sPodName: assignment.pod.spec.name },
    }));
  return JSON.stringify({ version: 'vpc-cni-ipam/1', allocations });
}

/** What ipamd's `/v1/networkutils-env-settings` answers with the defaults aws-node ships. */
export function networkutilsEnvSettings(): Record<string, unknown> {
  return {
    AWS_VPC_K8S_CNI_CONNMARK: 128,
    AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: null,
    AWS_VPC_K8S_CNI_EXTERNALSNAT: false,
    AWS_EXTERNAL_SERVICE_CIDRS: null,
    AWS_VPC_ENI_MTU: 9001,
    AWS_VPC_K8S_CNI_VETHPREFIX: 'eni',
    AWS_VPC_CNI_NODE_PORT_SUPPORT: true,
    AWS_VPC_K8S_CNI_RANDOMIZESNAT: 2,
  };
}

export function renderNetworkutilsEnv(): string {
  return JSON.stringify(networkutilsEnvSettings());
}

/** What ipamd's `/v1/ipamd-env-settings` answers; only the warm ENI target varies between our nodes. */
export function ipamdEnvSettings(warmEniTarget = 1): Record<string, unknown> {
  return {
    WARM_IP_TARGET: 0,
    WARM_ENI_TARGET: warmEniTarget,
    AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: false,
    AWS_MANAGE_ENIS_NON_SCHEDULABLE: false,
    ENABLE_SUBNET_DISCOVERY: true,
  };
}

export function renderIpamdEnv(): string {
  return JSON.stringify(ipamdEnvSettings());
}

/** The `/` handler's answer, which is what `/v1/pods` returns since v1.7.0 removed that endpoint. */
export function renderAvailableCommands(): string {
  return JSON.stringify({
    AvailableCommands: ['/v1/enis', '/v1/eni-configs', '/v1/networkutils-env-settings', '/v1/ipamd-env-settings'],
  });
}

/**
 * `/etc/cni/net.d/10-aws.conflist` as aws-node's entrypoint writes it (2019: v1.5 template without egress-cni).
 * `nodeIp` is what the entrypoint put in egress-cni's `nodeIP`.
 */
export function renderConflist(era: 'modern' | '2019', nodeIp = ''): string {
  const awsCni =
    era === 'modern'
      ? {
          name: 'aws-cni',
          type: 'aws-cni',
          vethPrefix: 'eni',
          mtu: '9001',
          podSGEnforcingMode: 'strict',
          pluginLogFile: '/var/log/aws-routed-eni/plugin.log',
          pluginLogLevel: 'DEBUG',
          capabilities: { 'io.kubernetes.cri.pod-annotations': true },
        }
      : { name: 'aws-cni', type: 'aws-cni', vethPrefix: 'eni', mtu: '9001' };
  const egress = {
    name: 'egress-cni',
    type: 'egress-cni',
    mtu: '9001',
    enabled: 'false',
    randomizeSNAT: 'prng',
    nodeIP: nodeIp,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: 'fd00::ac:00/118' }]],
      routes: [{ dst: '::/0' }],
      dataDir: '/run/cni/v4pd/egress-v6-ipam',
    },
    pluginLogFile: '/var/log/aws-routed-eni/egress-v6-plugin.log',
    pluginLogLevel: 'DEBUG',
  };
  const portmap = { type: 'portmap', capabilities: { portMappings: true }, snat: true };
  const config =
    era === 'modern'
      ? { cniVersion: '0.4.0', name: 'aws-cni', disableCheck: true, plugins: [awsCni, egress, portmap] }
      : { cniVersion: '0.3.1', name: 'aws-cni', plugins: [awsCni, portmap] };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export interface MetricsOptions {
  addRequests: number;
  delRequests: number;
  goVersion: string;
  processStart: Micros;
  residentBytes: number;
  cpuSeconds: number;
  ipamdErrors?: Record<string, number>;
}

/** Prometheus text from ipamd's promhttp handler: families sorted by name, then Go runtime and process metrics. */
export function renderMetrics(sim: NodeSimulation, options: MetricsOptions): string {
  const node: NodeProfile = sim.node;
  const random = createRandom(`metrics/${node.seed}`);
  const out: string[] = [];
  const family = (name: string, help: string, type: string, samples: [string, number | string][]): void => {
    out.push(`# HELP ${name} ${help}`);
    out.push(`# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  const assigned = sim.assignments.size;
  const total = sim.enis.reduce((sum, eni) => sum + eni.secondaryIps.length, 0);
  family('awscni_add_ip_req_count', 'The number of add IP address requests', 'counter', [['', options.addRequests]]);
  family('awscni_assigned_ip_addresses', 'The number of IP addresses assigned to pods', 'gauge', [['', assigned]]);
  family(
    'awscni_assigned_ip_per_cidr',
    'The total number of IP addresses assigned per cidr',
    'gauge',
    sim.enis
      .flatMap((eni) => eni.secondaryIps)
      .sort()
      .map((ip) => [`{cidr="${ip}/32"}`, sim.assignments.has(ip) ? 1 : 0]),
  );
  family(
    'awscni_assigned_ip_per_eni',
    'The number of allocated ips partitioned by eni',
    'gauge',
    sim.enis.map((eni) => [`{eni="${eni.id}"}`, eni.secondaryIps.filter((ip) => sim.assignments.has(ip)).length]),
  );
  family('awscni_aws_api_latency_ms', 'AWS API call latency in ms', 'summary', [
    ['_sum{api="AssignPrivateIpAddresses",error="false",status="200"}', random.int(300, 700)],
    ['_count{api="AssignPrivateIpAddresses",error="false",status="200"}', 1],
    ['_sum{api="AttachNetworkInterface",error="false",status="200"}', random.int(400, 900)],
    ['_count{api="AttachNetworkInterface",error="false",status="200"}', 1],
    ['_sum{api="CreateNetworkInterface",error="false",status="200"}', random.int(250, 600)],
    ['_count{api="CreateNetworkInterface",error="false",status="200"}', 1],
    ['_sum{api="DescribeInstances",error="false",status="200"}', random.int(100, 300)],
    ['_count{api="DescribeInstances",error="false",status="200"}', sim.ipamdStarts.length],
    ['_sum{api="DescribeNetworkInterfaces",error="false",status="200"}', random.int(800, 4000)],
    ['_count{api="DescribeNetworkInterfaces",error="false",status="200"}', sim.ipamdStarts.length * 3 + 2],
    ['_sum{api="DescribeSubnets",error="false",status="200"}', random.int(60, 200)],
    ['_count{api="DescribeSubnets",error="false",status="200"}', sim.ipamdStarts.length],
    ['_sum{api="GetMetadata",error="false",status="200"}', random.int(20, 90)],
    ['_count{api="GetMetadata",error="false",status="200"}', sim.ipamdStarts.length * 22],
    ['_sum{api="ModifyNetworkInterfaceAttribute",error="false",status="200"}', random.int(200, 500)],
    ['_count{api="ModifyNetworkInterfaceAttribute",error="false",status="200"}', 1],
  ]);
  family('awscni_del_ip_req_count', 'The number of delete IP address requests', 'counter', [
    ['{reason="PodDeleted"}', options.delRequests],
  ]);
  family('awscni_ec2api_req_count', 'The number of requests made to EC2 APIs by CNI', 'counter', [
    ['{fn="AssignPrivateIpAddresses"}', 1],
    ['{fn="AttachNetworkInterface"}', 1],
    ['{fn="CreateNetworkInterface"}', 1],
    ['{fn="DescribeInstances"}', sim.ipamdStarts.length],
    ['{fn="DescribeNetworkInterfaces"}', sim.ipamdStarts.length * 3 + 2],
    ['{fn="DescribeSubnets"}', sim.ipamdStarts.length],
    ['{fn="ModifyNetworkInterfaceAttribute"}', 1],
  ]);
  family('awscni_eni_allocated', 'The number of ENIs allocated', 'gauge', [['', sim.enis.length]]);
  family(
    'awscni_eni_max',
    'The maximum number of ENIs that can be attached to the instance, accounting for unmanaged ENIs',
    'gauge',
    [['', node.maxEnis]],
  );
  family('awscni_force_removed_enis', 'The number of ENIs force removed while they had assigned pods', 'counter', [
    ['', 0],
  ]);
  family('awscni_force_removed_ips', 'The number of IPs force removed while they had assigned pods', 'counter', [
    ['', 0],
  ]);
  family('awscni_ip_max', 'The maximum number of IP addresses that can be allocated to the instance', 'gauge', [
    ['', node.maxEnis * (node.ipsPerEni - 1)],
  ]);
  if (options.ipamdErrors && Object.keys(options.ipamdErrors).length > 0) {
    family(
      'awscni_ipamd_error_count',
      'The number of errors encountered in ipamd',
      'counter',
      Object.entries(options.ipamdErrors).map(([fn, count]) => [`{fn="${fn}"}`, count]),
    );
  }
  family('awscni_ipamd_action_inprogress', 'The number of ipamd actions in progress', 'gauge', [
    ['{fn="decreaseDatastorePool"}', 0],
    ['{fn="increaseDatastorePool"}', 0],
    ['{fn="nodeIPPoolReconcile"}', 0],
    ['{fn="nodeInit"}', 0],
  ]);
  family(
    'awscni_no_available_ip_addresses',
    'The number of pod IP assignments that fail due to no available IP addresses',
    'counter',
    [['', 0]],
  );
  family('awscni_reconcile_count', 'The number of times ipamd reconciles on ENIs and IP/Prefix addresses', 'counter', [
    [
      '{fn="eniDataStorePoolReconcileAdd"}',
      Math.round((node.collectedAt - node.bootAt) / (60 * SECOND)) * (node.ipsPerEni - 1),
    ],
  ]);
  family('awscni_total_ip_addresses', 'The total number of IP addresses', 'gauge', [['', total]]);
  family('awscni_total_ipv4_prefixes', 'The total number of IPv4 prefixes', 'gauge', [['', 0]]);
  family('go_gc_duration_seconds', 'A summary of the pause duration of garbage collection cycles.', 'summary', [
    ['{quantile="0"}', '3.3601e-05'],
    ['{quantile="0.25"}', '5.1243e-05'],
    ['{quantile="0.5"}', '6.4102e-05'],
    ['{quantile="0.75"}', '9.8814e-05'],
    ['{quantile="1"}', '0.002914377'],
    ['_sum', (options.cpuSeconds * 0.004).toFixed(9)],
    ['_count', Math.round(options.cpuSeconds * 3.1)],
  ]);
  family('go_goroutines', 'Number of goroutines that currently exist.', 'gauge', [['', random.int(180, 260)]]);
  family('go_info', 'Information about the Go environment.', 'gauge', [[`{version="${options.goVersion}"}`, 1]]);
  family('go_memstats_alloc_bytes', 'Number of bytes allocated and still in use.', 'gauge', [
    ['', random.int(9_000_000, 22_000_000)],
  ]);
  family('go_memstats_alloc_bytes_total', 'Total number of bytes allocated, even if freed.', 'counter', [
    ['', Math.round(options.cpuSeconds * 41_000_000)],
  ]);
  family('go_memstats_heap_objects', 'Number of allocated objects.', 'gauge', [['', random.int(60_000, 140_000)]]);
  family('go_memstats_sys_bytes', 'Number of bytes obtained from system.', 'gauge', [
    ['', random.int(40_000_000, 60_000_000)],
  ]);
  family('go_threads', 'Number of OS threads created.', 'gauge', [['', random.int(11, 16)]]);
  family('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', 'counter', [
    ['', options.cpuSeconds.toFixed(2)],
  ]);
  family('process_max_fds', 'Maximum number of open file descriptors.', 'gauge', [['', 1048576]]);
  family('process_open_fds', 'Number of open file descriptors.', 'gauge', [['', random.int(14, 30)]]);
  family('process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', [['', options.residentBytes]]);
  family('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', 'gauge', [
    ['', (options.processStart / SECOND).toFixed(2).replace(/\.?0+$/, '')],
  ]);
  family('process_virtual_memory_bytes', 'Virtual memory size in bytes.', 'gauge', [
    ['', random.int(1_300_000_000, 1_400_000_000)],
  ]);
  family('process_virtual_memory_max_bytes', 'Maximum amount of virtual memory available in bytes.', 'gauge', [
    ['', '1.8446744073709552e+19'],
  ]);
  family('promhttp_metric_handler_requests_in_flight', 'Current number of scrapes being served.', 'gauge', [['', 1]]);
  family('promhttp_metric_handler_requests_total', 'Total number of scrapes by HTTP status code.', 'counter', [
    ['{code="200"}', random.int(2, 40)],
    ['{code="500"}', 0],
    ['{code="503"}', 0],
  ]);
  return `${out.join('\n')}\n`;
}
