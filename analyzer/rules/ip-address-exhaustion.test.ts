import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import { LEGACY_PRIMARY_ENI_POOL, networkCardEnis } from './data/fixtures.ts';
import rule from './ip-address-exhaustion.ts';

const IPAMD = 'var_log/aws-routed-eni/ipamd.log';
const PLUGIN = 'var_log/aws-routed-eni/plugin.log';
const METRICS = 'ipamd/metrics.json';
const ENIS = 'ipamd/enis.json';
const KUBELET = 'kubelet/kubelet.log';

const zap = (level: string, ts: string, caller: string, msg: string) =>
  JSON.stringify({ level, ts: `2024-10-30T${ts}Z`, caller, msg });
const lines = (...all: string[]) => `${all.join('\n')}\n`;

const ipamdStart = zap('info', '21:00:00.001', 'aws-k8s-agent/main.go:42', 'Starting L-IPAMD v1.18.5  ...');
const ipamdNoise = zap(
  'debug',
  '21:30:00.000',
  'ipamd/ipamd.go:1021',
  'IP pool stats for network card 0: Total IPs/Prefixes = 29/0, AssignedIPs/CooldownIPs: 29/0, c.maxIPsPerENI = 10',
);
// eks-workshop VPC CNI troubleshooting module: the lines ipamd writes when the datastore is empty.
const noAvailable = (ts: string) =>
  zap('error', ts, 'datastore/data_store.go:607', 'DataStore has no available IP/Prefix addresses');
const rpcReply = (ts: string) =>
  zap(
    'info',
    ts,
    'rpc/rpc.pb.go:713',
    'Send AddNetworkReply: IPv4Addr: , IPv6Addr: , DeviceNumber: -1, err: AssignPodIPv4Address: no available IP/Prefix addresses',
  );
const pluginFailed = (ts: string, container: string) =>
  zap('error', ts, 'routed-eni-cni-plugin/cni.go:143', `Failed to assign an IP address to container ${container}`);
// Prefix delegation on a fragmented subnet: EC2 answers AssignPrivateIpAddresses with InsufficientCidrBlocks
// (pkg/awsutils/awsutils.go AllocIPAddresses; the SDK v2 error text).
const noCidrBlocks = (ts: string) =>
  zap(
    'error',
    ts,
    'awsutils/awsutils.go:1022',
    'Failed to allocate a private IP/Prefix addresses on ENI eni-0a1b2c3d4e5f60718: operation error EC2: AssignPrivateIpAddresses, https response error StatusCode: 400, RequestID: 7b3f0c2e-1d5a-4c1b-9f1e-2a3b4c5d6e7f, api error InsufficientCidrBlocks: The specified subnet does not have enough free cidr blocks to satisfy the request.',
  );
const cidrEcho = (ts: string) =>
  zap('debug', ts, 'ipamd/ipamd.go:2046', 'Insufficient IP Addresses due to: InsufficientCidrBlocks\n');
// Older ipamd (SDK v1 error text) creating an ENI in a full subnet.
const subnetFull = (ts: string) =>
  zap(
    'error',
    ts,
    'awsutils/awsutils.go:770',
    'Failed to CreateNetworkInterface InsufficientFreeAddressesInSubnet: The specified subnet does not have enough free addresses to satisfy the request.\n\tstatus code: 400, request id: 5b1c7d36-3f0e-4a52-8d1b-0c9e2f4a6b71',
  );

