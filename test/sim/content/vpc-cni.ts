/**
 * What the VPC CNI shows of a simulated node: the introspection responses (`/v1/enis` in today's per-network-card
 * shape, `/v1/eni-configs`, both env-settings endpoints), the `:61678/metrics` exposition, the ipamd checkpoint and
 * the zap JSON logs under /var/log/aws-routed-eni/. Shapes follow reference/collectors.md section 2 and the Go
 * sources it cites (ipamd/introspect.go, datastore/data_store.go, prometheusmetrics.go).
 */
import { createRandom } from '../random.ts';
import type { NodeScenario } from '../scenarios.ts';
import { type JobRun, MINUTE, type NodeStory, SECOND, type SimEni, type SimPod } from './story.ts';
import { goTime, zapTime } from './time.ts';

/** Go's json.Marshal writes map keys sorted; struct fields keep declaration order. */
function sortedRecord<T>(entries: [string, T][]): Record<string, T> {
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
/** base64 of the /32 mask bytes ff ff ff ff, as net.IPMask marshals. */
const MASK_32 = '/////w==';

function addressInfo(pod: SimPod) {
  return {
    Address: pod.ip,
    // Since v1.23 ipamd blanks containerID and ifName in /v1/enis; networkName still marks the address assigned.
    IPAMKey: { networkName: 'aws-cni', containerID: '', ifName: '' },
    IPAMMetadata: { k8sPodNamespace: pod.namespace, k8sPodName: pod.name },
    AssignedTime: goTime(pod.startedAt),
    UnassignedTime: ZERO_TIME,
  };
}

/** An address a finished pod gave back: ipamd keeps the entry, with the key cleared and the release time set. */
function releasedAddressInfo(run: JobRun) {
  return {
    Address: run.ip,
    IPAMKey: { networkName: '', containerID: '', ifName: '' },
    IPAMMetadata: {},
    AssignedTime: goTime(run.startedAt),
    UnassignedTime: goTime(run.endedAt),
  };
}

function eniView(eni: SimEni, subnetId: string, podsByIp: Map<string, SimPod>, releasedByIp: Map<string, JobRun>) {
  return {
    ID: eni.id,
    IsPrimary: eni.isPrimary,
    IsTrunk: false,
    IsEFA: false,
    DeviceNumber: eni.deviceNumber,
    AvailableIPv4Cidrs: sortedRecord(
      eni.secondaryIps.map((ip) => {
        const pod = podsByIp.get(ip);
        const released = releasedByIp.get(ip);
        const addresses = pod ? { [ip]: addressInfo(pod) } : released ? { [ip]: releasedAddressInfo(released) } : {};
        return [
          `${ip}/32`,
          {
            Cidr: { IP: ip, Mask: MASK_32 },
            IPAddresses: addresses,
            IsPrefix: false,
            // GetENIInfos copies CidrInfo without AddressFamily, so it is always empty here.
            AddressFamily: '',
          },
        ];
      }),
    ),
    IPv6Cidrs: {},
    IsExcludedForPodIPs: false,
    // The primary ENI routes through the main table; device N uses table N+1.
    RouteTableID: eni.isPrimary ? 254 : eni.deviceNumber + 1,
    SubnetID: subnetId,
  };
}

/** `/v1/enis`: one ENIInfos per network card, keyed by the card number as a string. */
export function enisResponse(scenario: NodeScenario, story: NodeStory): Record<string, unknown> {
  const podsByIp = new Map(story.pods.map((pod) => [pod.ip, pod]));
  const releasedByIp = new Map(story.jobRuns.map((run) => [run.ip, run]));
  const totalIps = story.enis.reduce((sum, eni) => sum + eni.secondaryIps.length, 0);
  return {
    '0': {
      TotalIPs: totalIps,
      AssignedIPs: story.pods.length,
      ENIs: sortedRecord(
        story.enis.map((eni) => [eni.id, eniView(eni, scenario.node.subnetId, podsByIp, releasedByIp)]),
      ),
    },
  };
}

/** What ipamd answers on `/` and every unknown path. Go builds it from a map, so the order varies per start. */
export const AVAILABLE_COMMANDS = {
  AvailableCommands: ['/v1/networkutils-env-settings', '/v1/ipamd-env-settings', '/v1/enis', '/v1/eni-configs'],
};

/** /var/run/aws-node/ipam.json: the unscrubbed pod-to-address record ipamd restores from after a restart. */
export function checkpoint(story: NodeStory): string {
  return JSON.stringify({
    version: 'vpc-cni-ipam/1',
    allocations: story.pods.map((pod) => ({
      networkName: 'aws-cni',
      containerID: pod.sandboxId,
      ifName: 'eth0',
      ipv4: pod.ip,
      allocationTimestamp: pod.startedAt * 1_000_000,
      metadata: { k8sPodNamespace: pod.namespace, k8sPodName: pod.name },
    })),
  });
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'summary' | 'histogram' | 'untyped';
  samples: [suffixAndLabels: string, value: number | string][];
}

function renderFamilies(families: Family[]): string {
  return `${families
    .filter((family) => family.samples.length > 0)
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((family) =>
      [
        `# HELP ${family.name} ${family.help}`,
        `# TYPE ${family.name} ${family.type}`,
        ...family.samples.map(([rest, value]) => `${family.name}${rest} ${value}`),
      ].join('\n'),
    )
    .join('\n')}\n`;
}

/** `:61678/metrics`: the awscni_* families of prometheusmetrics.go plus client_golang's Go and process collectors. */
export function metricsText(scenario: NodeScenario, story: NodeStory): string {
  const random = createRandom(`metrics/${scenario.name}`);
  const { ipam } = scenario;
  const totalIps = story.enis.reduce((sum, eni) => sum + eni.secondaryIps.length, 0);
  const assigned = story.pods.length;
  const failures = story.ipFailures.length;
  // Pods replaced before the current ones add to both counters.
  const replaced = random.int(0, 6);
  const addRequests = assigned + story.jobRuns.length + failures + replaced;
  const deletes = story.jobRuns.length + replaced;
  const podsByEni = new Map(story.enis.map((eni) => [eni.id, 0]));
  for (const pod of story.pods) podsByEni.set(pod.eni.id, (podsByEni.get(pod.eni.id) ?? 0) + 1);
  const ec2Calls: [string, number][] = [
    ['AssignPrivateIpAddresses', story.enis.length - 1],
    ['AttachNetworkInterface', story.enis.length - 1],
    ['CreateNetworkInterface', story.enis.length - 1],
    ['DescribeInstances', 1],
    ['DescribeNetworkInterfaces', 3 + random.int(0, 4)],
    ['DescribeSubnets', 1],
    ['ModifyNetworkInterfaceAttribute', story.enis.length - 1],
  ];
  const awsNodeStart = story.awsNode.startedAt.at(-1) ?? story.bootAt;
  const upSeconds = Math.max(1, (story.now - awsNodeStart) / 1000);
  const families: Family[] = [
    {
      name: 'awscni_add_ip_req_count',
      help: 'The number of add IP address requests',
      type: 'counter',
      samples: [['', addRequests]],
    },
    {
      name: 'awscni_assigned_ip_addresses',
      help: 'The number of IP addresses assigned to pods',
      type: 'gauge',
      samples: [['', assigned]],
    },
    {
      name: 'awscni_assigned_ip_per_cidr',
      help: 'The total number of IP addresses assigned per cidr',
      type: 'gauge',
      samples: story.pods
        .map((pod): [string, number] => [`{cidr="${pod.ip}/32"}`, 1])
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    },
    {
      name: 'awscni_assigned_ip_per_eni',
      help: 'The number of allocated ips partitioned by eni',
      type: 'gauge',
      samples: [...podsByEni].map(([eni, count]): [string, number] => [`{eni="${eni}"}`, count]).sort(),
    },
    {
      name: 'awscni_aws_api_latency_ms',
      help: 'AWS API call latency in ms',
      type: 'summary',
      samples: ec2Calls.flatMap(([api, count]): [string, number][] =>
        count > 0
          ? [
              [`_sum{api="${api}",error="false",status="200"}`, count * random.int(80, 420)],
              [`_count{api="${api}",error="false",status="200"}`, count],
            ]
          : [],
      ),
    },
    {
      name: 'awscni_del_ip_req_count',
      help: 'The number of delete IP address requests',
      type: 'counter',
      samples: [['{reason="PodDeleted"}', deletes]],
    },
    {
      name: 'awscni_ec2api_req_count',
      help: 'The number of requests made to EC2 APIs by CNI',
      type: 'counter',
      samples: ec2Calls.filter(([, count]) => count > 0).map(([fn, count]) => [`{fn="${fn}"}`, count]),
    },
    {
      name: 'awscni_eni_allocated',
      help: 'The number of ENIs allocated',
      type: 'gauge',
      samples: [['', story.enis.length]],
    },
    {
      name: 'awscni_eni_max',
      help: 'The maximum number of ENIs that can be attached to the instance, accounting for unmanaged ENIs',
      type: 'gauge',
      samples: [['', ipam.maxEnis]],
    },
    {
      name: 'awscni_force_removed_enis',
      help: 'The number of ENIs force removed while they had assigned pods',
      type: 'counter',
      samples: [['', 0]],
    },
    {
      name: 'awscni_force_removed_ips',
      help: 'The number of IPs force removed while they had assigned pods',
      type: 'counter',
      samples: [['', 0]],
    },
    {
      name: 'awscni_ip_max',
      help: 'The maximum number of IP addresses that can be allocated to the instance',
      type: 'gauge',
      samples: [['', ipam.maxEnis * (ipam.ipv4PerEni - 1)]],
    },
    {
      name: 'awscni_ipamd_action_inprogress',
      help: 'The number of ipamd actions in progress',
      type: 'gauge',
      samples: ['decreaseDatastorePool', 'increaseDatastorePool', 'nodeIPPoolReconcile', 'nodeInit'].map((fn) => [
        `{fn="${fn}"}`,
        0,
      ]),
    },
    {
      name: 'awscni_no_available_ip_addresses',
      help: 'The number of pod IP assignments that fail due to no available IP addresses',
      type: 'counter',
      samples: [['', failures]],
    },
    {
      name: 'awscni_reconcile_count',
      help: 'The number of times ipamd reconciles on ENIs and IP/Prefix addresses',
      type: 'counter',
      samples: [['{fn="eniDataStorePoolReconcileAdd"}', totalIps]],
    },
    {
      name: 'awscni_total_ip_addresses',
      help: 'The total number of IP addresses',
      type: 'gauge',
      samples: [['', totalIps]],
    },
    {
      name: 'awscni_total_ipv4_prefixes',
      help: 'The total number of IPv4 prefixes',
      type: 'gauge',
      samples: [['', 0]],
    },
    {
      name: 'go_gc_duration_seconds',
      help: 'A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.',
      type: 'summary',
      samples: [
        ['{quantile="0"}', 2.9451e-5],
        ['{quantile="0.25"}', 4.1022e-5],
        ['{quantile="0.5"}', 5.3318e-5],
        ['{quantile="0.75"}', 7.7204e-5],
        ['{quantile="1"}', 0.000912837],
        ['_sum', 0.118832671],
        ['_count', 1694],
      ],
    },
    {
      name: 'go_goroutines',
      help: 'Number of goroutines that currently exist.',
      type: 'gauge',
      samples: [['', 58 + random.int(0, 12)]],
    },
    {
      name: 'go_info',
      help: 'Information about the Go environment.',
      type: 'gauge',
      samples: [['{version="go1.24.9"}', 1]],
    },
    {
      name: 'go_memstats_alloc_bytes',
      help: 'Number of heap bytes allocated and currently in use, from runtime/metrics:/gc/heap/allocs:bytes.',
      type: 'gauge',
      samples: [['', 1.4012376e7 + random.int(0, 2_000_000)]],
    },
    {
      name: 'go_memstats_heap_inuse_bytes',
      help: 'Number of heap bytes that are in use, from runtime/metrics:/memory/classes/heap/objects:bytes.',
      type: 'gauge',
      samples: [['', 1.6310272e7]],
    },
    {
      name: 'go_memstats_sys_bytes',
      help: 'Number of bytes obtained from system. Sum of all runtime/metrics:/memory/classes/total:bytes.',
      type: 'gauge',
      samples: [['', 3.5460104e7]],
    },
    {
      name: 'go_threads',
      help: 'Number of OS threads created.',
      type: 'gauge',
      samples: [['', 12]],
    },
    {
      name: 'process_cpu_seconds_total',
      help: 'Total user and system CPU time spent in seconds.',
      type: 'counter',
      samples: [['', Number((upSeconds * 0.004 + 1.3).toFixed(2))]],
    },
    {
      name: 'process_max_fds',
      help: 'Maximum number of open file descriptors.',
      type: 'gauge',
      samples: [['', 1.048576e6]],
    },
    {
      name: 'process_open_fds',
      help: 'Number of open file descriptors.',
      type: 'gauge',
      samples: [['', 17 + random.int(0, 6)]],
    },
    {
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes.',
      type: 'gauge',
      samples: [['', 5.4112256e7]],
    },
    {
      name: 'process_start_time_seconds',
      help: 'Start time of the process since unix epoch in seconds.',
      type: 'gauge',
      samples: [['', Number((awsNodeStart / 1000).toFixed(2))]],
    },
    {
      name: 'process_virtual_memory_bytes',
      help: 'Virtual memory size in bytes.',
      type: 'gauge',
      samples: [['', 1.35653376e9]],
    },
    {
      name: 'promhttp_metric_handler_requests_in_flight',
      help: 'Current number of scrapes being served.',
      type: 'gauge',
      samples: [['', 1]],
    },
    {
      name: 'promhttp_metric_handler_requests_total',
      help: 'Total number of scrapes by HTTP status code.',
      type: 'counter',
      samples: [
        ['{code="200"}', Math.floor(upSeconds / 60)],
        ['{code="500"}', 0],
        ['{code="503"}', 0],
      ],
    },
  ];
  return renderFamilies(families);
}

export interface LogLine {
  at: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  caller: string;
  msg: string;
  extra?: Record<string, unknown>;
}

export function renderZap(lines: LogLine[]): string {
  return lines
    .slice()
    .sort((a, b) => a.at - b.at)
    .map((line) =>
      JSON.stringify({ level: line.level, ts: zapTime(line.at), caller: line.caller, msg: line.msg, ...line.extra }),
    )
    .join('\n')
    .concat('\n');
}

function ipamdStartup(scenario: NodeScenario, story: NodeStory, at: number, restored: boolean): LogLine[] {
  const { node, ipam } = scenario;
  const lines: LogLine[] = [];
  let t = at;
  const log = (level: LogLine['level'], caller: string, msg: string, step = 3) => {
    t += step;
    lines.push({ at: t, level, caller, msg });
  };
  log('info', 'aws-k8s-agent/main.go:42', `Starting L-IPAMD ${node.vpcCniVersion.replace(/-eksbuild\.\d+$/, '')}  ...`);
  log('info', 'aws-k8s-agent/main.go:42', 'Testing communication with server', 120);
  log(
    'info',
    'wait/backoff.go:227',
    `Successful communication with the Cluster! Cluster Version is: ${node.kubeletVersion.replace(/^v(\d+\.\d+).*/, 'v$1')}. git version: ${node.kubeletVersion}. git tree state: clean. commit: 3a5b9e1c7d2f4068b1a9c3e5d7f9b2a4c6e8d0f1. platform: linux/amd64`,
    240,
  );
  log('info', 'aws-k8s-agent/main.go:63', 'Starting Pod controller', 40);
  log('info', 'aws-k8s-agent/main.go:63', 'Waiting for controller cache sync', 1);
  log('info', 'ipamd/ipamd.go:354', `Discovered region: ${node.region}`, 900);
  log('info', 'ipamd/ipamd.go:354', 'Custom networking enabled false');
  log('info', 'ipamd/ipamd.go:354', `Max ip per ENI ${ipam.ipv4PerEni - 1} and max prefixes per ENI 0`);
  for (const eni of story.enis) {
    log('info', 'ipamd/ipamd.go:1083', `Discovered ENI ${eni.id}, trying to set it up`, 30);
    log('debug', 'ipamd/ipamd.go:1083', `DataStore add an ENI ${eni.id}`, 1);
    for (const ip of eni.secondaryIps) {
      log('info', 'datastore/data_store.go:404', `Adding ${ip}/32 to DS for ${eni.id}`, 1);
      log('info', 'datastore/data_store.go:404', `Added ENI(${eni.id})'s IP/Prefix ${ip}/32 to datastore`, 0);
    }
  }
  if (restored) {
    log('info', 'datastore/data_store.go:497', 'Begin ipam state recovery from backing store', 12);
    for (const pod of story.pods) {
      log(
        'debug',
        'datastore/data_store.go:497',
        `Recovered aws-cni/${pod.sandboxId}/eth0 => ${pod.eni.id}/${pod.ip}`,
        1,
      );
    }
    log('debug', 'datastore/data_store.go:497', 'Completed ipam state recovery', 2);
  }
  log('info', 'ipamd/ipamd.go:667', `Serving introspection endpoints on 127.0.0.1:61679`, 40);
  log('info', 'prometheusmetrics/prometheusmetrics.go:209', 'Serving metrics on port 61678', 0);
  return lines;
}

