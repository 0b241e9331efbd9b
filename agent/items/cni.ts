/**
 * The VPC CNI: its logs (rotated files within a budget), CNI configuration, the aws-node container's environment
 * (through the CRI, redacted), the ipamd checkpoint, and ipamd's introspection and metrics endpoints.
 */
import { derived, glob, http, MiB } from './define.ts';

export const cniItems = [
  glob(
    'aws-routed-eni-logs',
    '/var/log/aws-routed-eni/*',
    'ipamd, plugin, egress and network policy agent logs, rotated files included.',
    {
      priority: 1,
      maxBytes: 512 * MiB,
    },
  ),
  glob(
    'cni-config-dir',
    '/etc/cni/net.d/*',
    'CNI configuration (10-aws.conflist: veth prefix, MTU, plugin log file).',
    {
      priority: 1,
      maxBytes: 1 * MiB,
    },
  ),
  glob(
    'aws-node-run-dir',
    '/var/run/aws-node/*.json',
    'ipamd checkpoint: which pod holds which IP (ipam.json, ipam-nic-N.json).',
    {
      priority: 1,
      maxBytes: 32 * MiB,
    },
  ),
  derived(
    'cni-env-containerd',
    'aws-node-container-info',
    "aws-node's container spec and environment from the CRI (secrets redacted).",
    {
      priority: 1,
      maxBytes: 4 * MiB,
      redact: ['environment'],
    },
  ),
  http('ipamd-enis', 'introspection:/v1/enis', 'ENIs, IPs and prefixes ipamd manages, per network card.'),
  http('ipamd-eni-configs', 'introspection:/v1/eni-configs', 'The ENIConfig the node uses (custom networking).'),
  http(
    'ipamd-networkutils-env',
    'introspection:/v1/networkutils-env-settings',
    'SNAT, connmark, MTU, veth prefix settings.',
  ),
  http(
    'ipamd-env',
    'introspection:/v1/ipamd-env-settings',
    'WARM_* targets and custom networking flags as ipamd sees them.',
  ),
  http('ipamd-metrics', 'metrics:/metrics', 'awscni_* metrics: IPs assigned/total, ENIs, EC2 API errors.', {
    priority: 2,
  }),
  glob(
    'pod-logs',
    '/var/log/containers/{aws-node,kube-proxy,coredns,ebs-csi,efs-csi,eks-pod-identity-agent,cni-metrics-helper}*',
    'Logs of aws-node, kube-proxy, coredns and other system pods.',
    {
      priority: 2,
      maxBytes: 256 * MiB,
    },
  ),
];
