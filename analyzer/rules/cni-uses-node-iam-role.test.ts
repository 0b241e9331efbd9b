import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './cni-uses-node-iam-role.ts';

const CTR = 'cni/cni-configuration-variables-containerd.json';
const DOCKER = 'cni/cni-configuration-variables-dockerd.txt';
const PODS = 'kubelet/pods.json';

const BASE_ENV = [
  'ADDITIONAL_ENI_TAGS={}',
  'AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG',
  'AWS_VPC_K8S_CNI_VETHPREFIX=eni',
  'ENABLE_PREFIX_DELEGATION=false',
  'WARM_ENI_TARGET=1',
  'WARM_PREFIX_TARGET=1',
];

// `ctr -n k8s.io container info` as the stock collector writes it (4-space JSON; awslabs/amazon-eks-ami PR #1245).
const ctrInfo = (env: string[]) =>
  `${JSON.stringify(
    {
      ID: '3f9c2b7e1a6d4c8b9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d',
      Labels: {
        'io.cri-containerd.kind': 'container',
        'io.kubernetes.container.name': 'aws-node',
        'io.kubernetes.pod.name': 'aws-node-n8v84',
        'io.kubernetes.pod.namespace': 'kube-system',
        'io.kubernetes.pod.uid': 'b30ff7a3-710c-4bf2-b451-0259d5b234cf',
      },
      Image: '602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.18.3-eksbuild.2',
      Runtime: { Name: 'io.containerd.runc.v2', Options: { type_url: 'containerd.runc.v1.Options', value: 'SAE=' } },
      SnapshotKey: '3f9c2b7e1a6d4c8b9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d',
      Snapshotter: 'overlayfs',
      CreatedAt: '2026-11-20T08:01:12.403535063Z',
      UpdatedAt: '2026-11-20T08:01:12.403535063Z',
      Extensions: {},
      Spec: {
        ociVersion: '1.1.0',
        process: {
          user: { uid: 0, gid: 0 },
          args: ['/app/aws-vpc-cni'],
          env: [
            'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
            ...env,
            'MY_NODE_NAME=ip-10-0-1-23',
          ],
          cwd: '/app',
        },
        linux: { namespaces: [{ type: 'pid' }, { type: 'ipc', path: '/proc/4242/ns/ipc' }, { type: 'mount' }] },
      },
    },
    null,
    4,
  )}\n`;

const podList = (env: object[], extra: Record<string, unknown> = {}) =>
  `${JSON.stringify(
    {
      kind: 'PodList',
      apiVersion: 'v1',
      items: [
        {
          metadata: { name: 'aws-node-7xk2p', namespace: 'kube-system', labels: { 'k8s-app': 'aws-node' } },
          spec: {
            nodeName: 'ip-10-0-1-23.us-west-2.compute.internal',
            hostNetwork: true,
            serviceAccountName: 'aws-node',
            containers: [
              {
                name: 'aws-node',
                image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1',
                env: [
                  { name: 'WARM_ENI_TARGET', value: '1' },
                  { name: 'MY_NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
                  ...env,
                ],
                ...extra,
              },
            ],
          },
        },
      ],
    },
    null,
    4,
  )}\n`;

// What the IRSA webhook (amazon-eks-pod-identity-webhook) injects into an annotated service account's pods.
const IRSA = [
  'AWS_STS_REGIONAL_ENDPOINTS=regional',
  'AWS_DEFAULT_REGION=us-east-1',
  'AWS_REGION=us-east-1',
  'AWS_ROLE_ARN=arn:aws:iam::111122223333:role/AmazonEKSVPCCNIRole',
  'AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
];