function poolStats(total: number, assigned: number, perEni: number): string {
  return `IP pool stats for network card 0: Total IPs/Prefixes = ${total}/0, AssignedIPs/CooldownIPs: ${assigned}/0, c.maxIPsPerENI = ${perEni}`;
}

/** ipamd.log for the window since aws-node's current container (and earlier ones) started. */
export function ipamdLog(scenario: NodeScenario, story: NodeStory): string {
  const random = createRandom(`ipamd-log/${scenario.name}`);
  const { ipam } = scenario;
  const perEni = ipam.ipv4PerEni - 1;
  const total = story.enis.reduce((sum, eni) => sum + eni.secondaryIps.length, 0);
  const lines: LogLine[] = [];
  story.awsNode.startedAt.forEach((at, index) => {
    lines.push(...ipamdStartup(scenario, story, at + 2 * SECOND, index > 0));
  });

  const assignedAt = (at: number) =>
    story.pods.filter((pod) => pod.startedAt - 600 < at).length +
    story.jobRuns.filter((run) => run.startedAt - 600 < at && at <= run.endedAt + 900).length;
  for (const pod of [...story.pods, ...story.jobRuns]) {
    const at = pod.startedAt - 600;
    const assigned = assignedAt(at);
    const push = (level: LogLine['level'], caller: string, msg: string, offset: number) =>
      lines.push({ at: at + offset, level, caller, msg });
    push(
      'debug',
      'rpc/rpc.pb.go:863',
      `AddNetworkRequest: K8S_POD_NAME:"${pod.name}" K8S_POD_NAMESPACE:"${pod.namespace}" K8S_POD_INFRA_CONTAINER_ID:"${pod.sandboxId}" ContainerID:"${pod.sandboxId}" IfName:"eth0" NetworkName:"aws-cni" Netns:"/var/run/netns/${pod.netns}"`,
      0,
    );
    push(
      'debug',
      'datastore/data_store.go:607',
      `AssignPodIPv4Address: IP address pool stats: total ${total}, assigned ${assigned}`,
      0,
    );
    push('debug', 'datastore/data_store.go:1286', `Found a free IP not in DB - ${pod.ip}`, 0);
    push('debug', 'datastore/data_store.go:607', `New IP from CIDR pool- ${pod.ip}`, 0);
    push(
      'info',
      'datastore/data_store.go:714',
      `assignPodIPAddressUnsafe: Assign IP ${pod.ip} to sandbox aws-cni/${pod.sandboxId}/eth0`,
      0,
    );
    push('debug', 'rpc/rpc.pb.go:863', `VPC CIDR ${scenario.node.vpcCidr}`, 1);
    push(
      'info',
      'rpc/rpc.pb.go:863',
      `Send AddNetworkReply: IPv4Addr: ${pod.ip}, IPv6Addr: , DeviceNumber: ${pod.eni.deviceNumber}, err: <nil>`,
      1,
    );
  }
  for (const run of story.jobRuns) {
    const at = run.endedAt + 900;
    const push = (level: LogLine['level'], caller: string, msg: string, offset: number) =>
      lines.push({ at: at + offset, level, caller, msg });
    push('info', 'rpc/rpc.pb.go:881', `Received DelNetwork for Sandbox ${run.sandboxId}`, 0);
    push(
      'debug',
      'rpc/rpc.pb.go:881',
      `DelNetworkRequest: K8S_POD_NAME:"${run.name}" K8S_POD_NAMESPACE:"${run.namespace}" K8S_POD_INFRA_CONTAINER_ID:"${run.sandboxId}" Reason:"PodDeleted" ContainerID:"${run.sandboxId}" IfName:"eth0" NetworkName:"aws-cni"`,
      0,
    );
    push(
      'debug',
      'ipamd/rpc_handler.go:262',
      `UnassignPodIPAddress: IP address pool stats: total ${total}, assigned ${assignedAt(at)}`,
      0,
    );
    push(
      'info',
      'datastore/data_store.go:1220',
      `unassignPodIPAddressUnsafe: Unassign IP ${run.ip} from sandbox aws-cni/${run.sandboxId}/eth0`,
      0,
    );
    push(
      'info',
      'rpc/rpc.pb.go:881',
      `Send DelNetworkReply: IPv4Addr: ${run.ip}, DeviceNumber: ${run.eni.deviceNumber}, err: <nil>`,
      1,
    );
  }

  for (const failure of story.ipFailures) {
    const push = (level: LogLine['level'], caller: string, msg: string, offset: number) =>
      lines.push({ at: failure.at + offset, level, caller, msg });
    push(
      'debug',
      'rpc/rpc.pb.go:863',
      `AddNetworkRequest: K8S_POD_NAME:"${failure.pod}" K8S_POD_NAMESPACE:"${failure.namespace}" K8S_POD_INFRA_CONTAINER_ID:"${failure.sandboxId}" ContainerID:"${failure.sandboxId}" IfName:"eth0" NetworkName:"aws-cni" Netns:"/var/run/netns/cni-${random.uuid()}"`,
      0,
    );
    push(
      'debug',
      'datastore/data_store.go:607',
      `AssignPodIPv4Address: IP address pool stats: total ${total}, assigned ${assignedAt(failure.at)}`,
      0,
    );
    for (const eni of story.enis) {
      push(
        'debug',
        'datastore/data_store.go:607',
        `AssignPodIPv4Address: ENI ${eni.id} does not have available addresses`,
        0,
      );
    }
    push('error', 'datastore/data_store.go:607', 'DataStore has no available IP/Prefix addresses', 0);
    push(
      'info',
      'rpc/rpc.pb.go:863',
      'Send AddNetworkReply: IPv4Addr: , IPv6Addr: , DeviceNumber: -1, err: AssignPodIPv4Address: no available IP/Prefix addresses',
      1,
    );
  }

  // The pool reconciler runs every minute; when ENIs are at the limit it says so every time.
  const reconcileFrom = (story.awsNode.startedAt[0] ?? story.bootAt) + MINUTE;
  const exhaustedFrom = story.ipFailures[0]?.at ?? Number.POSITIVE_INFINITY;
  for (let at = reconcileFrom; at < story.now; at += MINUTE + random.int(0, 400)) {
    const assignedNow = assignedAt(at);
    const available = total - assignedNow;
    lines.push({ at, level: 'debug', caller: 'ipamd/ipamd.go:2171', msg: poolStats(total, assignedNow, perEni) });
    lines.push({
      at: at + 1,
      level: 'debug',
      caller: 'ipamd/ipamd.go:660',
      msg: `IP stats - total IPs: ${total}, assigned IPs: ${assignedNow}, cooldown IPs: 0`,
    });
    if (available < ipam.warmEniTarget * perEni) {
      lines.push({
        at: at + 1,
        level: 'debug',
        caller: 'ipamd/ipamd.go:673',
        msg: `IP pool is too low: available (${available}) < ENI target (${ipam.warmEniTarget}) * addrsPerENI (${perEni})`,
      });
      lines.push({ at: at + 2, level: 'debug', caller: 'ipamd/ipamd.go:678', msg: 'Starting to increase pool size' });
      if (story.enis.length >= ipam.maxEnis || at >= exhaustedFrom) {
        lines.push({
          at: at + 3,
          level: 'debug',
          caller: 'ipamd/ipamd.go:795',
          msg: 'Skipping ENI allocation as the max ENI limit is already reached',
        });
      }
    }
    if ((at - reconcileFrom) % (5 * MINUTE) < MINUTE) {
      lines.push({
        at: at + 5,
        level: 'debug',
        caller: 'ipamd/ipamd.go:1441',
        msg: `Reconciling ENI/IP pool info because time since last 1m0.${String(random.int(1, 999)).padStart(3, '0')}s > 1m0s`,
      });
      lines.push({
        at: at + 7,
        level: 'debug',
        caller: 'ipamd/ipamd.go:1441',
        msg: 'Successfully Reconciled ENI/IP pool',
      });
    }
  }
  return renderZap(lines);
}