const metrics = (values: {
  noAvailable?: number;
  total: number;
  assigned: number;
  eniAllocated?: number;
  eniMax?: number;
}) =>
  lines(
    '# HELP awscni_assigned_ip_addresses The number of IP addresses assigned to pods',
    '# TYPE awscni_assigned_ip_addresses gauge',
    `awscni_assigned_ip_addresses ${values.assigned}`,
    '# HELP awscni_eni_allocated The number of ENIs allocated',
    '# TYPE awscni_eni_allocated gauge',
    `awscni_eni_allocated ${values.eniAllocated ?? 1}`,
    '# HELP awscni_eni_max The maximum number of ENIs that can be attached to the instance, accounting for unmanaged ENIs',
    '# TYPE awscni_eni_max gauge',
    `awscni_eni_max ${values.eniMax ?? 3}`,
    '# HELP awscni_no_available_ip_addresses The number of pod IP assignments that fail due to no available IP addresses',
    '# TYPE awscni_no_available_ip_addresses counter',
    `awscni_no_available_ip_addresses ${values.noAvailable ?? 0}`,
    '# HELP awscni_total_ip_addresses The total number of IP addresses',
    '# TYPE awscni_total_ip_addresses gauge',
    `awscni_total_ip_addresses ${values.total}`,
  );

const zero = '0001-01-01T00:00:00Z';
const assignedAddress = (ip: string, pod: string) => ({
  Address: ip,
  IPAMKey: { networkName: 'aws-cni', containerID: '', ifName: '' },
  IPAMMetadata: { k8sPodNamespace: 'default', k8sPodName: pod },
  AssignedTime: '2025-01-01T00:00:00Z',
  UnassignedTime: zero,
});
/** v1.23+ `/v1/enis`: per network card, scrubbed IPAMKeys. */
const scrubbedEnis = (ips: number, assigned: number) =>
  JSON.stringify(
    networkCardEnis({
      totalIps: ips,
      assignedIps: assigned,
      cidrs: Object.fromEntries(
        Array.from({ length: ips }, (_, i) => {
          const ip = `10.0.1.${20 + i}`;
          return [
            `${ip}/32`,
            {
              Cidr: { IP: ip, Mask: '/////w==' },
              IPAddresses: i < assigned ? { [ip]: assignedAddress(ip, `web-${i}`) } : {},
              IsPrefix: false,
              AddressFamily: '',
            },
          ];
        }),
      ),
    }),
  );
/** v1.9–v1.19 `/v1/enis` under prefix delegation: one /28 with `assigned` pods on it. */
const prefixEnis = (assigned: number) =>
  JSON.stringify({
    TotalIPs: 16,
    AssignedIPs: assigned,
    ENIs: {
      'eni-0a1b2c3d4e5f60718': {
        ID: 'eni-0a1b2c3d4e5f60718',
        IsPrimary: true,
        DeviceNumber: 0,
        AvailableIPv4Cidrs: {
          '10.0.8.16/28': {
            Cidr: { IP: '10.0.8.16', Mask: '////8A==' },
            IPAddresses: Object.fromEntries(
              Array.from({ length: assigned }, (_, i) => [
                `10.0.8.${17 + i}`,
                {
                  Address: `10.0.8.${17 + i}`,
                  IPAMKey: { networkName: 'aws-cni', containerID: `c${i}`, ifName: 'eth0' },
                  IPAMMetadata: { k8sPodNamespace: 'default', k8sPodName: `api-${i}` },
                },
              ]),
            ),
            IsPrefix: true,
          },
        },
        IPv6Cidrs: {},
      },
    },
  });
/** Pre-1.7 `/v1/enis` (ENIIPPools). */
const legacyEnis = JSON.stringify({
  AssignedIPs: 1,
  ENIIPPools: {
    'eni-001197a0eeab79df8': LEGACY_PRIMARY_ENI_POOL,
  },
  TotalIPs: 3,
});

const kubelet = (time: string, body: string) => `Nov 20 ${time} ip-10-0-1-23.ec2.internal kubelet[3412]: ${body}`;
// kubelet's sandbox failure when the CNI add fails for lack of an IP (kuberuntime_manager.go).
const sandboxFailed = (time: string, pod: string) =>
  kubelet(
    time,
    `E1120 ${time}.101010    3412 pod_workers.go:1301] "Error syncing pod, skipping" err="failed to \\"CreatePodSandbox\\" for \\"${pod}\\" with CreatePodSandboxError: \\"Failed to create sandbox for pod: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type=\\\\\\"aws-cni\\\\\\" name=\\\\\\"aws-cni\\\\\\" failed (add): add cmd: failed to assign an IP address to container\\"" pod="default/${pod}" podUID="0b5a2c1e"`,
  );

