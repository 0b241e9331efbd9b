import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './annotate-pod-ip-permissions.ts';
import { awsNodeContainerInfo, awsNodePod, podList as podListOf, REGISTRY } from './data/fixtures.ts';

const CTR = 'cni/cni-configuration-variables-containerd.json';
const PODS = 'kubelet/pods.json';
const IPAMD = 'var_log/aws-routed-eni/ipamd.log';

const ctrInfo = (env: string[]) => awsNodeContainerInfo(env, `${REGISTRY}/amazon-k8s-cni:v1.18.3`);

const podList = (env: Record<string, string>) => podListOf(awsNodePod({ env }));

const zap = (ts: string, caller: string, msg: string, level = 'error') => JSON.stringify({ level, ts, caller, msg });
// The RBAC denial as client-go returns it, inside the two lines ipamd logs for one failed patch
// (pkg/ipamd/ipamd.go AnnotatePod, then pkg/ipamd/rpc_handler.go AddNetwork).
const denial = (pod: string, ip: string, ts: string) => {
  const err = `pods "${pod}" is forbidden: User "system:serviceaccount:kube-system:aws-node" cannot patch resource "pods" in API group "" in the namespace "shop"`;
  return [
    zap(ts, 'ipamd/ipamd.go:2271', `Failed to annotate vpc.amazonaws.com/pod-ips the pod with ${ip}, error ${err}`),
    zap(ts, 'ipamd/rpc_handler.go:231', `Failed to add the pod annotation: ${err}`),
  ];
};
const noise = (ts: string) =>
  zap(
    ts,
    'rpc/rpc.pb.go:863',
    'Send AddNetworkReply: IPv4Addr: [10.0.1.44], IPv6Addr: [], DeviceNumber: 0, err: <nil>',
    'info',
  );

ruleTester(rule, {
  pass: [
    {
      name: 'stock layout: the setting is off',
      files: { [CTR]: ctrInfo(['ANNOTATE_POD_IP=false']) },
      messageId: 'disabled',
      evidence: [`${CTR}:`],
    },
    {
      name: 'on, and ipamd.log shows no failed patch',
      files: {
        [PODS]: podList({ ANNOTATE_POD_IP: 'true' }),
        [IPAMD]: [noise('2026-11-20T09:14:03.100Z'), noise('2026-11-20T09:14:05.100Z'), ''].join('\n'),
      },
      messageId: 'enabledOk',
      evidence: [`${PODS}:`, `${IPAMD}:2`],
      check: (result) => expect(result.summary).toContain('2 lines of var_log/aws-routed-eni/ipamd.log'),
    },
    {
      name: 'stock bundle with ipamd.log only: no failures, setting unknown',
      files: { [IPAMD]: `${noise('2026-11-20T09:14:03.100Z')}\n` },
      messageId: 'noErrors',
      evidence: [`${IPAMD}:1`],
      check: (result) => expect(result.caveats.join('\n')).toContain('ANNOTATE_POD_IP is not known'),
    },
  ],
  fail: [
    {
      name: 'stock layout: the ClusterRole lacks patch on pods',
      files: {
        [CTR]: ctrInfo(['ANNOTATE_POD_IP=true']),
        [IPAMD]: [
          noise('2026-11-20T09:14:03.100Z'),
          ...denial('web-5d9c-abcde', '10.0.1.45', '2026-11-20T09:14:03.512Z'),
          ...denial('web-5d9c-fghij', '10.0.1.46', '2026-11-20T09:14:09.020Z'),
          '',
        ].join('\n'),
      },
      messageId: 'forbidden',
      severity: 'warning',
      evidence: [`${IPAMD}:2`, `${IPAMD}:3`, `${CTR}:`],
      check: (result) => {
        expect(result.summary).toContain('2 time(s)');
        expect(result.summary).toContain('system:serviceaccount:kube-system:aws-node in namespace shop');
        expect(result.summary).toContain('ANNOTATE_POD_IP=true');
      },
    },
    {
      // aws/amazon-vpc-cni-k8s#2654: the patch is refused as an invalid pod update, not by RBAC.
      name: 'patch rejected as an invalid pod update',
      files: {
        [PODS]: podList({ ANNOTATE_POD_IP: 'true' }),
        [IPAMD]: `${zap(
          '2023-11-07T10:01:02.000Z',
          'ipamd/ipamd.go:2103',
          'Failed to annotate vpc.amazonaws.com/pod-ips the pod with 10.17.76.32, error Pod "command-b7aeaa61" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)',
        )}\n`,
      },
      messageId: 'rejectedUpdate',
      evidence: [`${IPAMD}:1`],
      check: (result) => expect(result.remediation[0]).toContain('not an RBAC problem'),
    },
    {
      name: 'denials from when the setting was on; it is off now',
      files: {
        [PODS]: podList({ ANNOTATE_POD_IP: 'false' }),
        [IPAMD]: `${denial('web-5d9c-abcde', '10.0.1.45', '2026-11-19T09:14:03.512Z').join('\n')}\n`,
      },
      messageId: 'forbidden',
      evidence: [`${IPAMD}:1`],
      check: (result) => expect(result.caveats.join('\n')).toContain('ANNOTATE_POD_IP is off now'),
    },
  ],
  notEvaluated: [
    {
      name: 'on, but no log to show the patches',
      files: { [PODS]: podList({ ANNOTATE_POD_IP: 'true' }) },
      reason: 'ANNOTATE_POD_IP is on (ANNOTATE_POD_IP=true) but neither var_log/aws-routed-eni/ipamd.log',
    },
    {
      name: 'nothing that tells',
      files: { 'kubelet/kubelet.log': '-- No entries --\n' },
      reason: IPAMD,
    },
    {
      name: 'setting unknown and no log',
      files: { [CTR]: 'ctr: container "3f9c2b7e" in namespace "k8s.io": not found\n' },
      reason: 'ANNOTATE_POD_IP is not known',
    },
  ],
});