ruleTester(rule, {
  pass: [
    {
      name: 'stock layout: IRSA in the running container',
      files: { [CTR]: ctrInfo([...BASE_ENV, ...IRSA]) },
      messageId: 'irsa',
      evidence: [`${CTR}:`],
      check: (result) => {
        expect(result.summary).toContain('AWS_ROLE_ARN=arn:aws:iam::111122223333:role/AmazonEKSVPCCNIRole');
        expect(result.evidence.map((e) => e.text)).toContain(
          'AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
        );
      },
    },
    {
      name: 'EKS Pod Identity in the pod spec',
      files: {
        [PODS]: podList([
          { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://169.254.170.23/v1/credentials' },
          {
            name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
            value: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
          },
        ]),
      },
      messageId: 'podIdentity',
      evidence: [`${PODS}:`],
    },
    {
      name: 'dockershim node: IRSA in docker inspect',
      files: {
        [DOCKER]: `${JSON.stringify(
          [
            {
              Id: 'fdc5f8fc29864322384c708a83f6f72080bb095a8230ab4a3763040490aaf222',
              Name: '/k8s_aws-node_aws-node-n8v84_kube-system_7dc2e85a-6acd-4d2a-ad5e-06629a70b556_0',
              Config: {
                Env: [...BASE_ENV, ...IRSA],
                Image: '602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.11.4-eksbuild.1',
              },
              HostConfig: { CapAdd: ['NET_ADMIN'], Privileged: false },
            },
          ],
          null,
          4,
        )}\n`,
      },
      messageId: 'irsa',
      evidence: [`${DOCKER}:`],
    },
  ],
  fail: [
    {
      name: 'stock layout: no credentials in the running container',
      files: {
        [CTR]: ctrInfo(BASE_ENV),
        'ipamd/ipamd-env-settings.json': '{"WARM_ENI_TARGET":1,"WARM_IP_TARGET":0}\n',
      },
      messageId: 'nodeRole',
      severity: 'warning',
      evidence: [`${CTR}:`],
      check: (result) => {
        expect(result.summary).toContain(
          'AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE are not set',
        );
        expect(result.summary).toContain('the container runtime (ctr container info)');
        expect(result.remediation.join('\n')).toContain('AmazonEKS_CNI_Policy');
      },
    },
    {
      name: 'a role ARN without its token file falls back to the instance profile',
      files: { [PODS]: podList([{ name: 'AWS_ROLE_ARN', value: 'arn:aws:iam::111122223333:role/cni' }]) },
      messageId: 'nodeRole',
      evidence: [`${PODS}:`],
      check: (result) => expect(result.summary).toContain('Only AWS_ROLE_ARN is set'),
    },
    {
      name: 'long-lived keys from a secret',
      files: {
        [PODS]: podList([
          { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'cni-keys', key: 'id' } } },
          { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'cni-keys', key: 'secret' } } },
        ]),
      },
      messageId: 'staticKeys',
      evidence: [`${PODS}:`],
      check: (result) => {
        expect(result.summary).toContain('AWS_ACCESS_KEY_ID from secret cni-keys/id');
        expect(result.evidence.every((e) => e.text.endsWith('=<redacted>'))).toBe(true);
      },
    },
  ],
  notEvaluated: [
    {
      name: 'stock bundle without any aws-node environment',
      files: { 'ipamd/ipamd-env-settings.json': '{"WARM_ENI_TARGET":1,"WARM_IP_TARGET":0}\n' },
      reason: CTR,
    },
    {
      name: 'ctr printed an error instead of container info',
      files: { [CTR]: 'ctr: container "3f9c2b7e" in namespace "k8s.io": not found\n' },
      reason: `${CTR}: no JSON document in the file`,
    },
    {
      name: 'the pod list holds no aws-node pod',
      files: {
        [PODS]: JSON.stringify({ kind: 'PodList', items: [{ metadata: { name: 'coredns-1' }, spec: {} }] }),
      },
      reason: 'none of them aws-node',
    },
    {
      name: 'the variables come from envFrom, which the pod list does not resolve',
      files: { [PODS]: podList([], { envFrom: [{ configMapRef: { name: 'cni-credentials' } }] }) },
      reason: 'configMap cni-credentials',
    },
  ],
});
