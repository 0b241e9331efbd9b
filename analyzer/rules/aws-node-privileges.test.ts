import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './aws-node-privileges.ts';

const CTR = 'cni/cni-configuration-variables-containerd.json';
const PODS = 'kubelet/pods.json';
const ECR = '602401143452.dkr.ecr.us-west-2.amazonaws.com';

// `ctr container info` of aws-node: CRI's spec for a hostNetwork pod has no "network" namespace entry.
const ctrInfo = (options: { netns?: boolean; caps?: string[] } = {}) =>
  `${JSON.stringify(
    {
      ID: '3f9c2b7e1a6d4c8b9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d',
      Labels: { 'io.kubernetes.container.name': 'aws-node', 'io.kubernetes.pod.name': 'aws-node-n8v84' },
      Image: `${ECR}/amazon-k8s-cni:v1.19.2-eksbuild.1`,
      CreatedAt: '2026-11-20T08:01:12.403535063Z',
      Spec: {
        ociVersion: '1.1.0',
        process: {
          env: ['PATH=/usr/bin:/bin', 'WARM_ENI_TARGET=1'],
          capabilities: {
            bounding: options.caps ?? ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SETUID'],
            effective: options.caps ?? ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SETUID'],
          },
        },
        linux: {
          namespaces: [
            { type: 'pid' },
            { type: 'ipc', path: '/proc/4242/ns/ipc' },
            { type: 'mount' },
            ...(options.netns ? [{ type: 'network', path: '/proc/4242/ns/net' }] : []),
          ],
          maskedPaths: ['/proc/acpi', '/proc/kcore'],
        },
      },
    },
    null,
    4,
  )}\n`;

interface PodOptions {
  version?: string;
  hostNetwork?: boolean;
  serviceAccount?: string;
  initPrivileged?: boolean;
  capabilities?: string[];
  mounts?: { mountPath: string; name: string }[];
  volumes?: object[];
}

// An aws-node pod as config/master/aws-k8s-cni.yaml renders it (v1.9 manifests: 10m request, dockershim mount).
const podList = (options: PodOptions = {}) => {
  const version = options.version ?? 'v1.19.2-eksbuild.1';
  return `${JSON.stringify(
    {
      kind: 'PodList',
      items: [
        {
          metadata: { name: 'aws-node-7xk2p', namespace: 'kube-system', labels: { 'k8s-app': 'aws-node' } },
          spec: {
            hostNetwork: options.hostNetwork ?? true,
            serviceAccountName: options.serviceAccount ?? 'aws-node',
            initContainers: [
              {
                name: 'aws-vpc-cni-init',
                image: `${ECR}/amazon-k8s-cni-init:${version}`,
                securityContext:
                  options.initPrivileged === false ? { allowPrivilegeEscalation: false } : { privileged: true },
                volumeMounts: [{ mountPath: '/host/opt/cni/bin', name: 'cni-bin-dir' }],
              },
            ],
            containers: [
              {
                name: 'aws-node',
                image: `${ECR}/amazon-k8s-cni:${version}`,
                securityContext: { capabilities: { add: options.capabilities ?? ['NET_ADMIN', 'NET_RAW'] } },
                volumeMounts: options.mounts ?? [
                  { mountPath: '/host/opt/cni/bin', name: 'cni-bin-dir' },
                  { mountPath: '/var/run/aws-node', name: 'run-dir' },
                ],
              },
            ],
            volumes: options.volumes ?? [
              { name: 'cni-bin-dir', hostPath: { path: '/opt/cni/bin', type: '' } },
              { name: 'run-dir', hostPath: { path: '/var/run/aws-node', type: 'DirectoryOrCreate' } },
            ],
          },
        },
      ],
    },
    null,
    4,
  )}\n`;
};

const V19_MOUNTS = [
  { mountPath: '/host/opt/cni/bin', name: 'cni-bin-dir' },
  { mountPath: '/var/run/dockershim.sock', name: 'dockershim' },
  { mountPath: '/var/run/aws-node', name: 'run-dir' },
];
const V19_VOLUMES = [
  { name: 'cni-bin-dir', hostPath: { path: '/opt/cni/bin' } },
  { name: 'dockershim', hostPath: { path: '/var/run/dockershim.sock' } },
  { name: 'run-dir', hostPath: { path: '/var/run/aws-node', type: 'DirectoryOrCreate' } },
];