/** An older ipamd.log generation, as lumberjack leaves it after rotation (gzipped by the caller). */
export function rotatedIpamdLog(scenario: NodeScenario, from: number, to: number): string {
  const random = createRandom(`ipamd-rotated/${scenario.name}/${from}`);
  const perEni = scenario.ipam.ipv4PerEni - 1;
  const total = perEni * scenario.ipam.attachedEnis;
  const lines: LogLine[] = [];
  for (let at = from; at < to; at += MINUTE + random.int(0, 400)) {
    const assigned = random.int(3, Math.max(3, total - 4));
    lines.push({ at, level: 'debug', caller: 'ipamd/ipamd.go:2171', msg: poolStats(total, assigned, perEni) });
    lines.push({
      at: at + 1,
      level: 'debug',
      caller: 'ipamd/ipamd.go:660',
      msg: `IP stats - total IPs: ${total}, assigned IPs: ${assigned}, cooldown IPs: 0`,
    });
  }
  return renderZap(lines);
}

function stdinData(): string {
  return JSON.stringify({
    cniVersion: '0.4.0',
    mtu: '9001',
    name: 'aws-cni',
    pluginLogFile: '/var/log/aws-routed-eni/plugin.log',
    pluginLogLevel: 'DEBUG',
    podSGEnforcingMode: 'strict',
    type: 'aws-cni',
    vethPrefix: 'eni',
  });
}