ruleTester(rule, {
  pass: [
    {
      name: 'stock bundle: metrics.json (Prometheus text) shows no failed assignment and free addresses',
      files: {
        [METRICS]: metrics({ total: 10, assigned: 4 }),
        [IPAMD]: lines(ipamdStart, ipamdNoise),
      },
      messageId: 'available',
      evidence: [`${METRICS}:12`, `${METRICS}:15`],
      check: (result) => {
        expect(result.summary).toContain('6 of 10 addresses free');
        expect(result.summary).toContain('awscni_no_available_ip_addresses is 0');
      },
    },
    {
      name: 'pre-1.7 ENIIPPools /v1/enis with free addresses and a seelog ipamd.log',
      files: {
        [ENIS]: legacyEnis,
        [IPAMD]: lines('2019-02-11T09:00:00Z [INFO] Starting L-IPAMD v1.3.2  ...'),
      },
      messageId: 'available',
      evidence: [`${ENIS}:`, `${IPAMD}:1`],
      check: (result) => expect(result.summary).toContain('VPC CNI before v1.7'),
    },
    {
      name: 'only the ipamd log, with no exhaustion message',
      files: { [IPAMD]: lines(ipamdStart, ipamdNoise) },
      messageId: 'available',
      evidence: [`${IPAMD}:2`],
      check: (result) => expect(result.caveats.join(' ')).toMatch(/current pool/),
    },
  ],
  fail: [
    {
      name: 'empty datastore: ipamd and the plugin fail pod IP assignments, every address assigned (v1.23+ enis)',
      files: {
        [IPAMD]: lines(ipamdStart, noAvailable('21:32:54.531'), rpcReply('21:32:54.532'), noAvailable('21:32:54.564')),
        [PLUGIN]: lines(pluginFailed('21:32:54.533', '6397e2a1b0c4'), pluginFailed('21:32:54.565', '7f9c0d1e2a3b')),
        [ENIS]: scrubbedEnis(3, 3),
      },
      messageId: 'exhausted',
      severity: 'critical',
      evidence: [`${IPAMD}:2`, `${IPAMD}:4`, `${PLUGIN}:1`, `${ENIS}:`],
      check: (result) => {
        expect(result.summary).toContain('"no available IP/Prefix addresses" 2 times');
        expect(result.summary).toContain('2 containers');
        expect(result.summary).toContain('now 3 of 3 addresses are assigned');
        expect(result.tables[0]?.rows[0]).toEqual(['eni-0abc', '0', '0', 'subnet-0123', '3 / 3', '']);
      },
    },
    {
      name: 'prefix delegation on a fragmented subnet: InsufficientCidrBlocks with addresses still free',
      files: {
        [IPAMD]: lines(
          ipamdStart,
          noCidrBlocks('21:40:00.100'),
          cidrEcho('21:40:00.101'),
          noCidrBlocks('21:42:00.100'),
        ),
        [ENIS]: prefixEnis(5),
      },
      messageId: 'fragmented',
      severity: 'warning',
      evidence: [`${IPAMD}:2`, `${IPAMD}:4`],
      check: (result) => {
        expect(result.summary).toContain('InsufficientCidrBlocks 2 times');
        expect(result.summary).toContain('11 addresses still free');
        expect(result.remediation[0]).toContain('create-subnet-cidr-reservation');
        expect(result.facts).toContainEqual({ label: 'Prefix delegation', value: 'in use (/28 prefixes attached)' });
      },
    },
    {
      name: 'full subnet: InsufficientFreeAddressesInSubnet and pods failing',
      files: {
        [IPAMD]: lines(ipamdStart, subnetFull('21:10:00.000'), noAvailable('21:11:00.000')),
        [METRICS]: metrics({ noAvailable: 4, total: 9, assigned: 9, eniAllocated: 3, eniMax: 3 }),
      },
      messageId: 'subnetFull',
      severity: 'critical',
      evidence: [`${IPAMD}:2`, `${IPAMD}:3`, `${METRICS}:12`],
      check: (result) => {
        expect(result.summary).toContain('InsufficientFreeAddressesInSubnet once');
        expect(result.summary).toContain('awscni_no_available_ip_addresses counts 4');
      },
    },
    {
      name: 'metrics only: failed assignments counted and the node at its ENI limit',
      files: { [METRICS]: metrics({ noAvailable: 7, total: 27, assigned: 27, eniAllocated: 3, eniMax: 3 }) },
      messageId: 'exhausted',
      severity: 'critical',
      evidence: [`${METRICS}:12`, `${METRICS}:3`, `${METRICS}:15`],
      check: (result) => expect(result.summary).toContain('every ENI the instance allows is attached'),
    },
    {
      name: 'past failures with addresses free now are a warning',
      files: { [METRICS]: metrics({ noAvailable: 2, total: 20, assigned: 12 }) },
      messageId: 'exhausted',
      severity: 'warning',
      evidence: [`${METRICS}:12`],
    },
    {
      name: 'no failure yet but every address held is assigned (v1.9–v1.19 prefix shape)',
      files: { [ENIS]: prefixEnis(16), [IPAMD]: lines(ipamdStart) },
      messageId: 'poolFull',
      severity: 'warning',
      evidence: [`${ENIS}:`],
      check: (result) => expect(result.summary).toContain('all 16 addresses'),
    },
    {
      name: 'ipamd holds no address at all (metrics)',
      files: { [METRICS]: metrics({ total: 0, assigned: 0 }) },
      messageId: 'poolFull',
      severity: 'warning',
      evidence: [`${METRICS}:15`, `${METRICS}:3`],
      check: (result) => expect(result.summary).toContain('ipamd holds no address for pods at all'),
    },
    {
      name: 'stock bundle: kubelet journal sandbox failures name the stuck pods',
      files: {
        [IPAMD]: lines(ipamdStart),
        [KUBELET]: lines(sandboxFailed('21:50:01', 'web-7d9f-abcde'), sandboxFailed('21:50:12', 'web-7d9f-fghij')),
      },
      messageId: 'exhausted',
      severity: 'critical',
      evidence: [`${KUBELET}:1`, `${KUBELET}:2`],
      check: (result) => expect(result.summary).toContain('default/web-7d9f-abcde, default/web-7d9f-fghij'),
    },
  ],
  notEvaluated: [
    {
      name: 'none of the ipamd inputs is in the bundle',
      files: { [KUBELET]: lines(kubelet('08:00:00', 'I1120 08:00:00.000000    3412 kubelet.go:2400] "SyncLoop ADD"')) },
      reason: 'var_log/aws-routed-eni/ipamd.log',
    },
    {
      name: 'stock bundle where ipamd did not answer: empty metrics and enis, empty log',
      files: { [METRICS]: '', [ENIS]: '', [IPAMD]: '' },
      reason: 'nothing to judge IP exhaustion on',
    },
    {
      name: 'metrics file holding a curl error',
      files: { [METRICS]: 'curl: (7) Failed to connect to localhost port 61678 after 0 ms: Connection refused\n' },
      reason: 'curl error',
    },
    {
      name: 'enis.json holding the AvailableCommands fallback',
      files: { [ENIS]: '{"AvailableCommands":["/v1/enis","/v1/eni-configs"]}' },
      reason: 'AvailableCommands',
    },
    {
      name: 'our agent could not read ipamd at all',
      files: {},
      manifest: {
        'ipamd-log': { status: 'error', reason: 'ENOENT: no such file' },
        'ipamd-metrics': { status: 'error', reason: 'connect ECONNREFUSED 127.0.0.1:61678' },
        'ipamd-enis': { status: 'skipped', reason: '--skip' },
      },
      reason: 'ECONNREFUSED',
    },
  ],
});
