import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import { awsNodeContainerInfo, awsNodePod, networkCardEnis, podList as podListOf } from './data/fixtures.ts';
import rule from './warm-pool-settings.ts';

const CTR = 'cni/cni-configuration-variables-containerd.json';
const PODS = 'kubelet/pods.json';
const IPAMD_ENV = 'ipamd/ipamd-env-settings.json';
const ENIS = 'ipamd/enis.json';
const IPAMD = 'var_log/aws-routed-eni/ipamd.log';

const ctrInfo = (env: string[]) => awsNodeContainerInfo(env);

const podList = (env: Record<string, string>) => podListOf(awsNodePod({ env }));

// What config/master/aws-k8s-cni.yaml sets.
const MANIFEST = ['ENABLE_PREFIX_DELEGATION=false', 'WARM_ENI_TARGET=1', 'WARM_PREFIX_TARGET=1'];

const address = (ip: string, pod?: string) => ({
  Address: ip,
  IPAMKey: pod
    ? { networkName: 'aws-cni', containerID: `c-${ip}`, ifName: 'eth0' }
    : { networkName: '', containerID: '', ifName: '' },
  IPAMMetadata: pod ? { k8sPodNamespace: 'default', k8sPodName: pod } : {},
  AssignedTime: pod ? '2022-05-01T10:00:00Z' : '0001-01-01T00:00:00Z',
  UnassignedTime: '0001-01-01T00:00:00Z',
});

// /v1/enis of v1.11 (one bare ENIInfos, secondary IPs as /32 AvailableIPv4Cidrs; pkg/ipamd/datastore at v1.11).
const enisV111 = () => {
  const cidrs: Record<string, unknown> = {};
  for (let i = 0; i < 9; i++) {
    const ip = `10.0.1.${40 + i}`;
    cidrs[`${ip}/32`] = {
      Cidr: { IP: ip, Mask: '/////w==' },
      IPAddresses: { [ip]: address(ip, i < 3 ? `web-${i}` : undefined) },
      IsPrefix: false,
    };
  }
  return `${JSON.stringify({
    TotalIPs: 9,
    AssignedIPs: 3,
    ENIs: {
      'eni-0c1d2e3f4a5b6c7d8': {
        ID: 'eni-0c1d2e3f4a5b6c7d8',
        IsPrimary: true,
        IsTrunk: false,
        IsEFA: false,
        DeviceNumber: 0,
        AvailableIPv4Cidrs: cidrs,
        IPv6Cidrs: {},
      },
    },
  })}\n`;
};

// /v1/enis of v1.20+ (keyed by network card) with two /28 prefixes (prefix delegation).
const enisWithPrefixes = `${JSON.stringify(
  networkCardEnis({
    eni: 'eni-09ab12cd34ef56789',
    totalIps: 32,
    assignedIps: 2,
    cidrs: {
      '10.0.1.16/28': {
        Cidr: { IP: '10.0.1.16', Mask: '////8A==' },
        IPAddresses: { '10.0.1.17': address('10.0.1.17', 'web-0'), '10.0.1.18': address('10.0.1.18', 'web-1') },
        IsPrefix: true,
        AddressFamily: '',
      },
      '10.0.1.32/28': {
        Cidr: { IP: '10.0.1.32', Mask: '////8A==' },
        IPAddresses: {},
        IsPrefix: true,
        AddressFamily: '',
      },
    },
  }),
)}\n`;

const zap = (ts: string, msg: string, level = 'debug', extra: Record<string, unknown> = {}) =>
  JSON.stringify({ level, ts, caller: 'ipamd/ipamd.go:1065', msg, ...extra });

