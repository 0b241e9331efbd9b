import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './cni-version-skew.ts';
import {
  awsNodePod,
  containerInfo,
  HOSTNAME,
  kubeletVersionLine,
  kubeProxyPod,
  PATHS,
  podList,
  REGISTRY,
  zap,
} from './data/fixtures.ts';

const ipamdStart = (ts: string, version: string) =>
  zap('info', ts, 'aws-k8s-agent/main.go:64', `Starting L-IPAMD ${version}  ...`);
const cniImage = (tag: string) => `${REGISTRY}/amazon-k8s-cni:${tag}`;
const uname = `Linux ${HOSTNAME} 6.1.119-129.201.amzn2023.x86_64 #1 SMP PREEMPT_DYNAMIC x86_64 x86_64 x86_64 GNU/Linux\n`;
const journal = (...lines: string[]) => `${lines.join('\n')}\n`;
const noise =
  'Feb 03 10:05:02 ip-10-0-1-23 kubelet[2981]: I0203 10:05:02.000001    2981 kubelet.go:2417] "SyncLoop ADD" source="api" pods=["kube-system/aws-node-7xk2p"]';
const manifestWith = (node: Record<string, string>) =>
  JSON.stringify({
    schema: 'eks-node-diag/bundle@1',
    tool: { name: 'eks-node-diag', version: 'test' },
    createdAt: '2026-11-20T10:00:00Z',
    node,
    parameters: {},
    items: [
      { id: 'ipamd-log', path: PATHS.ipamd, source: '/var/log/aws-routed-eni/ipamd.log', status: 'ok' },
      { id: 'kubelet-log', path: PATHS.kubelet, source: 'journalctl -u kubelet', status: 'ok' },
    ],
  });

