import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import { awsNodePod, cri, HOSTNAME, PATHS, podList, zap } from './data/fixtures.ts';
import rule from './network-policy-agent-errors.ts';

const uname = `Linux ${HOSTNAME} 6.1.119-129.201.amzn2023.x86_64 #1 SMP PREEMPT_DYNAMIC x86_64 x86_64 x86_64 GNU/Linux\n`;
const lines = (...items: string[]) => `${items.join('\n')}\n`;

// Start-up of agent v1.3 (main.go, bpf_client.go GetNetworkPolicyModeFromIpamd).
const startup = (ts: string, mode: 'strict' | 'standard') => [
  zap(
    'info',
    ts,
    'aws-network-policy-agent/main.go:94',
    'Network Policy is enabled, registering the policyEndpointController...',
  ),
  zap('info', ts, 'ebpf/bpf_client.go:1049', 'Trying to establish GRPC connection to ipamd'),
  zap(
    'info',
    ts,
    'ebpf/bpf_client.go:1063',
    `Connected to ipamd grpc endpoint and got response for NetworkPolicyMode ${mode}`,
  ),
  zap('info', ts, 'aws-network-policy-agent/main.go:128', 'starting manager', { logger: 'setup' }),
];
const routine = (ts: string) =>
  zap('info', ts, 'controllers/policyendpoints_controller.go:160', 'Processing Policy Endpoint', {
    logger: 'controllers.policyEndpoints',
    Name: 'allow-web-8c9x2',
    Namespace: 'default',
  });
// Agent v1.2/v1.3 zap Errorf lines (rpc_handler.go, bpf_client.go).
const mapUpdateFailed = (ts: string) =>
  zap(
    'error',
    ts,
    'rpc/rpc_handler.go:97',
    'Map update(s) failed for podIdentifier web-7d9f8b6c5-default error: ingress map write: argument list too long',
    { logger: 'rpc-handler' },
  );
const attachFailed = (ts: string) =>
  zap(
    'error',
    ts,
    'ebpf/bpf_client.go:500',
    'Failed to Attach Ingress TC probe for pod: web-7d9f8b6c5-x2x4z in namespace default at interface 0 error: link not found',
    { logger: 'ebpf-client' },
  );

const ebpfData = (withMaps: boolean) =>
  lines(
    '*** EBPF loaded data ***',
    'PinPath:  /sys/fs/bpf/globals/aws/programs/demo-app-786dbc7dfc-default_handle_egress',
    'Pod Identifier : demo-app-786dbc7dfc-default  Direction : egress',
    'Prog ID:  10',
    'Associated Maps -> ',
    'Map Name:  policy_events',
    'Map ID:  6',
    'Map Name:  aws_conntrack_map',
    'Map ID:  5',
    'Map Name:  egress_map',
    'Map ID:  8',
    '========================================================================================',
    'PinPath:  /sys/fs/bpf/globals/aws/programs/demo-app-786dbc7dfc-default_handle_ingress',
    'Pod Identifier : demo-app-786dbc7dfc-default  Direction : ingress',
    'Prog ID:  9',
    'Associated Maps -> ',
    ...(withMaps ? ['Map Name:  ingress_map', 'Map ID:  7'] : []),
    '========================================================================================',
  );

