import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NodeIdentity } from '../../contract/bundle.ts';
import {
  awsNodePod,
  containerInfo,
  cri,
  HOSTNAME,
  kubeletVersionLine,
  kubeProxyPod,
  PATHS,
  podList,
  REGISTRY,
  zap,
} from '../rules/data/fixtures.ts';
import { analyzeBundle } from './analyze-bundle.ts';
import {
  containersFromContainerInfo,
  containersFromDockerInspect,
  containersFromPodList,
  isSameNode,
  parseImage,
} from './node-identity.ts';

async function identityOf(files: Record<string, string>, manifestNode?: NodeIdentity): Promise<NodeIdentity> {
  const root = await mkdtemp(join(tmpdir(), 'node-identity-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), content);
    }
    if (manifestNode) {
      const manifest = {
        schema: 'eks-node-diag/bundle@1',
        tool: { name: 'eks-node-diag', version: 'test' },
        createdAt: '2026-11-20T10:00:00Z',
        node: manifestNode,
        parameters: {},
        items: [],
      };
      await writeFile(join(root, 'manifest.json'), JSON.stringify(manifest));
    }
    const report = await analyzeBundle(root, { rules: [] });
    return report.bundle.node;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const ipamdStart = (ts: string, version: string) =>
  zap('info', ts, 'aws-k8s-agent/main.go:64', `Starting L-IPAMD ${version}  ...`);

describe('parseImage', () => {
  it('splits registry path, name and tag, ignoring a digest', () => {
    expect(parseImage(`${REGISTRY}/amazon-k8s-cni:v1.19.2-eksbuild.1`)).toEqual({
      repository: `${REGISTRY}/amazon-k8s-cni`,
      name: 'amazon-k8s-cni',
      tag: 'v1.19.2-eksbuild.1',
    });
    expect(parseImage('localhost:5000/amazon/aws-network-policy-agent:v1.2.0@sha256:ab12')).toMatchObject({
      name: 'aws-network-policy-agent',
      tag: 'v1.2.0',
    });
    expect(parseImage(`${REGISTRY}/amazon-k8s-cni@sha256:0123abcd`)).toEqual({
      repository: `${REGISTRY}/amazon-k8s-cni`,
      name: 'amazon-k8s-cni',
    });
  });
});

describe('container sources', () => {
  it('reads ctr container info: name label, image, env, args, creation time; skips sandboxes and junk', () => {
    const info = JSON.parse(
      containerInfo({
        image: `${REGISTRY}/amazon-k8s-cni:v1.19.2-eksbuild.1`,
        env: { NETWORK_POLICY_ENFORCING_MODE: 'strict' },
      }),
    );
    const [record] = containersFromContainerInfo(info);
    expect(record).toMatchObject({
      source: 'ctr container info',
      name: 'aws-node',
      pod: 'aws-node-7xk2p',
      namespace: 'kube-system',
      createdAt: '2025-02-03T10:11:12.123456789Z',
      args: ['/app/aws-vpc-cni'],
    });
    expect(record?.env.NETWORK_POLICY_ENFORCING_MODE).toBe('strict');
    expect(record?.env.PATH).toContain('/usr/bin');
    expect(containersFromContainerInfo({ ...info, Labels: { 'io.cri-containerd.kind': 'sandbox' } })).toEqual([]);
    expect(containersFromContainerInfo('not an object')).toEqual([]);
    expect(containersFromContainerInfo({ ID: 'no image' })).toEqual([]);
  });

  it('reads docker inspect arrays', () => {
    const [record] = containersFromDockerInspect([
      {
        Id: 'abc',
        Created: '2021-08-01T10:00:00.000000000Z',
        Args: [],
        Config: {
          Image: `${REGISTRY}/amazon-k8s-cni:v1.7.5-eksbuild.1`,
          Env: ['AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG', 'MALFORMED'],
          Labels: { 'io.kubernetes.container.name': 'aws-node', 'io.kubernetes.pod.name': 'aws-node-abcde' },
        },
      },
    ]);
    expect(record).toMatchObject({ source: 'docker inspect', name: 'aws-node', pod: 'aws-node-abcde' });
    expect(record?.env).toEqual({ AWS_VPC_K8S_CNI_LOGLEVEL: 'DEBUG' });
  });

  it('reads the aws-node and kube-proxy pods of a pod list, with status and literal env only', () => {
    const records = containersFromPodList(
      JSON.parse(
        podList(
          awsNodePod({
            agentRestarts: 4,
            agentLastTermination: { reason: 'Error', exitCode: 1, finishedAt: '2025-02-03T11:00:00Z' },
          }),
          kubeProxyPod('v1.31.2-minimal-eksbuild.3'),
          {
            metadata: { name: 'web-1', namespace: 'default' },
            spec: { containers: [{ name: 'web', image: 'nginx' }] },
          },
        ),
      ),
    );
    expect(records.map((record) => record.name)).toEqual([
      'aws-node',
      'aws-eks-nodeagent',
      'aws-vpc-cni-init',
      'kube-proxy',
    ]);
    const agent = records.find((record) => record.name === 'aws-eks-nodeagent');
    expect(agent).toMatchObject({
      restartCount: 4,
      lastTermination: { reason: 'Error', exitCode: 1 },
      nodeName: HOSTNAME,
    });
    expect(agent?.args).toContain('--enable-network-policy=true');
    const awsNode = records.find((record) => record.name === 'aws-node');
    expect(awsNode?.env).not.toHaveProperty('MY_NODE_NAME');
    expect(awsNode?.env.NETWORK_POLICY_ENFORCING_MODE).toBe('standard');
    expect(records.find((record) => record.name === 'aws-vpc-cni-init')?.init).toBe(true);
    expect(containersFromPodList({ kind: 'PodList', items: 'nope' })).toEqual([]);
    expect(containersFromPodList(null)).toEqual([]);
  });

  it('matches node names by full name or first DNS label', () => {
    expect(isSameNode(HOSTNAME, HOSTNAME)).toBe(true);
    expect(isSameNode('ip-10-0-1-23.ec2.internal', 'ip-10-0-1-23')).toBe(true);
    expect(isSameNode('ip-10-0-1-24.ec2.internal', 'ip-10-0-1-23')).toBe(false);
    expect(isSameNode(undefined, HOSTNAME)).toBe(false);
  });
});

describe('node identity: versions', () => {
  it('keeps the ipamd startup line as the VPC CNI version when nothing else speaks', async () => {
    const node = await identityOf({
      [PATHS.ipamd]: `${ipamdStart('2026-11-19T08:00:00.000Z', 'v1.19.2')}\n`,
    });
    expect(node.vpcCniVersion).toBe('v1.19.2');
    expect(node.networkPolicyAgentVersion).toBeUndefined();
  });

  it('takes the latest startup line by time, not by file order', async () => {
    const node = await identityOf({
      [PATHS.ipamd]: [
        ipamdStart('2026-11-19T08:00:00.000Z', 'v1.19.2'),
        ipamdStart('2026-11-10T08:00:00.000Z', 'v1.18.6'),
        '',
      ].join('\n'),
    });
    expect(node.vpcCniVersion).toBe('v1.19.2');
  });

  it('refines the startup line with the image tag of the same version (eksbuild)', async () => {
    const node = await identityOf({
      [PATHS.ipamd]: `${ipamdStart('2026-11-19T08:00:00.000Z', 'v1.19.2')}\n`,
      [PATHS.containerInfo]: containerInfo({ image: `${REGISTRY}/amazon-k8s-cni:v1.19.2-eksbuild.1` }),
    });
    expect(node.vpcCniVersion).toBe('v1.19.2-eksbuild.1');
  });

  it('finds the VPC CNI version from the newest aws-node container of a stock containerd dump', async () => {
    const node = await identityOf({
      [PATHS.containerInfo]:
        containerInfo({
          image: `${REGISTRY}/amazon-k8s-cni:v1.18.6-eksbuild.1`,
          createdAt: '2024-12-01T09:00:00.000000000Z',
        }) +
        containerInfo({
          image: `${REGISTRY}/amazon-k8s-cni:v1.19.2-eksbuild.1`,
          createdAt: '2025-02-03T10:11:12.123456789Z',
        }),
    });
    expect(node.vpcCniVersion).toBe('v1.19.2-eksbuild.1');
  });

  it('finds both versions from this node’s aws-node pod in a cluster-wide pod list', async () => {
    const node = await identityOf({
      'kernel/uname.txt': `Linux ${HOSTNAME} 6.1.119-129.201.amzn2023.x86_64 #1 SMP PREEMPT_DYNAMIC x86_64 x86_64 x86_64 GNU/Linux\n`,
      [PATHS.pods]: podList(
        awsNodePod({
          nodeName: 'ip-10-0-9-9.us-west-2.compute.internal',
          podName: 'aws-node-other',
          cniVersion: 'v1.20.1-eksbuild.3',
          agentVersion: 'v1.2.2-eksbuild.1',
        }),
        awsNodePod({ cniVersion: 'v1.19.2-eksbuild.1', agentVersion: 'v1.1.6-eksbuild.1' }),
      ),
    });
    expect(node.vpcCniVersion).toBe('v1.19.2-eksbuild.1');
    expect(node.networkPolicyAgentVersion).toBe('v1.1.6-eksbuild.1');
  });

  it('leaves the versions unknown when a cluster-wide list disagrees and no pod is this node’s', async () => {
    const node = await identityOf({
      [PATHS.pods]: podList(
        awsNodePod({ nodeName: 'ip-10-0-9-9.ec2.internal', podName: 'aws-node-a', cniVersion: 'v1.20.1-eksbuild.3' }),
        awsNodePod({ nodeName: 'ip-10-0-9-8.ec2.internal', podName: 'aws-node-b', cniVersion: 'v1.19.2-eksbuild.1' }),
      ),
    });
    expect(node.vpcCniVersion).toBeUndefined();
  });

  it('reads the agent version from its own startup line (agent v1.4+), in the file log or the container log', async () => {
    const line = zap(
      'info',
      '2026-11-19T08:00:05.000Z',
      'aws-network-policy-agent/main.go:72',
      'Starting network policy agent: v1.4.1 (built: 2026-08-01T00:00:00Z, ebpf-sdk: v1.1.0), log level: info',
    );
    expect((await identityOf({ [PATHS.agentLog]: `${line}\n` })).networkPolicyAgentVersion).toBe('v1.4.1');
    expect(
      (await identityOf({ [PATHS.agentContainerLog]: `${cri('2026-11-19T08:00:05.000000001Z', line)}\n` }))
        .networkPolicyAgentVersion,
    ).toBe('v1.4.1');
  });

  it('lets the manifest win and keeps the kubelet version from the journal', async () => {
    const node = await identityOf(
      {
        [PATHS.ipamd]: `${ipamdStart('2026-11-19T08:00:00.000Z', 'v1.19.2')}\n`,
        [PATHS.kubelet]: `${kubeletVersionLine('v1.31.2-eks-94953ac')}\n`,
      },
      { vpcCniVersion: 'v1.20.1-eksbuild.3' },
    );
    expect(node.vpcCniVersion).toBe('v1.20.1-eksbuild.3');
    expect(node.kubeletVersion).toBe('v1.31.2-eks-94953ac');
  });

  it('ignores malformed version sources', async () => {
    const node = await identityOf({
      [PATHS.containerInfo]: '{"ID": "cut short", "Image": ',
      [PATHS.pods]: 'not json at all',
      [PATHS.ipamd]: `${zap('info', '2026-11-19T08:00:00.000Z', 'main.go:64', 'Starting L-IPAMD')}\n`,
    });
    expect(node.vpcCniVersion).toBeUndefined();
  });
});
