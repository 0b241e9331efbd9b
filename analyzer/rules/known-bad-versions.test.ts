import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import { awsNodePod, containerInfo, cri, HOSTNAME, PATHS, podList, REGISTRY, zap } from './data/fixtures.ts';
import rule from './known-bad-versions.ts';

const ipamdStart = (ts: string, version: string) =>
  zap('info', ts, 'aws-k8s-agent/main.go:64', `Starting L-IPAMD ${version}  ...`);
const cniImage = (tag: string) => `${REGISTRY}/amazon-k8s-cni:${tag}`;
const uname = `Linux ${HOSTNAME} 6.1.119-129.201.amzn2023.x86_64 #1 SMP PREEMPT_DYNAMIC x86_64 x86_64 x86_64 GNU/Linux\n`;

// ipamd.log of the busy loop, as reported in aws/amazon-vpc-cni-k8s#2807 (v1.16.3 on a t3.medium).
const busyLoop = [
  ipamdStart('2024-02-22T21:30:00.000Z', 'v1.16.3'),
  '{"level":"debug","ts":"2024-02-22T21:34:38.560Z","caller":"ipamd/ipamd.go:779","msg":"Node found \\"ip-10-146-63-142.ec2.internal\\" - no of taints - 0"}',
  '{"level":"debug","ts":"2024-02-22T21:34:38.560Z","caller":"ipamd/ipamd.go:658","msg":"Skipping ENI allocation as the max ENI limit is already reached"}',
  '{"level":"debug","ts":"2024-02-22T21:34:38.560Z","caller":"ipamd/ipamd.go:658","msg":"Starting to increase pool size"}',
  '{"level":"debug","ts":"2024-02-22T21:34:38.560Z","caller":"ipamd/ipamd.go:658","msg":"Skipping ENI allocation as the max ENI limit is already reached"}',
  '{"level":"debug","ts":"2024-02-22T21:34:38.561Z","caller":"ipamd/ipamd.go:658","msg":"Skipping ENI allocation as the max ENI limit is already reached"}',
  '',
].join('\n');

// Agent v1.3 start-up lines (main.go): enabled, then the mode it got from ipamd.
const agentStartup = (mode: 'strict' | 'standard') =>
  [
    zap(
      'info',
      '2025-04-01T10:00:00.000Z',
      'aws-network-policy-agent/main.go:94',
      'Network Policy is enabled, registering the policyEndpointController...',
    ),
    zap('info', '2025-04-01T10:00:00.100Z', 'ebpf/bpf_client.go:1049', 'Trying to establish GRPC connection to ipamd'),
    zap(
      'info',
      '2025-04-01T10:00:00.200Z',
      'ebpf/bpf_client.go:1063',
      `Connected to ipamd grpc endpoint and got response for NetworkPolicyMode ${mode}`,
    ),
    '',
  ].join('\n');

/** Our agent's manifest with the node identity it recorded. */
const manifestWith = (node: Record<string, string>) =>
  JSON.stringify({
    schema: 'eks-node-diag/bundle@1',
    tool: { name: 'eks-node-diag', version: 'test' },
    createdAt: '2026-11-20T10:00:00Z',
    node,
    parameters: {},
    items: [{ id: 'ipamd-log', path: PATHS.ipamd, source: '/var/log/aws-routed-eni/ipamd.log', status: 'ok' }],
  });