/** plugin.log: one block per CNI ADD, successful or not. */
export function pluginLog(scenario: NodeScenario, story: NodeStory): string {
  const lines: LogLine[] = [];
  const add = (at: number, namespace: string, name: string, uid: string, sandboxId: string, netns: string) =>
    lines.push({
      at,
      level: 'info',
      caller: 'routed-eni-cni-plugin/cni.go:125',
      msg: `Received CNI add request: ContainerID(${sandboxId}) Netns(/var/run/netns/${netns}) IfName(eth0) Args(K8S_POD_INFRA_CONTAINER_ID=${sandboxId};K8S_POD_UID=${uid};IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name}) Path(/opt/cni/bin) argsStdinData(${stdinData()})`,
    });
  for (const pod of [...story.pods, ...story.jobRuns]) {
    const at = pod.startedAt - 610;
    add(at, pod.namespace, pod.name, pod.uid, pod.sandboxId, pod.netns);
    lines.push({
      at: at + 1,
      level: 'debug',
      caller: 'routed-eni-cni-plugin/cni.go:125',
      msg: 'MTU value set is 9001:',
    });
    lines.push({
      at: at + 14,
      level: 'info',
      caller: 'routed-eni-cni-plugin/cni.go:125',
      msg: `Received add network response from ipamd for container ${pod.sandboxId} interface eth0: Success:true IPAllocationMetadata:{IPv4Addr:"${pod.ip}" DeviceNumber:${pod.eni.deviceNumber}} VPCv4CIDRs:"${scenario.node.vpcCidr}" NetworkPolicyMode:"standard"`,
    });
    lines.push({
      at: at + 15,
      level: 'debug',
      caller: 'routed-eni-cni-plugin/cni.go:125',
      msg: `SetupPodNetwork: hostVethName=${pod.hostVeth}, contVethName=eth0, netnsPath=/var/run/netns/${pod.netns}, ipAddr=${pod.ip}/32, routeTableNumber=${pod.eni.isPrimary ? 254 : pod.eni.deviceNumber + 1}, mtu=9001`,
    });
  }
  for (const run of story.jobRuns) {
    const at = run.endedAt + 890;
    lines.push({
      at,
      level: 'info',
      caller: 'routed-eni-cni-plugin/cni.go:289',
      msg: `Received CNI del request: ContainerID(${run.sandboxId}) Netns(/var/run/netns/${run.netns}) IfName(eth0) Args(K8S_POD_INFRA_CONTAINER_ID=${run.sandboxId};K8S_POD_UID=${run.uid};IgnoreUnknown=1;K8S_POD_NAMESPACE=${run.namespace};K8S_POD_NAME=${run.name}) Path(/opt/cni/bin) argsStdinData(${stdinData()})`,
    });
    lines.push({
      at: at + 12,
      level: 'info',
      caller: 'routed-eni-cni-plugin/cni.go:289',
      msg: `Received del network response from ipamd for pod ${run.name} namespace ${run.namespace} sandbox ${run.sandboxId}: Success:true IPAllocationMetadata:{IPv4Addr:"${run.ip}" DeviceNumber:${run.eni.deviceNumber}}`,
    });
    lines.push({
      at: at + 13,
      level: 'debug',
      caller: 'routed-eni-cni-plugin/cni.go:289',
      msg: `TeardownPodNetwork: containerAddr=${run.ip}/32, routeTable=${run.eni.isPrimary ? 254 : run.eni.deviceNumber + 1}`,
    });
  }
  for (const failure of story.ipFailures) {
    add(
      failure.at - 10,
      failure.namespace,
      failure.pod,
      failure.podUid,
      failure.sandboxId,
      `cni-${failure.sandboxId.slice(0, 8)}`,
    );
    lines.push({
      at: failure.at + 2,
      level: 'info',
      caller: 'routed-eni-cni-plugin/cni.go:125',
      msg: `Received add network response from ipamd for container ${failure.sandboxId} interface eth0: Success:false IPAllocationMetadata:{} VPCv4CIDRs:"${scenario.node.vpcCidr}" NetworkPolicyMode:"standard"`,
    });
    lines.push({
      at: failure.at + 2,
      level: 'error',
      caller: 'routed-eni-cni-plugin/cni.go:125',
      msg: `Failed to assign an IP address to container ${failure.sandboxId}`,
    });
  }
  return renderZap(lines);
}

