import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './ip-forwarding-disabled.ts';

const sysctls = (ipv4: string, ipv6 = '0') =>
  [
    'net.ipv4.conf.all.rp_filter = 1',
    `net.ipv4.ip_forward = ${ipv4}`,
    'net.ipv4.ip_local_port_range = 32768\t60999',
    'net.ipv6.conf.all.accept_ra = 1',
    'net.ipv6.conf.all.disable_ipv6 = 0',
    `net.ipv6.conf.all.forwarding = ${ipv6}`,
    '',
  ].join('\n');

/** `ctr -n k8s.io container info <aws-node>` as the stock collector saves it (abridged to what matters here). */
const ctrInfo = (env: string[]) =>
  JSON.stringify(
    {
      ID: '7f9c2b1d',
      Labels: { 'io.kubernetes.container.name': 'aws-node' },
      Image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1',
      Spec: {
        ociVersion: '1.1.0',
        process: { args: ['/app/aws-vpc-cni'], env: ['PATH=/usr/local/sbin:/usr/local/bin', ...env] },
      },
    },
    null,
    4,
  );

const podList = (env: { name: string; value?: string }[]) =>
  JSON.stringify({
    kind: 'PodList',
    items: [
      {
        metadata: { name: 'aws-node-7xk2p', namespace: 'kube-system', uid: 'u1' },
        spec: {
          initContainers: [{ name: 'aws-vpc-cni-init', env: [{ name: 'ENABLE_IPv6', value: 'true' }] }],
          containers: [{ name: 'aws-node', env }],
        },
      },
    ],
  });

ruleTester(rule, {
  fail: [
    {
      name: 'IPv4 forwarding off (stock sysctl_all.txt)',
      files: { 'sysctls/sysctl_all.txt': sysctls('0') },
      messageId: 'ipv4Off',
      severity: 'critical',
      evidence: ['sysctls/sysctl_all.txt:2'],
      check: (result) => expect(result.summary).toContain('net.ipv4.ip_forward = 0'),
    },
    {
      name: 'IPv6 cluster (ENABLE_IPv6 in the container environment) with IPv6 forwarding off',
      files: {
        'sysctls/sysctl_all.txt': sysctls('1', '0'),
        'cni/cni-configuration-variables-containerd.json': ctrInfo([
          'ENABLE_IPv6=true',
          'ENABLE_PREFIX_DELEGATION=true',
        ]),
      },
      messageId: 'ipv6Off',
      evidence: ['sysctls/sysctl_all.txt:6'],
      check: (result) => {
        expect(result.summary).toContain('ENABLE_IPv6=true per the container runtime (ctr container info)');
        expect(result.evidence.map((e) => e.text)).toContain('ENABLE_IPv6=true');
      },
    },
    {
      name: 'IPv6 mode read from the aws-node pod spec in the legacy pod list (the init container is not aws-node)',
      files: {
        'sysctls/sysctl_all.txt': sysctls('1', '0'),
        'kubelet/pods.json': podList([{ name: 'ENABLE_IPv6', value: 'true' }]),
      },
      messageId: 'ipv6Off',
      evidence: ['sysctls/sysctl_all.txt:6'],
    },
  ],
  pass: [
    {
      name: 'IPv4 cluster: ip_forward on, IPv6 forwarding off does not matter',
      files: {
        'sysctls/sysctl_all.txt': sysctls('1', '0'),
        'cni/cni-configuration-variables-containerd.json': ctrInfo(['ENABLE_IPv4=true', 'ENABLE_IPv6=false']),
      },
      messageId: 'on',
      evidence: ['sysctls/sysctl_all.txt:2'],
      check: (result) => {
        expect(result.summary).toBe('IP forwarding is on: net.ipv4.ip_forward = 1.');
        expect(result.caveats).toEqual([]);
      },
    },
    {
      name: 'IPv6 cluster with both forwarding switches on',
      files: {
        'sysctls/sysctl_all.txt': sysctls('1', '1'),
        'kubelet/pods.json': podList([{ name: 'ENABLE_IPv6', value: 'true' }]),
      },
      messageId: 'on',
      evidence: ['sysctls/sysctl_all.txt:2', 'sysctls/sysctl_all.txt:6'],
    },
    {
      name: 'no aws-node environment: passes on IPv4, says IPv6 forwarding was not judged',
      files: { 'sysctls/sysctl_all.txt': sysctls('1', '0') },
      messageId: 'on',
      check: (result) =>
        expect(result.caveats.join(' ')).toMatch(/does not show whether the VPC CNI runs in IPv6 mode/),
    },
    {
      name: 'ENABLE_IPv6 absent from the container environment means the default (false)',
      files: {
        'sysctls/sysctl_all.txt': sysctls('1', '0'),
        'cni/cni-configuration-variables-containerd.json': ctrInfo(['WARM_ENI_TARGET=1']),
      },
      messageId: 'on',
      check: (result) =>
        expect(result.facts.find((f) => f.label.startsWith('VPC CNI IPv6 mode'))?.value).toBe(
          'ENABLE_IPv6 not set (default false), from the container runtime (ctr container info)',
        ),
    },
  ],
  notEvaluated: [
    {
      name: 'no sysctls in the bundle (legacy aws-cni-support.sh bundle)',
      files: { 'sysctls/rp_filter.txt': '/proc/sys/net/ipv4/conf/all/rp_filter = 1\n' },
      reason: 'sysctls/sysctl_all.txt',
    },
    {
      name: 'sysctl output without the key (only permission errors)',
      files: { 'sysctls/sysctl_all.txt': "sysctl: permission denied on key 'net.ipv4.ip_forward'\n" },
      reason: 'no net.ipv4.ip_forward line',
    },
  ],
});