ruleTester(rule, {
  pass: [
    {
      name: 'stock layout: ipamd line refined by the containerd image tag, a clean release',
      files: {
        [PATHS.ipamd]: `${ipamdStart('2025-02-03T10:11:30.000Z', 'v1.19.2')}\n`,
        [PATHS.containerInfo]: containerInfo({ image: cniImage('v1.19.2-eksbuild.1') }),
      },
      messageId: 'clean',
      evidence: [`${PATHS.containerInfo}:`, `${PATHS.ipamd}:1`],
      check: (result) => {
        expect(result.summary).toContain('VPC CNI v1.19.2-eksbuild.1');
        expect(result.facts.find((fact) => fact.label === 'Network policy agent version')?.value).toBe(
          'not found in the bundle',
        );
      },
    },
    {
      name: 'our agent: pod list with current CNI and agent',
      files: {
        'kernel/uname.txt': uname,
        [PATHS.pods]: podList(awsNodePod({ cniVersion: 'v1.20.1-eksbuild.3', agentVersion: 'v1.2.2-eksbuild.1' })),
      },
      manifest: {},
      messageId: 'clean',
      evidence: [`${PATHS.pods}:`],
      check: (result) => expect(result.summary).toContain('network policy agent v1.2.2-eksbuild.1'),
    },
    {
      name: '1.19.3-eksbuild.1 with network policy turned off is not affected by the map cleanup bug',
      files: {
        'kernel/uname.txt': uname,
        [PATHS.pods]: podList(
          awsNodePod({
            cniVersion: 'v1.19.3-eksbuild.1',
            agentVersion: 'v1.2.0-eksbuild.1',
            agentArgs: ['--enable-network-policy=false', '--enable-ipv6=false'],
          }),
        ),
      },
      messageId: 'clean',
      check: (result) =>
        expect(result.facts.find((fact) => fact.label === 'Network policy')?.value).toBe('disabled, standard mode'),
    },
  ],
  fail: [
    {
      name: 'v1.16.3 busy loop at the ENI limit, with the loop visible in ipamd.log (#2807)',
      files: { [PATHS.ipamd]: busyLoop },
      messageId: 'defects',
      severity: 'warning',
      evidence: [`${PATHS.ipamd}:1`, `${PATHS.ipamd}:3`],
      check: (result) => {
        expect(result.summary).toContain('ipamd busy loop at the ENI limit');
        expect(result.evidence.find((item) => item.line === 3)?.note).toMatch(/^3 line\(s\) like this/);
        expect(result.remediation[0]).toMatch(/v1\.16\.4/);
        expect(result.tables[0]?.rows[0]).toContain('https://github.com/aws/amazon-vpc-cni-k8s/issues/2807');
      },
    },
    {
      name: '1.19.3-eksbuild.1 with network policy enabled (stock pod list)',
      files: {
        'kernel/uname.txt': uname,
        [PATHS.pods]: podList(awsNodePod({ cniVersion: 'v1.19.3-eksbuild.1', agentVersion: 'v1.2.0-eksbuild.1' })),
      },
      messageId: 'defects',
      severity: 'warning',
      evidence: [`${PATHS.pods}:`],
      check: (result) => {
        expect(result.summary).toContain('Network policy state not cleaned up (1.19.3-eksbuild.1)');
        expect(result.caveats).toEqual([]);
      },
    },
    {
      name: 'strict mode on VPC CNI 1.18 without an agent version: judged from the bundled agent',
      files: {
        [PATHS.containerInfo]: containerInfo({
          image: cniImage('v1.18.6-eksbuild.1'),
          env: { NETWORK_POLICY_ENFORCING_MODE: 'strict' },
        }),
      },
      messageId: 'defects',
      evidence: [`${PATHS.containerInfo}:`],
      check: (result) => {
        expect(result.summary).toContain('Strict mode falls to default-allow after policy deletion');
        expect(result.tables[0]?.rows[0]?.[3]).toMatch(/^affected \(network policy agent version not found/);
        expect(result.evidence.map((item) => item.text)).toContain(
          'aws-node-7xk2p/aws-node (ctr container info) env NETWORK_POLICY_ENFORCING_MODE=strict',
        );
      },
    },
    {
      name: 'strict mode read from the agent log on agent v1.1.6',
      files: {
        [PATHS.agentLog]: agentStartup('strict'),
        [PATHS.pods]: podList(awsNodePod({ cniVersion: 'v1.19.2-eksbuild.1', agentVersion: 'v1.1.6-eksbuild.1' })),
      },
      messageId: 'defects',
      evidence: [`${PATHS.agentLog}:3`, `${PATHS.pods}:`],
    },
    {
      name: 'VPC CNI v1.23 paired with agent v1.3.5 breaks network policy (critical)',
      files: {
        'kernel/uname.txt': uname,
        [PATHS.pods]: podList(awsNodePod({ cniVersion: 'v1.23.0-eksbuild.1', agentVersion: 'v1.3.5-eksbuild.1' })),
      },
      messageId: 'defects',
      severity: 'critical',
      evidence: [`${PATHS.pods}:`],
    },
    {
      name: 'v1.10.2 on a dockershim-era node, from docker inspect',
      files: {
        'cni/cni-configuration-variables-dockerd.txt': `${JSON.stringify(
          [
            {
              Id: '9a1b',
              Created: '2022-03-01T08:00:00.000000000Z',
              Args: [],
              Config: {
                Image: cniImage('v1.10.2-eksbuild.1'),
                Env: ['AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG'],
                Labels: { 'io.kubernetes.container.name': 'aws-node', 'io.kubernetes.pod.name': 'aws-node-q8c2m' },
              },
            },
          ],
          null,
          4,
        )}\n`,
      },
      messageId: 'defects',
      evidence: ['cni/cni-configuration-variables-dockerd.txt:'],
      check: (result) => expect(result.summary).toContain('Pod IP addresses leak'),
    },
    {
      name: 'ipamd says v1.19.3 without a build: the 1.19.3-eksbuild.1 defect is only possible (info)',
      files: {
        [PATHS.ipamd]: `${ipamdStart('2025-04-01T09:59:00.000Z', 'v1.19.3')}\n`,
        [PATHS.agentContainerLog]: `${cri(
          '2025-04-01T10:00:00.000000001Z',
          zap(
            'info',
            '2025-04-01T10:00:00.000Z',
            'aws-network-policy-agent/main.go:94',
            'Network Policy is enabled, registering the policyEndpointController...',
          ),
        )}\n`,
      },
      messageId: 'possible',
      severity: 'info',
      evidence: [`${PATHS.ipamd}:1`, `${PATHS.agentContainerLog}:1`],
      check: (result) => expect(result.summary).toMatch(/names no EKS build/),
    },
    {
      name: 'our manifest names the version; a log line from an older run does not override it',
      files: {
        [PATHS.ipamd]: `${ipamdStart('2024-01-01T00:00:00.000Z', 'v1.16.2')}\n`,
        'manifest.json': manifestWith({ vpcCniVersion: 'v1.16.3-eksbuild.2' }),
      },
      messageId: 'defects',
      evidence: ['manifest.json:'],
      check: (result) => expect(result.summary).toContain('VPC CNI v1.16.3-eksbuild.2'),
    },
    {
      name: 'an image tag alone, network policy settings unknown: the condition becomes a caveat',
      files: { [PATHS.containerInfo]: containerInfo({ image: cniImage('v1.19.3-eksbuild.1') }) },
      messageId: 'defects',
      severity: 'info',
      evidence: [`${PATHS.containerInfo}:`],
      check: (result) =>
        expect(result.caveats.join(' ')).toMatch(/applies only when network policy is enabled, which the bundle/),
    },
  ],
  notEvaluated: [
    {
      name: 'no version source at all',
      files: { 'kubelet/kubelet.log': '-- No entries --\n' },
      reason: 'none of var_log/aws-routed-eni/ipamd.log',
    },
    {
      name: 'ipamd log without a startup line and no images',
      files: {
        [PATHS.ipamd]: `${zap('info', '2025-01-01T00:00:00.000Z', 'ipamd/ipamd.go:1', 'Reconciling ENI/IP pool info')}\n`,
      },
      reason: 'no VPC CNI or network policy agent version',
    },
    {
      name: 'the containerd dump was not collected (timeout)',
      files: {},
      manifest: { 'cni-env-containerd': { status: 'timeout', reason: 'ctr did not answer within 75s' } },
      reason: 'timeout: ctr did not answer within 75s',
    },
  ],
});