ruleTester(rule, {
  pass: [
    {
      name: 'stock layout: kubelet 1.29 with VPC CNI v1.19.2-eksbuild.1',
      files: {
        [PATHS.kubelet]: journal(noise, kubeletVersionLine('v1.29.15-eks-473151a')),
        [PATHS.ipamd]: `${ipamdStart('2025-02-03T10:11:30.000Z', 'v1.19.2')}\n`,
        [PATHS.containerInfo]: containerInfo({ image: cniImage('v1.19.2-eksbuild.1') }),
      },
      messageId: 'current',
      evidence: [`${PATHS.kubelet}:2`, `${PATHS.containerInfo}:`],
      check: (result) => {
        expect(result.summary).toContain('v1.14.1-eksbuild.1');
        expect(result.summary).toContain('Kubernetes 1.29 (kubelet v1.29.15-eks-473151a)');
        expect(result.caveats).toEqual([]);
      },
    },
    {
      name: 'Kubernetes 1.31 is past the recommended table: the 1.29 floor carries forward, with a caveat',
      files: {
        [PATHS.kubelet]: journal(kubeletVersionLine('v1.31.7-eks-4bc0c2f')),
        [PATHS.ipamd]: `${ipamdStart('2025-08-01T00:00:00.000Z', 'v1.20.1')}\n`,
      },
      messageId: 'current',
      check: (result) => expect(result.caveats.join(' ')).toMatch(/records no floor for Kubernetes 1\.31/),
    },
    {
      name: 'our pod list without a kubelet line: kube-proxy gives the minor; an old CNI gets an upgrade reminder',
      files: {
        'kernel/uname.txt': uname,
        [PATHS.pods]: podList(
          awsNodePod({ cniVersion: 'v1.16.4-eksbuild.2' }),
          kubeProxyPod('v1.30.0-minimal-eksbuild.3'),
        ),
      },
      messageId: 'current',
      evidence: [`${PATHS.pods}:`],
      check: (result) => {
        expect(result.summary).toContain('(kube-proxy v1.30.0-minimal-eksbuild.3)');
        expect(result.caveats.join(' ')).toMatch(/kube-proxy add-on’s/);
        expect(result.caveats.join(' ')).toMatch(/4 minor versions behind v1\.20\.1-eksbuild\.3/);
      },
    },
  ],
  fail: [
    {
      name: 'stock layout: kubelet upgraded to 1.29, CNI still v1.12.6-eksbuild.2 from the 1.27 days',
      files: {
        [PATHS.kubelet]: journal(kubeletVersionLine('v1.29.15-eks-473151a'), noise),
        [PATHS.ipamd]: `${ipamdStart('2025-02-03T10:11:30.000Z', 'v1.12.6')}\n`,
        [PATHS.containerInfo]: containerInfo({ image: cniImage('v1.12.6-eksbuild.2') }),
      },
      messageId: 'behind',
      severity: 'warning',
      evidence: [`${PATHS.kubelet}:1`, `${PATHS.containerInfo}:`],
      check: (result) => {
        expect(result.summary).toBe(
          'VPC CNI v1.12.6-eksbuild.2 is older than v1.14.1-eksbuild.1, the add-on version EKS installs on new Kubernetes 1.28 clusters, while the node runs Kubernetes 1.29 (kubelet v1.29.15-eks-473151a): the CNI was not upgraded with the node.',
        );
        expect(result.evidence.map((item) => item.note)).toContain('ipamd startup line');
      },
    },
    {
      name: 'Kubernetes 1.26 node with the ipamd of VPC CNI v1.11.4',
      files: {
        [PATHS.kubelet]: journal(kubeletVersionLine('v1.26.15-eks-1552ad0')),
        [PATHS.ipamd]: `${ipamdStart('2024-05-01T00:00:00.000Z', 'v1.11.4')}\n`,
      },
      messageId: 'behind',
      evidence: [`${PATHS.kubelet}:1`, `${PATHS.ipamd}:1`],
      check: (result) => expect(result.summary).toContain('older than v1.12.5-eksbuild.2'),
    },
    {
      name: 'versions recorded in our manifest',
      files: {
        [PATHS.kubelet]: '-- No entries --\n',
        [PATHS.ipamd]: `${ipamdStart('2024-05-01T00:00:00.000Z', 'v1.13.0')}\n`,
        'manifest.json': manifestWith({ kubeletVersion: 'v1.28.5-eks-5e0fdde', vpcCniVersion: 'v1.13.0-eksbuild.1' }),
      },
      messageId: 'behind',
      evidence: ['manifest.json:'],
      check: (result) => expect(result.summary).toContain('VPC CNI v1.13.0-eksbuild.1'),
    },
  ],
  notEvaluated: [
    {
      name: 'no VPC CNI source in the bundle',
      files: { [PATHS.kubelet]: journal(kubeletVersionLine('v1.29.15-eks-473151a')) },
      reason: 'none of var_log/aws-routed-eni/ipamd.log',
    },
    {
      name: 'a kubelet journal without its version line',
      files: {
        [PATHS.kubelet]: journal(noise),
        [PATHS.ipamd]: `${ipamdStart('2025-02-03T10:11:30.000Z', 'v1.19.2')}\n`,
      },
      reason: 'no Kubernetes version in the bundle',
    },
    {
      name: 'an ipamd log without a startup line',
      files: {
        [PATHS.kubelet]: journal(kubeletVersionLine('v1.29.15-eks-473151a')),
        [PATHS.ipamd]: `${zap('info', '2025-02-03T10:11:30.000Z', 'ipamd/ipamd.go:1', 'Reconciling ENI/IP pool info')}\n`,
      },
      reason: 'no VPC CNI version in the bundle',
    },
    {
      name: 'a Kubernetes minor older than the table',
      files: {
        [PATHS.kubelet]: journal(kubeletVersionLine('v1.20.15-eks-abcdef0')),
        [PATHS.ipamd]: `${ipamdStart('2022-02-03T10:11:30.000Z', 'v1.7.5')}\n`,
      },
      reason: 'no recommended VPC CNI version is recorded for Kubernetes 1.20',
    },
  ],
});