ruleTester(rule, {
  pass: [
    {
      name: 'stock layout: the manifest defaults, with a v1.11 /v1/enis',
      files: { [CTR]: ctrInfo(MANIFEST), [ENIS]: enisV111() },
      messageId: 'effective',
      evidence: [`${CTR}:`],
      check: (result) => {
        expect(result.summary).toContain('ipamd keeps 1 spare ENI with all its secondary IPs attached');
        expect(result.summary).toContain('now 3 of 9 addresses are assigned on 1 ENI, 6 spare');
        expect(result.facts.find((fact) => fact.label === 'Pool per /v1/enis')?.value).toContain('v1.9–v1.19');
      },
    },
    {
      name: 'WARM_IP_TARGET with MINIMUM_IP_TARGET, as the docs advise for small subnets',
      files: { [PODS]: podList({ WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '12', ENABLE_PREFIX_DELEGATION: 'false' }) },
      messageId: 'effective',
      evidence: [`${PODS}:`],
      check: (result) => expect(result.summary).toContain('ipamd keeps 2 spare secondary IPs, and at least 12 in all'),
    },
    {
      name: 'prefix delegation with one warm prefix',
      files: {
        [CTR]: ctrInfo(['ENABLE_PREFIX_DELEGATION=true', 'WARM_ENI_TARGET=1', 'WARM_PREFIX_TARGET=1']),
        [ENIS]: enisWithPrefixes,
      },
      messageId: 'effective',
      check: (result) => {
        expect(result.summary).toContain('ipamd keeps 1 spare /28 prefix (16 addresses)');
        expect(result.summary).toContain('(2 prefixes)');
      },
    },
    {
      name: 'introspection only: ipamd-env-settings, prefix delegation read from the prefixes',
      files: {
        [IPAMD_ENV]:
          '{"AWS_MANAGE_ENIS_NON_SCHEDULABLE":false,"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG":false,"ENABLE_SUBNET_DISCOVERY":true,"WARM_ENI_TARGET":1,"WARM_IP_TARGET":0}\n',
        [ENIS]: enisWithPrefixes,
      },
      messageId: 'effective',
      evidence: [`${IPAMD_ENV}:`],
      check: (result) => {
        expect(result.caveats.join('\n')).toContain('the /28 prefixes in ipamd/enis.json show it on');
        expect(result.caveats.join('\n')).toContain('MINIMUM_IP_TARGET is not known');
      },
    },
    {
      name: 'IPv6 mode: the targets do not apply',
      files: { [PODS]: podList({ ENABLE_IPv6: 'true', ENABLE_IPv4: 'false', ENABLE_PREFIX_DELEGATION: 'true' }) },
      messageId: 'ipv6',
    },
  ],
  fail: [
    {
      name: 'prefix delegation with every target at 0',
      files: {
        [PODS]: podList({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '0', WARM_ENI_TARGET: '1' }),
      },
      messageId: 'pdWithoutTargets',
      severity: 'critical',
      evidence: [`${PODS}:`],
      check: (result) =>
        expect(result.summary).toContain(
          'WARM_PREFIX_TARGET=0, WARM_IP_TARGET not set (no default), MINIMUM_IP_TARGET not set (no default)',
        ),
    },
    {
      name: 'MINIMUM_IP_TARGET without WARM_IP_TARGET',
      files: { [CTR]: ctrInfo([...MANIFEST, 'MINIMUM_IP_TARGET=10']) },
      messageId: 'minimumWithoutWarmIp',
      severity: 'warning',
      evidence: [`${CTR}:`],
    },
    {
      name: 'stock layout: WARM_IP_TARGET=1 alone, with pool churn and throttling in ipamd.log',
      files: {
        [CTR]: ctrInfo([...MANIFEST, 'WARM_IP_TARGET=1']),
        [IPAMD]: [
          zap(
            '2026-11-20T06:00:00.000Z',
            'Successfully increased IP pool: Total IPs/Prefixes = 4/0, AssignedIPs/CooldownIPs: 3/0',
          ),
          zap(
            '2026-11-20T06:30:00.000Z',
            'Successfully decreased IP pool by removing IPs [10.0.1.47] from ENI eni-0c1d2e3f4a5b6c7d8',
          ),
          zap(
            '2026-11-20T07:00:00.000Z',
            'Failed to allocate a private IP addresses on ENI eni-0c1d2e3f4a5b6c7d8',
            'warn',
            {
              error: 'RequestLimitExceeded: Request limit exceeded.\n\tstatus code: 503',
            },
          ),
          zap(
            '2026-11-20T08:00:00.000Z',
            'Successfully increased IP pool: Total IPs/Prefixes = 5/0, AssignedIPs/CooldownIPs: 4/0',
          ),
          '',
        ].join('\n'),
      },
      messageId: 'warmIpWithoutMinimum',
      severity: 'warning',
      evidence: [`${CTR}:`, `${IPAMD}:3`],
      check: (result) => expect(result.summary).toContain('3 pool changes in 2.0 h and 1 throttled EC2 call(s)'),
    },
    {
      name: 'WARM_IP_TARGET and MINIMUM_IP_TARGET override an explicit WARM_PREFIX_TARGET',
      files: {
        [PODS]: podList({
          ENABLE_PREFIX_DELEGATION: 'true',
          WARM_PREFIX_TARGET: '1',
          WARM_IP_TARGET: '5',
          MINIMUM_IP_TARGET: '10',
        }),
      },
      messageId: 'warmPrefixIgnored',
      severity: 'info',
      evidence: [`${PODS}:`],
      check: (result) => expect(result.summary).toContain('WARM_PREFIX_TARGET=1 has no effect'),
    },
    {
      name: 'three spare ENIs held',
      files: { [PODS]: podList({ WARM_ENI_TARGET: '3' }), [ENIS]: enisV111() },
      messageId: 'wastefulEniTarget',
      severity: 'info',
      evidence: [`${PODS}:`],
    },
    {
      name: 'a target that is not a number, listed with the other findings',
      files: { [PODS]: podList({ WARM_IP_TARGET: 'two', WARM_ENI_TARGET: '0', ENABLE_PREFIX_DELEGATION: 'false' }) },
      messageId: 'invalidNumber',
      severity: 'warning',
      evidence: [`${PODS}:`],
      check: (result) => {
        expect(result.summary).toContain('WARM_IP_TARGET=two: not an integer');
        expect(result.tables[0]?.rows.map((row) => row[0])).toContain('no spare ENI');
      },
    },
  ],
  notEvaluated: [
    {
      name: 'nothing that tells',
      files: { [ENIS]: enisV111() },
      reason: IPAMD_ENV,
    },
    {
      name: 'the introspection endpoint is missing in this version and no environment',
      files: { [IPAMD_ENV]: '{"AvailableCommands":["/v1/enis","/v1/pods"]}\n' },
      reason: 'WARM_ENI_TARGET and WARM_IP_TARGET are not known',
    },
  ],
});