ruleTester(rule, {
  pass: [
    {
      name: 'the pod as the v1.19 manifest renders it',
      files: { [PODS]: podList() },
      messageId: 'asDesigned',
      evidence: [`${PODS}:`],
      check: (result) => {
        expect(result.summary).toContain('hostNetwork: true in the pod spec');
        expect(result.summary).toContain('NET_ADMIN on the aws-node container: capabilities NET_ADMIN, NET_RAW');
        expect(result.tables[0]?.rows.find((row) => row[0] === 'CRI socket mount')?.[2]).toBe('not-needed');
        expect(result.caveats).toEqual([]);
      },
    },
    {
      name: 'stock layout: the runtime shows host networking and NET_ADMIN',
      files: { [CTR]: ctrInfo() },
      messageId: 'asDesigned',
      evidence: [`${CTR}:`],
      check: (result) => {
        expect(result.summary).toContain('no network namespace of its own');
        expect(result.caveats.join('\n')).toContain('privileged aws-vpc-cni-init container, aws-node service account');
      },
    },
    {
      name: 'a v1.9 pod with its dockershim mount',
      files: { [PODS]: podList({ version: 'v1.9.3', mounts: V19_MOUNTS, volumes: V19_VOLUMES }) },
      messageId: 'asDesigned',
      check: (result) =>
        expect(result.tables[0]?.rows.find((row) => row[0] === 'CRI socket mount (before v1.12)')?.[1]).toBe(
          '/var/run/dockershim.sock from /var/run/dockershim.sock',
        ),
    },
  ],
  fail: [
    {
      name: 'a policy engine dropped the added capabilities',
      files: { [PODS]: podList({ capabilities: [] }) },
      messageId: 'stripped',
      severity: 'critical',
      evidence: [`${PODS}:`],
      check: (result) => {
        expect(result.summary).toContain('NET_ADMIN on the aws-node container (no added capabilities)');
        expect(result.summary).toContain('operation not permitted');
      },
    },
    {
      name: 'Pod Security baseline made the init container unprivileged',
      files: { [PODS]: podList({ initPrivileged: false }) },
      messageId: 'stripped',
      severity: 'critical',
      evidence: [`${PODS}:`],
      check: (result) => expect(result.summary).toContain('cannot write /proc/sys'),
    },
    {
      name: 'stock layout: the running container has its own network namespace',
      files: { [CTR]: ctrInfo({ netns: true }) },
      messageId: 'stripped',
      severity: 'critical',
      evidence: [`${CTR}:`],
      check: (result) => expect(result.summary).toContain('hostNetwork (a network namespace of its own'),
    },
    {
      name: 'another service account is a warning',
      files: { [PODS]: podList({ serviceAccount: 'default' }) },
      messageId: 'stripped',
      severity: 'warning',
      evidence: [`${PODS}:`],
    },
    {
      name: 'a v1.9 pod without the CRI socket',
      files: { [PODS]: podList({ version: 'v1.9.3' }) },
      messageId: 'stripped',
      severity: 'warning',
      evidence: [`${PODS}:`],
      check: (result) => expect(result.summary).toContain('CRI socket mount (before v1.12) (no CRI socket mounted)'),
    },
  ],
  notEvaluated: [
    {
      name: 'nothing that shows the pod',
      files: { 'ipamd/ipamd-env-settings.json': '{"WARM_ENI_TARGET":1}\n' },
      reason: PODS,
    },
    {
      name: 'container info without its spec',
      files: {
        [CTR]: `${JSON.stringify({
          ID: 'abc',
          Labels: { 'io.kubernetes.container.name': 'aws-node' },
          Image: `${ECR}/amazon-k8s-cni:v1.19.2-eksbuild.1`,
        })}\n`,
      },
      reason: 'none of hostNetwork, NET_ADMIN',
    },
  ],
});
