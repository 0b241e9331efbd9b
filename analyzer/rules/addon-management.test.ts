import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './addon-management.ts';
import { awsNodeContainerInfo } from './data/fixtures.ts';

const CTR = 'cni/cni-configuration-variables-containerd.json';
const DOCKER = 'cni/cni-configuration-variables-dockerd.txt';
const PODS = 'kubelet/pods.json';
const ECR = '602401143452.dkr.ecr.us-west-2.amazonaws.com';

const ctrInfo = (image: string, env: string[]) => awsNodeContainerInfo(env, image);

const probe = (timeoutSeconds: number, initialDelaySeconds: number) => ({
  exec: { command: ['/app/grpc-health-probe', '-addr=:50051', '-connect-timeout=5s', '-rpc-timeout=5s'] },
  initialDelaySeconds,
  timeoutSeconds,
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
});

// The aws-node pod the EKS add-on (the aws-vpc-cni chart) renders, as `kubectl get pods -o json` lists it.
const podList = (options: { main?: string; init?: string; serviceAccount?: string; liveness?: number } = {}) =>
  `${JSON.stringify(
    {
      kind: 'PodList',
      apiVersion: 'v1',
      items: [
        {
          metadata: {
            name: 'aws-node-7xk2p',
            namespace: 'kube-system',
            labels: {
              'app.kubernetes.io/instance': 'aws-vpc-cni',
              'app.kubernetes.io/name': 'aws-node',
              'controller-revision-hash': '5c7d8b9f6',
              'k8s-app': 'aws-node',
            },
          },
          spec: {
            hostNetwork: true,
            serviceAccountName: options.serviceAccount ?? 'aws-node',
            initContainers: [
              {
                name: 'aws-vpc-cni-init',
                image: `${ECR}/amazon-k8s-cni-init:${options.init ?? 'v1.19.2-eksbuild.1'}`,
                securityContext: { privileged: true },
              },
            ],
            containers: [
              {
                name: 'aws-node',
                image: `${ECR}/amazon-k8s-cni:${options.main ?? 'v1.19.2-eksbuild.1'}`,
                env: [
                  { name: 'WARM_ENI_TARGET', value: '1' },
                  { name: 'WARM_PREFIX_TARGET', value: '1' },
                ],
                livenessProbe: probe(options.liveness ?? 10, 60),
                readinessProbe: probe(10, 1),
              },
              { name: 'aws-eks-nodeagent', image: `${ECR}/amazon/aws-network-policy-agent:v1.1.5-eksbuild.1` },
            ],
          },
        },
      ],
    },
    null,
    4,
  )}\n`;

ruleTester(rule, {
  pass: [
    {
      name: 'stock layout: an EKS build in ctr container info',
      files: {
        [CTR]: ctrInfo(`${ECR}/amazon-k8s-cni:v1.19.2-eksbuild.1`, ['WARM_ENI_TARGET=1', 'WARM_PREFIX_TARGET=1']),
      },
      messageId: 'eksBuild',
      evidence: [`${CTR}:`],
      check: (result) => {
        expect(result.summary).toContain('v1.19.2-eksbuild.1');
        expect(result.summary).toContain('WARM_* settings (WARM_ENI_TARGET=1, WARM_PREFIX_TARGET=1) persist');
      },
    },
    {
      name: 'the add-on pod with its default probes',
      files: { [PODS]: podList() },
      messageId: 'eksBuild',
      evidence: [`${PODS}:`],
      check: (result) => expect(result.facts.map((fact) => fact.value)).toContain('aws-vpc-cni'),
    },
    {
      name: 'an upstream chart image: self-managed',
      files: { [PODS]: podList({ main: 'v1.19.2', init: 'v1.19.2' }) },
      messageId: 'upstream',
      check: (result) => expect(result.summary).toContain('without EKS’s -eksbuild tag'),
    },
    {
      name: 'dockershim node with an older EKS build',
      files: {
        [DOCKER]: `${JSON.stringify([
          {
            Id: 'fdc5f8fc29864322384c708a83f6f72080bb095a8230ab4a3763040490aaf222',
            Name: '/k8s_aws-node_aws-node-n8v84_kube-system_7dc2e85a-6acd-4d2a-ad5e-06629a70b556_0',
            Config: {
              Env: ['WARM_ENI_TARGET=1'],
              Image: '602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.11.4-eksbuild.1',
            },
          },
        ])}\n`,
      },
      messageId: 'eksBuild',
      evidence: [`${DOCKER}:`],
    },
  ],
  fail: [
    {
      name: 'the init container left on the previous version',
      files: { [PODS]: podList({ init: 'v1.18.3-eksbuild.2' }) },
      messageId: 'versionMismatch',
      severity: 'warning',
      evidence: [`${PODS}:`],
      check: (result) => {
        expect(result.summary).toContain('aws-node 1.19.2-eksbuild.1, aws-vpc-cni-init 1.18.3-eksbuild.2');
        expect(result.summary).toContain('EKS puts the add-on version’s images back');
      },
    },
    {
      name: 'liveness timeout raised on an EKS build',
      files: { [PODS]: podList({ liveness: 30 }) },
      messageId: 'managedFieldsChanged',
      severity: 'info',
      evidence: [`${PODS}:`],
      check: (result) => expect(result.summary).toContain('the liveness probe timeout (30 s, default 10 s)'),
    },
    {
      name: 'another service account on an EKS build',
      files: { [PODS]: podList({ serviceAccount: 'cni-custom' }) },
      messageId: 'managedFieldsChanged',
      evidence: [`${PODS}:`],
      check: (result) => expect(result.summary).toContain('the service account (cni-custom)'),
    },
  ],
  notEvaluated: [
    {
      name: 'nothing that shows the image',
      files: { 'ipamd/ipamd-env-settings.json': '{"WARM_ENI_TARGET":1,"WARM_IP_TARGET":0}\n' },
      reason: CTR,
    },
    {
      name: 'a pod list without the aws-node pod',
      files: { [PODS]: JSON.stringify({ kind: 'PodList', items: [{ metadata: { name: 'coredns-1' }, spec: {} }] }) },
      reason: "aws-node's image is not known",
    },
  ],
});
