import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './cni-uses-node-iam-role.ts';
import { awsNodeContainerInfo, awsNodePod, podList as podListOf, REGISTRY } from './data/fixtures.ts';

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

const ctrInfo = (env: string[]) => awsNodeContainerInfo(env, `${REGISTRY}/amazon-k8s-cni:v1.18.3-eksbuild.2`);

const podList = (envVars: object[], containerFields: Record<string, unknown> = {}) =>
  podListOf(awsNodePod({ env: { WARM_ENI_TARGET: '1' }, envVars, containerFields }));

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