/** network-policy-agent.log: the agent starts with aws-node and, with enforcement off, mostly idles. */
export function networkPolicyAgentLog(story: NodeStory): string {
  const start = story.kubeletStartAt + 10 * SECOND;
  const lines: LogLine[] = [
    {
      at: start,
      level: 'info',
      caller: 'runtime/proc.go:283',
      msg: 'version',
      extra: { logger: 'setup', GitVersion: 'v1.2.7', GitCommit: '5f7e9c1', BuildDate: '2025-10-02T18:11:43+0000' },
    },
    {
      at: start + 12,
      level: 'info',
      caller: 'runtime/proc.go:283',
      msg: 'Network Policy Agent running in standard mode',
      extra: { logger: 'setup' },
    },
    {
      at: start + 40,
      level: 'info',
      caller: 'ebpf/bpf_client.go:241',
      msg: 'Network Policy is disabled, skipping eBPF program load',
      extra: { logger: 'ebpf-client-init' },
    },
    {
      at: start + 51,
      level: 'info',
      caller: 'manager/internal.go:469',
      msg: 'Starting manager',
      extra: { logger: 'setup' },
    },
    {
      at: start + 58,
      level: 'info',
      caller: 'manager/server.go:83',
      msg: 'starting server',
      extra: { name: 'health probe', addr: '[::]:8163' },
    },
  ];
  return renderZap(lines);
}

export function eniConfigName(): string {
  return JSON.stringify('default');
}
