import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import { awsNodeContainerInfo, awsNodePod, podList as podListOf } from './data/fixtures.ts';
import rule from './invalid-veth-prefix.ts';

const CTR = 'cni/cni-configuration-variables-containerd.json';
const PODS = 'kubelet/pods.json';
const CONFLIST = 'cni/10-aws.conflist';
const NETUTILS = 'ipamd/networkutils-env-settings.json';
const KUBELET = 'kubelet/kubelet.log';

const ctrInfo = (env: string[]) => awsNodeContainerInfo(env);

const podList = (vethPrefix: string) =>
  podListOf(awsNodePod({ env: { AWS_VPC_ENI_MTU: '9001', AWS_VPC_K8S_CNI_VETHPREFIX: vethPrefix } }));

// /etc/cni/net.d/10-aws.conflist as aws-node v1.19 writes it (misc/10-aws.conflist with the values filled in).
const conflist = (vethPrefix: string) => `{
  "cniVersion": "0.4.0",
  "name": "aws-cni",
  "disableCheck": true,
  "plugins": [
    {
      "name": "aws-cni",
      "type": "aws-cni",
      "vethPrefix": "${vethPrefix}",
      "mtu": "9001",
      "podSGEnforcingMode": "strict",
      "pluginLogFile": "/var/log/aws-routed-eni/plugin.log",
      "pluginLogLevel": "DEBUG",
      "capabilities": { "io.kubernetes.cri.pod-annotations": true }
    },
    { "name": "egress-cni", "type": "egress-cni", "mtu": "9001", "enabled": "false" },
    { "type": "portmap", "capabilities": { "portMappings": true }, "snat": true }
  ]
}
`;

// /v1/networkutils-env-settings (pkg/networkutils/network.go GetConfigForDebug).
const NETWORKUTILS =
  '{"AWS_EXTERNAL_SERVICE_CIDRS":null,"AWS_VPC_CNI_NODE_PORT_SUPPORT":true,"AWS_VPC_ENI_MTU":9001,"AWS_VPC_K8S_CNI_CONNMARK":128,"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS":null,"AWS_VPC_K8S_CNI_EXTERNALSNAT":false,"AWS_VPC_K8S_CNI_RANDOMIZESNAT":2,"AWS_VPC_K8S_CNI_VETHPREFIX":"eni"}\n';

// The sandbox failure kubelet logs when the plugin finds a prefix it refuses (cmd/routed-eni-cni-plugin/cni.go).
const KUBELET_REFUSAL =
  'Nov 20 09:11:07 ip-10-0-1-23.ec2.internal kubelet[3412]: E1120 09:11:07.123456    3412 pod_workers.go:1298] "Error syncing pod, skipping" err="failed to \\"CreatePodSandbox\\" for \\"web-5d9c_shop(2c1e0b5a)\\" with CreatePodSandboxError: \\"Failed to create sandbox for pod \\\\\\"web-5d9c_shop(2c1e0b5a)\\\\\\": rpc error: code = Unknown desc = failed to setup network for sandbox \\\\\\"9c8b7a6f\\\\\\": plugin type=\\\\\\"aws-cni\\\\\\" name=\\\\\\"aws-cni\\\\\\" failed (add): add cmd: error loading config from args: conf.VethPrefix can be at most 4 characters long\\"" pod="shop/web-5d9c" podUID="2c1e0b5a"\n';

ruleTester(rule, {
  pass: [
    {
      name: 'stock layout: default prefix in the running container and the conflist',
      files: { [CTR]: ctrInfo(['AWS_VPC_K8S_CNI_VETHPREFIX=eni']), [CONFLIST]: conflist('eni') },
      messageId: 'valid',
      evidence: [`${CTR}:`],
      check: (result) => {
        expect(result.summary).toContain('"eni" (AWS_VPC_K8S_CNI_VETHPREFIX=eni, per the container runtime');
        expect(result.caveats).toEqual([]);
      },
    },
    {
      name: 'variable not set: the default applies',
      files: { [CTR]: ctrInfo([]) },
      messageId: 'valid',
      check: (result) => expect(result.summary).toContain('AWS_VPC_K8S_CNI_VETHPREFIX not set (default eni)'),
    },
    {
      name: 'introspection only: the prefix ipamd applied',
      files: { [NETUTILS]: NETWORKUTILS },
      messageId: 'valid',
      evidence: [`${NETUTILS}:`],
      check: (result) => expect(result.summary).toContain('as ipamd applied it'),
    },
    {
      name: 'only the conflist, with a caveat about its age',
      files: { [CONFLIST]: conflist('aws') },
      messageId: 'valid',
      evidence: [`${CONFLIST}:`],
      check: (result) => expect(result.caveats.join('\n')).toContain('would not show in 10-aws.conflist'),
    },
  ],
  fail: [
    {
      name: 'a 6-character prefix in the pod spec; the conflist keeps the old one',
      files: { [PODS]: podList('calico'), [CONFLIST]: conflist('eni') },
      messageId: 'tooLong',
      severity: 'critical',
      evidence: [`${PODS}:`, `${CONFLIST}:`],
      check: (result) => {
        expect(result.summary).toContain('"calico"');
        expect(result.summary).toContain('6 characters long');
        expect(result.caveats.join('\n')).toContain('still has vethPrefix "eni"');
      },
    },
    {
      name: 'stock layout: reserved prefix in the running container, with the sandbox failures kubelet logged',
      files: { [CTR]: ctrInfo(['AWS_VPC_K8S_CNI_VETHPREFIX=eth']), [KUBELET]: KUBELET_REFUSAL },
      messageId: 'reserved',
      severity: 'critical',
      evidence: [`${CTR}:`, `${KUBELET}:1`],
      check: (result) => expect(result.summary).toContain('logged the refusal 1 time(s)'),
    },
    {
      name: 'multi-byte characters count as Go counts them (bytes)',
      files: { [PODS]: podList('énié') },
      messageId: 'tooLong',
      evidence: [`${PODS}:`],
    },
    {
      name: 'only the kubelet journal shows the refusal',
      files: { [KUBELET]: KUBELET_REFUSAL },
      messageId: 'fromLogs',
      evidence: [`${KUBELET}:1`],
    },
  ],
  notEvaluated: [
    {
      name: 'no source of the prefix in the bundle',
      files: { 'ipamd/ipamd-env-settings.json': '{"WARM_ENI_TARGET":1}\n' },
      reason: CONFLIST,
    },
    {
      name: 'introspection answered with its AvailableCommands fallback and the runtime file holds no aws-node',
      files: {
        [NETUTILS]: '{"AvailableCommands":["/v1/enis","/v1/eni-configs"]}\n',
        [CTR]: 'ctr: container "3f9c2b7e" in namespace "k8s.io": not found\n',
      },
      reason: `${CTR}: no JSON document in the file`,
    },
  ],
});