ruleTester(rule, {
  pass: [
    {
      name: 'stock layout: agent log with start-up and routine lines only',
      files: {
        [PATHS.agentLog]: lines(
          ...startup('2025-04-01T10:00:00.000Z', 'standard'),
          routine('2025-04-01T10:01:00.000Z'),
          routine('2025-04-01T10:02:00.000Z'),
        ),
      },
      messageId: 'healthy',
      evidence: [`${PATHS.agentLog}:3`, `${PATHS.agentLog}:6`],
      check: (result) => {
        expect(result.summary).toBe(
          'The network policy agent shows no BPF map, probe or start-up failures (6 agent log lines), standard mode.',
        );
        expect(result.facts).toContainEqual({ label: 'Agent start-ups in the log', value: '1' });
      },
    },
    {
      name: 'only the eBPF listing: every program has its maps',
      files: { [PATHS.ebpfData]: ebpfData(true) },
      messageId: 'healthy',
      evidence: [`${PATHS.ebpfData}:2`],
      check: (result) => expect(result.summary).toContain('2 eBPF programs, each with its maps'),
    },
    {
      name: 'network policy disabled on the node',
      files: {
        [PATHS.agentLog]: lines(
          zap(
            'info',
            '2025-04-01T10:00:00.000Z',
            'aws-network-policy-agent/main.go:120',
            'Network Policy is disabled, skip the policyEndpointController registration',
          ),
          zap('info', '2025-04-01T10:00:00.100Z', 'aws-network-policy-agent/main.go:128', 'starting manager'),
        ),
      },
      messageId: 'disabled',
      evidence: [`${PATHS.agentLog}:1`],
    },
  ],
  fail: [
    {
      name: 'map updates fail in strict mode (pod list says strict): critical',
      files: {
        'kernel/uname.txt': uname,
        [PATHS.pods]: podList(
          awsNodePod({ env: { NETWORK_POLICY_ENFORCING_MODE: 'strict' }, agentVersion: 'v1.2.1-eksbuild.1' }),
        ),
        [PATHS.agentLog]: lines(
          routine('2025-04-01T10:01:00.000Z'),
          mapUpdateFailed('2025-04-01T10:05:00.000Z'),
          mapUpdateFailed('2025-04-01T10:06:00.000Z'),
        ),
      },
      messageId: 'problems',
      severity: 'critical',
      evidence: [`${PATHS.agentLog}:2`, `${PATHS.agentLog}:3`, `${PATHS.pods}:`],
      check: (result) => {
        expect(result.summary).toBe(
          'The network policy agent shows BPF map update failures (2), in strict mode (pods without working rules are cut off).',
        );
        expect(result.tables[0]?.rows[0]).toEqual([
          'BPF map update failures',
          '2',
          '2025-04-01T10:05:00.000Z',
          '2025-04-01T10:06:00.000Z',
          'web-7d9f8b6c5-default',
        ]);
      },
    },
    {
      name: 'agent v1.0 logs map update failures at info, and the SDK fails conntrack deletes (#131)',
      files: {
        [PATHS.agentLog]: lines(
          '{"level":"info","ts":"2023-11-07T14:09:30.100Z","logger":"ebpf-client","caller":"ebpf/bpf_client.go:720","msg":"BPF map update failed","error: ":"unable to update map: invalid argument"}',
        ),
        [PATHS.ebpfSdkLog]: lines(
          '{"level":"error","ts":"2023-11-07T14:09:31.711Z","caller":"conntrack/conntrack_client.go:131","msg":"unable to delete map entry and ret -1 and err no such file or directory"}',
          '{"level":"error","ts":"2023-11-07T14:09:31.712Z","caller":"conntrack/conntrack_client.go:131","msg":"unable to delete map entry and ret -1 and err no such file or directory"}',
        ),
      },
      messageId: 'problems',
      severity: 'warning',
      evidence: [`${PATHS.agentLog}:1`, `${PATHS.ebpfSdkLog}:1`],
      check: (result) => {
        expect(result.summary).toContain('BPF map and program delete failures (2)');
        expect(result.caveats.join(' ')).toMatch(/policy gap, not an outage/);
      },
    },
    {
      name: 'probe attach failures in the container log (CRI, flattened by the stock collector)',
      files: {
        [PATHS.agentContainerLog]: lines(
          cri('2025-04-01T10:00:00.000000001Z', startup('2025-04-01T10:00:00.000Z', 'standard')[0] as string),
          cri('2025-04-01T10:07:00.000000001Z', attachFailed('2025-04-01T10:07:00.000Z'), 'stderr'),
        ),
      },
      messageId: 'problems',
      severity: 'warning',
      evidence: [`${PATHS.agentContainerLog}:2`],
      check: (result) =>
        expect(result.facts).toContainEqual({ label: 'Pods named in the failures', value: 'web-7d9f8b6c5-x2x4z' }),
    },
    {
      name: 'the agent cannot reach ipamd at start (VPC CNI v1.23 with an old agent): critical',
      files: {
        [PATHS.agentLog]: lines(
          zap(
            'info',
            '2026-08-20T10:00:00.000Z',
            'aws-network-policy-agent/main.go:94',
            'Network Policy is enabled, registering controllers...',
          ),
          zap(
            'error',
            '2026-08-20T10:00:30.000Z',
            'aws-network-policy-agent/main.go:205',
            'Failed to connect to ipamd at unix:///var/run/aws-node/ipamd.sock: context deadline exceeded',
          ),
        ),
      },
      messageId: 'problems',
      severity: 'critical',
      evidence: [`${PATHS.agentLog}:2`],
    },
    {
      name: 'aws-eks-nodeagent restarted 7 times, last OOMKilled (pod list)',
      files: {
        'kernel/uname.txt': uname,
        [PATHS.pods]: podList(
          awsNodePod({
            agentRestarts: 7,
            agentLastTermination: { reason: 'OOMKilled', exitCode: 137, finishedAt: '2025-04-01T09:58:00Z' },
          }),
        ),
        [PATHS.agentLog]: lines(...startup('2025-04-01T10:00:00.000Z', 'standard')),
      },
      messageId: 'problems',
      evidence: [`${PATHS.pods}:`],
      check: (result) => {
        expect(result.summary).toContain('agent restarts (7)');
        expect(result.evidence.map((item) => item.text)).toContain(
          'aws-node-7xk2p/aws-eks-nodeagent restartCount=7; last exit: OOMKilled (exit code 137) at 2025-04-01T09:58:00Z',
        );
      },
    },
    {
      name: 'the agent log shows six start-ups',
      files: {
        [PATHS.agentLog]: lines(
          ...['00', '05', '10', '15', '20', '25'].flatMap((minute) =>
            startup(`2025-04-01T10:${minute}:00.000Z`, 'standard'),
          ),
        ),
      },
      messageId: 'problems',
      evidence: [`${PATHS.agentLog}:4`, `${PATHS.agentLog}:24`],
      check: (result) => expect(result.summary).toContain('agent restarts (5)'),
    },
    {
      name: 'an eBPF program loaded without its maps (#646)',
      files: { [PATHS.ebpfData]: ebpfData(false) },
      messageId: 'problems',
      severity: 'critical',
      evidence: [`${PATHS.ebpfData}:13`],
      check: (result) => expect(result.tables[0]?.rows[0]?.[4]).toBe('demo-app-786dbc7dfc-default'),
    },
    {
      name: 'strict mode in effect and nothing failing: worth knowing',
      files: {
        [PATHS.agentLog]: lines(...startup('2025-04-01T10:00:00.000Z', 'strict'), routine('2025-04-01T10:01:00.000Z')),
        [PATHS.ebpfData]: ebpfData(true),
      },
      messageId: 'strict',
      severity: 'info',
      evidence: [`${PATHS.agentLog}:3`],
      check: (result) => expect(result.summary).toContain('(2 eBPF programs loaded)'),
    },
  ],
  notEvaluated: [
    {
      name: 'no agent log and no eBPF listing',
      files: {
        [PATHS.ipamd]: `${zap('info', '2025-04-01T10:00:00.000Z', 'main.go:64', 'Starting L-IPAMD v1.19.2')}\n`,
      },
      reason: 'none of var_log/aws-routed-eni/network-policy-agent.log',
    },
    {
      name: 'an empty agent log',
      files: { [PATHS.agentLog]: '' },
      reason: 'logs in the bundle are empty',
    },
    {
      name: 'the eBPF listing holds only its header',
      files: { [PATHS.ebpfData]: '*** EBPF loaded data ***\n' },
      reason: 'lists no loaded programs',
    },
    {
      name: 'the agent log was not collected',
      files: {},
      manifest: { 'network-policy-agent-log': { status: 'error', reason: 'permission denied' } },
      reason: 'error: permission denied',
    },
  ],
});
