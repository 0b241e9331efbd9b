import { describe, expect, it } from 'vitest';
import type { FileRef } from '../../engine/rule.ts';
import {
  awsNodePodsFrom,
  containerFromCtrInfo,
  containersFromDockerInspect,
  containerViews,
  cpuRequestFromShares,
  createAwsNodeConfigCollector,
  describeEnv,
  disagreementCaveat,
  effectiveValue,
  envEvidence,
  introspectedSettings,
  lookupEnv,
  missingConfigReason,
  parseCpuQuantity,
  parseGoBool,
  parseGoInt,
  parseImage,
  roleOf,
  versionAtLeast,
} from './aws-node-config.ts';

const CTR_PATH = 'cni/cni-configuration-variables-containerd.json';
const DOCKER_PATH = 'cni/cni-configuration-variables-dockerd.txt';
const PODS_PATH = 'kubelet/pods.json';

// Shape of `ctr -n k8s.io container info <id>` for aws-node on containerd 1.7 (awslabs/amazon-eks-ami PR #1245 shows
// the top-level fields; the spec is containerd's CRI-generated OCI spec for a hostNetwork pod).
const ctrInfo = (created: string, env: string[], image = 'amazon-k8s-cni:v1.19.2-eksbuild.1') => ({
  ID: 'd4e1c9a8b7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0',
  Labels: {
    'io.cri-containerd.kind': 'container',
    'io.kubernetes.container.name': 'aws-node',
    'io.kubernetes.pod.name': 'aws-node-7xk2p',
    'io.kubernetes.pod.namespace': 'kube-system',
    'io.kubernetes.pod.uid': '0b5a2c1e-8f3d-4e2a-9c61-2f0d1e7a9b44',
  },
  Image: `602401143452.dkr.ecr.us-west-2.amazonaws.com/${image}`,
  Runtime: { Name: 'io.containerd.runc.v2', Options: { type_url: 'containerd.runc.v1.Options', value: 'SAE=' } },
  SnapshotKey: 'd4e1c9a8b7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0',
  Snapshotter: 'overlayfs',
  CreatedAt: created,
  UpdatedAt: created,
  Extensions: {},
  Spec: {
    ociVersion: '1.1.0',
    process: {
      user: { uid: 0, gid: 0, additionalGids: [0] },
      args: ['/app/aws-vpc-cni'],
      env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'HOSTNAME=ip-10-0-1-23.us-west-2.compute.internal',
        ...env,
        'MY_NODE_NAME=ip-10-0-1-23.us-west-2.compute.internal',
        'KUBERNETES_SERVICE_HOST=172.20.0.1',
        'KUBERNETES_SERVICE_PORT=443',
      ],
      cwd: '/app',
      capabilities: {
        bounding: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SETUID'],
        effective: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SETUID'],
        permitted: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SETUID'],
      },
      apparmorProfile: 'cri-containerd.apparmor.d',
      oomScoreAdj: -997,
    },
    root: { path: 'rootfs' },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/host/opt/cni/bin', type: 'bind', source: '/opt/cni/bin', options: ['rbind', 'rprivate', 'rw'] },
      { destination: '/var/run/aws-node', type: 'bind', source: '/var/run/aws-node', options: ['rbind', 'rw'] },
    ],
    annotations: {
      'io.kubernetes.cri.container-name': 'aws-node',
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.sandbox-name': 'aws-node-7xk2p',
      'io.kubernetes.cri.sandbox-namespace': 'kube-system',
    },
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }], memory: {}, cpu: { shares: 25, period: 100000 } },
      cgroupsPath: 'kubepods-burstable-pod0b5a2c1e_8f3d_4e2a_9c61_2f0d1e7a9b44.slice:cri-containerd:d4e1c9a8',
      namespaces: [{ type: 'pid' }, { type: 'ipc', path: '/proc/4242/ns/ipc' }, { type: 'mount' }],
      maskedPaths: ['/proc/acpi', '/proc/kcore'],
      readonlyPaths: ['/proc/bus', '/proc/fs'],
    },
  },
});

// `kubectl get pods -o json` shape of an aws-node pod (config/master/aws-k8s-cni.yaml at v1.14 rendered by the
// DaemonSet controller, with the IRSA webhook's additions).
const awsNodePod = (name: string, nodeName: string, mainEnv: object[], extra: object = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'kube-system',
    labels: {
      'app.kubernetes.io/instance': 'aws-vpc-cni',
      'app.kubernetes.io/name': 'aws-node',
      'controller-revision-hash': '5c7d8b9f6',
      'k8s-app': 'aws-node',
      'pod-template-generation': '3',
    },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'aws-node', controller: true }],
  },
  spec: {
    nodeName,
    hostNetwork: true,
    serviceAccountName: 'aws-node',
    priorityClassName: 'system-node-critical',
    initContainers: [
      {
        name: 'aws-vpc-cni-init',
        image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni-init:v1.19.2-eksbuild.1',
        env: [
          { name: 'DISABLE_TCP_EARLY_DEMUX', value: 'false' },
          { name: 'ENABLE_IPv6', value: 'false' },
        ],
        resources: { requests: { cpu: '25m' } },
        securityContext: { privileged: true },
        volumeMounts: [{ mountPath: '/host/opt/cni/bin', name: 'cni-bin-dir' }],
      },
    ],
    containers: [
      {
        name: 'aws-node',
        image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1',
        env: mainEnv,
        livenessProbe: {
          exec: { command: ['/app/grpc-health-probe', '-addr=:50051', '-connect-timeout=5s', '-rpc-timeout=5s'] },
          initialDelaySeconds: 60,
          timeoutSeconds: 10,
          periodSeconds: 10,
          failureThreshold: 3,
        },
        readinessProbe: {
          exec: { command: ['/app/grpc-health-probe', '-addr=:50051', '-connect-timeout=5s', '-rpc-timeout=5s'] },
          initialDelaySeconds: 1,
          timeoutSeconds: 10,
        },
        resources: { requests: { cpu: '25m' } },
        securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
        volumeMounts: [
          { mountPath: '/host/opt/cni/bin', name: 'cni-bin-dir' },
          { mountPath: '/var/run/aws-node', name: 'run-dir' },
          { mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount', name: 'aws-iam-token', readOnly: true },
        ],
      },
      {
        name: 'aws-eks-nodeagent',
        image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-network-policy-agent:v1.1.5-eksbuild.1',
        args: ['--enable-network-policy=false'],
        securityContext: { capabilities: { add: ['NET_ADMIN'] }, privileged: true },
      },
    ],
    volumes: [
      { name: 'cni-bin-dir', hostPath: { path: '/opt/cni/bin', type: '' } },
      { name: 'run-dir', hostPath: { path: '/var/run/aws-node', type: 'DirectoryOrCreate' } },
      { name: 'aws-iam-token', projected: { sources: [{ serviceAccountToken: { audience: 'sts.amazonaws.com' } }] } },
    ],
  },
  status: {
    phase: 'Running',
    containerStatuses: [{ name: 'aws-node', restartCount: 2, ready: true }],
  },
  ...extra,
});

const IRSA_ENV = [
  { name: 'ENABLE_PREFIX_DELEGATION', value: 'true' },
  { name: 'WARM_PREFIX_TARGET', value: '1' },
  { name: 'MY_NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
  { name: 'AWS_ROLE_ARN', value: 'arn:aws:iam::111122223333:role/AmazonEKSVPCCNIRole' },
  { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' },
];

const fileOf = (path: string, item: FileRef['item']): FileRef => ({ path, item });
const doc = (value: unknown) => ({ kind: 'document' as const, line: 1, raw: '', value });

describe('value helpers', () => {
  it('parses booleans and integers the way Go does', () => {
    expect(parseGoBool('true')).toBe(true);
    expect(parseGoBool('True')).toBe(true);
    expect(parseGoBool('1')).toBe(true);
    expect(parseGoBool('FALSE')).toBe(false);
    expect(parseGoBool('yes')).toBeUndefined();
    expect(parseGoBool(undefined)).toBeUndefined();
    expect(parseGoInt('5')).toBe(5);
    expect(parseGoInt('-1')).toBe(-1);
    expect(parseGoInt('5 ')).toBeUndefined();
    expect(parseGoInt('2.5')).toBeUndefined();
    expect(parseGoInt('')).toBeUndefined();
  });

  it('reads CPU quantities and shares', () => {
    expect(parseCpuQuantity('25m')).toBe(25);
    expect(parseCpuQuantity('0.1')).toBe(100);
    expect(parseCpuQuantity('1')).toBe(1000);
    expect(parseCpuQuantity(2)).toBe(2000);
    expect(parseCpuQuantity('25Mi')).toBeUndefined();
    // MilliCPUToShares: 25m → 25 shares, 10m → 10 shares; no request → the 2-share minimum.
    expect(cpuRequestFromShares(25)).toBe(25);
    expect(cpuRequestFromShares(10)).toBe(10);
    expect(cpuRequestFromShares(102)).toBe(100);
    expect(cpuRequestFromShares(2)).toBe(0);
  });

  it('splits image references and tells EKS builds', () => {
    const eks = parseImage('602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1');
    expect(eks).toMatchObject({
      registry: '602401143452.dkr.ecr.us-west-2.amazonaws.com',
      repository: 'amazon-k8s-cni',
      tag: 'v1.19.2-eksbuild.1',
      version: { major: 1, minor: 19, patch: 2 },
      eksBuild: true,
    });
    const upstream = parseImage('public.ecr.aws/eks/amazon-k8s-cni:v1.18.3@sha256:0123abcd');
    expect(upstream).toMatchObject({ repository: 'amazon-k8s-cni', tag: 'v1.18.3', eksBuild: false });
    expect(parseImage('amazon-k8s-cni')).toMatchObject({ registry: undefined, tag: undefined, version: undefined });
    expect(versionAtLeast(eks, 1, 12)).toBe(true);
    expect(versionAtLeast(parseImage('x/amazon-k8s-cni:v1.11.4'), 1, 12)).toBe(false);
    expect(versionAtLeast(parseImage('x/amazon-k8s-cni:latest'), 1, 12)).toBeUndefined();
  });

  it('tells the containers apart by name, else by image', () => {
    expect(roleOf('aws-node', undefined)).toBe('aws-node');
    expect(roleOf(undefined, 'x/amazon-k8s-cni-init:v1.19.2')).toBe('aws-vpc-cni-init');
    expect(roleOf(undefined, 'x/amazon/aws-network-policy-agent:v1.1.5')).toBe('aws-eks-nodeagent');
    expect(roleOf('kube-proxy', 'x/amazon-k8s-cni:v1.19.2')).toBe('other');
  });
});

describe('containerFromCtrInfo', () => {
  it('reads the environment, image, capabilities, network namespace and CPU shares', () => {
    const view = containerFromCtrInfo(ctrInfo('2026-11-20T08:01:12.403535063Z', ['WARM_ENI_TARGET=1']), CTR_PATH);
    expect(view).toBeDefined();
    if (!view) return;
    expect(view.role).toBe('aws-node');
    expect(view.envComplete).toBe(true);
    expect(view.env.get('WARM_ENI_TARGET')?.value).toBe('1');
    expect(view.env.get('WARM_ENI_TARGET')?.evidence).toEqual({
      path: CTR_PATH,
      text: 'WARM_ENI_TARGET=1',
      note: 'Spec.process.env of aws-node (ctr container info)',
    });
    expect(view.env.get('MY_NODE_NAME')?.value).toBe('ip-10-0-1-23.us-west-2.compute.internal');
    expect(view.capabilities).toContain('NET_ADMIN');
    expect(view.privileged).toBe(false);
    expect(view.hostNetwork).toBe(true);
    expect(view.cpuShares).toBe(25);
    expect(view.cpuRequestMilli).toBe(25);
    expect(view.podName).toBe('aws-node-7xk2p');
    expect(view.mounts).toContainEqual({ mountPath: '/var/run/aws-node', hostPath: '/var/run/aws-node' });
  });

  it('keeps the first of duplicate variables, as Go does, and splits at the first "="', () => {
    const view = containerFromCtrInfo(
      ctrInfo('2026-11-20T08:01:12Z', ['ADDITIONAL_ENI_TAGS={"team":"a=b"}', 'WARM_IP_TARGET=5', 'WARM_IP_TARGET=9']),
      CTR_PATH,
    );
    expect(view?.env.get('WARM_IP_TARGET')?.value).toBe('5');
    expect(view?.env.get('ADDITIONAL_ENI_TAGS')?.value).toBe('{"team":"a=b"}');
  });

  it('sees a container with its own network namespace', () => {
    const info = ctrInfo('2026-11-20T08:01:12Z', []);
    info.Spec.linux.namespaces.push({ type: 'network', path: '/proc/4242/ns/net' });
    expect(containerFromCtrInfo(info, CTR_PATH)?.hostNetwork).toBe(false);
  });

  it('marks the environment incomplete when the spec is missing, and rejects what is not container info', () => {
    const bare = containerFromCtrInfo(
      { ID: 'abc', Labels: { 'io.kubernetes.container.name': 'aws-node' }, Image: 'x/amazon-k8s-cni:v1.19.2' },
      CTR_PATH,
    );
    expect(bare?.envComplete).toBe(false);
    expect(bare?.hostNetwork).toBeUndefined();
    expect(containerFromCtrInfo({ AvailableCommands: [] }, CTR_PATH)).toBeUndefined();
    expect(containerFromCtrInfo('ctr: container "x" in namespace "k8s.io": not found', CTR_PATH)).toBeUndefined();
    expect(containerFromCtrInfo([1, 2], CTR_PATH)).toBeUndefined();
  });
});

describe('containersFromDockerInspect', () => {
  // Trimmed from the `docker container inspect` output in awslabs/amazon-eks-ami PR #1245.
  const inspect = [
    {
      Id: 'fdc5f8fc29864322384c708a83f6f72080bb095a8230ab4a3763040490aaf222',
      Created: '2023-06-15T01:12:58.71597003Z',
      Path: '/app/entrypoint.sh',
      Name: '/k8s_aws-node_aws-node-n8v84_kube-system_7dc2e85a-6acd-4d2a-ad5e-06629a70b556_0',
      HostConfig: {
        Binds: [
          '/opt/cni/bin:/host/opt/cni/bin',
          '/var/run/dockershim.sock:/var/run/dockershim.sock',
          '/var/lib/kubelet/pods/7dc2e85a/volumes/kubernetes.io~projected/kube-api-access-tcvtp:/var/run/secrets/kubernetes.io/serviceaccount:ro',
        ],
        CapAdd: ['NET_ADMIN'],
        Privileged: false,
        CpuShares: 10,
        NetworkMode: 'container:8b1f0c4d',
      },
      Config: {
        Env: ['AWS_VPC_K8S_CNI_VETHPREFIX=eni', 'WARM_ENI_TARGET=1', 'PATH=/usr/local/sbin:/usr/bin'],
        Image: '602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.11.4-eksbuild.1',
        Labels: { 'io.kubernetes.container.name': 'aws-node', 'io.kubernetes.pod.namespace': 'kube-system' },
      },
    },
  ];

  it('reads Config.Env, binds, added capabilities and CPU shares', () => {
    const [view] = containersFromDockerInspect(inspect, DOCKER_PATH);
    expect(view?.role).toBe('aws-node');
    expect(view?.source).toBe('dockerd');
    expect(view?.env.get('AWS_VPC_K8S_CNI_VETHPREFIX')?.value).toBe('eni');
    expect(view?.capabilitiesAdd).toEqual(['NET_ADMIN']);
    expect(view?.cpuRequestMilli).toBe(10);
    expect(view?.podName).toBe('aws-node-n8v84');
    expect(view?.mounts).toContainEqual({
      mountPath: '/var/run/dockershim.sock',
      hostPath: '/var/run/dockershim.sock',
    });
    // The app container shares the sandbox's network namespace, so docker cannot tell hostNetwork.
    expect(view?.hostNetwork).toBeUndefined();
  });

  it('skips entries without Config and reads a single object too', () => {
    expect(containersFromDockerInspect([{ Id: 'x' }, 'Error: No such container: x'], DOCKER_PATH)).toEqual([]);
    expect(containersFromDockerInspect(inspect[0], DOCKER_PATH)).toHaveLength(1);
  });
});

describe('awsNodePodsFrom', () => {
  const list = {
    kind: 'PodList',
    apiVersion: 'v1',
    items: [
      {
        metadata: {
          name: 'aws-node-termination-handler-4kq9x',
          namespace: 'kube-system',
          labels: { 'k8s-app': 'nth' },
        },
        spec: { containers: [{ name: 'aws-node-termination-handler', image: 'x/nth:v1.22.0' }] },
      },
      awsNodePod('aws-node-7xk2p', 'ip-10-0-1-23.us-west-2.compute.internal', IRSA_ENV),
      'garbage',
      { metadata: { name: 'coredns-1' } },
    ],
  };

  it('finds the aws-node pod and reads its spec', () => {
    const pods = awsNodePodsFrom(list, PODS_PATH);
    expect(pods).toHaveLength(1);
    const pod = pods[0];
    expect(pod?.hostNetwork).toBe(true);
    expect(pod?.serviceAccountName).toBe('aws-node');
    expect(pod?.volumes.find((volume) => volume.name === 'aws-iam-token')?.kind).toBe('projected');
    const main = pod?.containers.find((container) => container.role === 'aws-node');
    expect(main?.env.get('MY_NODE_NAME')).toMatchObject({ valueFrom: 'fieldRef spec.nodeName', value: undefined });
    expect(main?.env.get('AWS_ROLE_ARN')?.evidence.text).toBe(
      '{"name":"AWS_ROLE_ARN","value":"arn:aws:iam::111122223333:role/AmazonEKSVPCCNIRole"}',
    );
    expect(main?.cpuRequestMilli).toBe(25);
    expect(main?.capabilitiesAdd).toEqual(['NET_ADMIN', 'NET_RAW']);
    expect(main?.probes.map((probe) => [probe.kind, probe.timeoutSeconds])).toEqual([
      ['liveness', 10],
      ['readiness', 10],
    ]);
    expect(main?.mounts).toContainEqual({
      mountPath: '/var/run/aws-node',
      volume: 'run-dir',
      hostPath: '/var/run/aws-node',
    });
    expect(main?.restartCount).toBe(2);
    const init = pod?.initContainers[0];
    expect(init?.role).toBe('aws-vpc-cni-init');
    expect(init?.privileged).toBe(true);
    expect(pod?.containers.find((container) => container.role === 'aws-eks-nodeagent')?.privileged).toBe(true);
  });

  it('reads a bare array and a single pod, and treats envFrom as hiding variables', () => {
    const withEnvFrom = awsNodePod('aws-node-abcde', 'n1', []);
    const container = withEnvFrom.spec.containers[0] as Record<string, unknown>;
    container.envFrom = [{ configMapRef: { name: 'cni-settings' } }];
    const [fromArray] = awsNodePodsFrom([withEnvFrom], PODS_PATH);
    expect(fromArray?.containers[0]?.envComplete).toBe(false);
    expect(fromArray?.containers[0]?.envFrom).toEqual(['configMap cni-settings']);
    expect(awsNodePodsFrom(withEnvFrom, PODS_PATH)).toHaveLength(1);
    expect(awsNodePodsFrom({ kind: 'PodList', items: 'nope' }, PODS_PATH)).toEqual([]);
    expect(awsNodePodsFrom(null, PODS_PATH)).toEqual([]);
  });
});

describe('introspectedSettings', () => {
  it('reads the endpoint answer and ignores the AvailableCommands fallback', () => {
    const settings = introspectedSettings(
      { WARM_ENI_TARGET: 1, WARM_IP_TARGET: 0, AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: false },
      'ipamd-env',
      'ipamd/ipamd-env-settings.json',
    );
    expect(settings.map((setting) => setting.evidence.text)).toEqual([
      '"WARM_ENI_TARGET": 1',
      '"WARM_IP_TARGET": 0',
      '"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": false',
    ]);
    expect(introspectedSettings({ AvailableCommands: ['/v1/enis'] }, 'ipamd-env', 'x')).toEqual([]);
    expect(introspectedSettings('', 'ipamd-env', 'x')).toEqual([]);
  });
});

describe('the collector and lookups', () => {
  it('reads the newest runtime container first, notes a disagreeing pod spec, and falls back to defaults', () => {
    const collector = createAwsNodeConfigCollector();
    const ctr = fileOf(CTR_PATH, 'cni-env-containerd');
    // A restart leaves the previous container's info before the current one's.
    collector.handlers['cni-env-containerd'](doc(ctrInfo('2026-11-19T10:00:00Z', ['WARM_IP_TARGET=2'])), ctr);
    collector.handlers['cni-env-containerd'](doc(ctrInfo('2026-11-20T08:01:12Z', ['WARM_IP_TARGET=5'])), ctr);
    collector.handlers['kubelet-pods'](
      doc({ items: [awsNodePod('aws-node-7xk2p', 'n1', [{ name: 'WARM_IP_TARGET', value: '7' }])] }),
      fileOf(PODS_PATH, 'kubelet-pods'),
    );
    const config = collector.config();
    expect(config.runtime).toHaveLength(2);
    expect(config.pod?.name).toBe('aws-node-7xk2p');
    const warmIp = lookupEnv(config, 'WARM_IP_TARGET');
    expect(warmIp).toMatchObject({ state: 'set', value: '5', source: 'containerd' });
    expect(warmIp.state === 'set' && warmIp.disagreement?.value).toBe('7');
    expect(envEvidence(warmIp)).toHaveLength(2);
    const warmEni = lookupEnv(config, 'WARM_ENI_TARGET');
    expect(warmEni).toMatchObject({ state: 'not-set', default: '1', source: 'containerd' });
    expect(effectiveValue(warmEni)).toBe('1');
    expect(describeEnv(warmEni)).toBe('WARM_ENI_TARGET not set (default 1)');
    expect(describeEnv(lookupEnv(config, 'MINIMUM_IP_TARGET'))).toBe('MINIMUM_IP_TARGET not set (no default)');
    // The init container is only in the pod spec.
    expect(lookupEnv(config, 'ENABLE_IPv6', 'aws-vpc-cni-init')).toMatchObject({ state: 'set', value: 'false' });
    expect(config.sources.map((source) => source.detail)).toEqual([
      '2 aws-node pod container(s) (the newest of each is read)',
      'aws-node pod kube-system/aws-node-7xk2p',
    ]);
  });

  it('uses what ipamd applied when no environment is in the bundle, and says unknown otherwise', () => {
    const collector = createAwsNodeConfigCollector();
    collector.handlers['ipamd-env'](
      doc({ WARM_ENI_TARGET: 1, WARM_IP_TARGET: 0 }),
      fileOf('ipamd/ipamd-env-settings.json', 'ipamd-env'),
    );
    collector.handlers['ipamd-networkutils-env'](
      doc({ AvailableCommands: ['/v1/enis'] }),
      fileOf('ipamd/networkutils-env-settings.json', 'ipamd-networkutils-env'),
    );
    const config = collector.config();
    expect(lookupEnv(config, 'WARM_IP_TARGET')).toMatchObject({ state: 'effective', value: '0' });
    expect(describeEnv(lookupEnv(config, 'WARM_ENI_TARGET'))).toBe('WARM_ENI_TARGET=1 as ipamd applied it');
    const veth = lookupEnv(config, 'AWS_VPC_K8S_CNI_VETHPREFIX');
    expect(veth).toEqual({ state: 'unknown', name: 'AWS_VPC_K8S_CNI_VETHPREFIX', default: 'eni' });
    expect(effectiveValue(veth)).toBeUndefined();
    expect(envEvidence(veth)).toEqual([]);
    expect(containerViews(config, 'aws-node')).toEqual([]);
    expect(missingConfigReason(config)).toBe(
      "aws-node's environment is not known: cni/cni-configuration-variables-containerd.json, cni/cni-configuration-variables-dockerd.txt, kubelet/pods.json are not in the bundle",
    );
    expect(config.sources.find((source) => source.source === 'networkutils-env')?.usable).toBe(false);
  });

  it('notes when ipamd reports another value than the environment holds', () => {
    const collector = createAwsNodeConfigCollector();
    collector.handlers['kubelet-pods'](
      doc({
        items: [
          awsNodePod('aws-node-7xk2p', 'n1', [
            { name: 'WARM_IP_TARGET', value: '3' },
            { name: 'WARM_ENI_TARGET', value: '1' },
          ]),
        ],
      }),
      fileOf(PODS_PATH, 'kubelet-pods'),
    );
    collector.handlers['ipamd-env'](
      doc({ WARM_ENI_TARGET: 1, WARM_IP_TARGET: 0 }),
      fileOf('ipamd/ipamd-env-settings.json', 'ipamd-env'),
    );
    const config = collector.config();
    expect(disagreementCaveat(lookupEnv(config, 'WARM_ENI_TARGET'))).toBeUndefined();
    expect(disagreementCaveat(lookupEnv(config, 'WARM_IP_TARGET'))).toBe(
      'WARM_IP_TARGET=3 per the pod spec, but ipamd introspection (/v1/ipamd-env-settings) says 0: the sources were taken at different times, or aws-node has not restarted since the change',
    );
  });

  it('reports valueFrom as a reference and an envFrom container as not telling', () => {
    const collector = createAwsNodeConfigCollector();
    const pod = awsNodePod('aws-node-7xk2p', 'n1', [...IRSA_ENV]);
    (pod.spec.containers[0] as Record<string, unknown>).envFrom = [{ secretRef: { name: 'cni-extra' } }];
    collector.handlers['kubelet-pods'](doc({ items: [pod] }), fileOf(PODS_PATH, 'kubelet-pods'));
    const config = collector.config();
    expect(lookupEnv(config, 'MY_NODE_NAME')).toMatchObject({ state: 'from-ref', ref: 'fieldRef spec.nodeName' });
    expect(lookupEnv(config, 'ANNOTATE_POD_IP')).toMatchObject({ state: 'unknown', default: 'false' });
    expect(lookupEnv(config, 'AWS_ROLE_ARN')).toMatchObject({ state: 'set', source: 'pod-spec' });
  });

  it("picks this node's pod from a cluster-wide list by node name, and none when it cannot tell", () => {
    const many = {
      items: [
        awsNodePod('aws-node-aaaaa', 'ip-10-0-9-9.us-west-2.compute.internal', []),
        awsNodePod('aws-node-bbbbb', 'ip-10-0-1-23.us-west-2.compute.internal', []),
      ],
    };
    const pick = (hostname?: string, revisions?: [string, string]) => {
      const collector = createAwsNodeConfigCollector();
      const copy = structuredClone(many);
      if (revisions) {
        for (const [index, pod] of copy.items.entries()) {
          pod.metadata.labels['controller-revision-hash'] = revisions[index] ?? '';
        }
      }
      collector.handlers['kubelet-pods'](doc(copy), fileOf(PODS_PATH, 'kubelet-pods'));
      return collector.config({ node: { hostname }, item: (id) => ({ present: id === 'kubelet-pods' }) });
    };
    expect(pick('ip-10-0-1-23')?.pod?.name).toBe('aws-node-bbbbb');
    // Same DaemonSet revision: any pod tells the spec.
    expect(pick()?.pod?.name).toBe('aws-node-aaaaa');
    const undecided = pick(undefined, ['1', '2']);
    expect(undecided.pod).toBeUndefined();
    expect(undecided.sources[0]?.detail).toBe("2 aws-node pods, none identifiable as this node's");
    expect(missingConfigReason(undecided)).toContain(
      "kubelet/pods.json: 2 aws-node pods, none identifiable as this node's",
    );
  });

  it('notes a file that is in the bundle but held no JSON (an error the collector captured)', () => {
    const collector = createAwsNodeConfigCollector();
    const config = collector.config({ node: {}, item: (id) => ({ present: id === 'cni-env-containerd' }) });
    expect(config.sources).toEqual([
      { source: 'containerd', path: CTR_PATH, detail: 'no JSON document in the file', usable: false },
    ]);
    expect(missingConfigReason(config)).toBe(
      "aws-node's environment is not known: cni/cni-configuration-variables-containerd.json: no JSON document in the file; cni/cni-configuration-variables-dockerd.txt, kubelet/pods.json are not in the bundle",
    );
  });

  it('notes files that hold no aws-node container', () => {
    const collector = createAwsNodeConfigCollector();
    collector.handlers['cni-env-containerd'](doc('not a container'), fileOf(CTR_PATH, 'cni-env-containerd'));
    collector.handlers['kubelet-pods'](
      doc({ items: [{ metadata: { name: 'x' }, spec: {} }] }),
      fileOf(PODS_PATH, 'kubelet-pods'),
    );
    const config = collector.config();
    expect(config.sources.map((source) => source.detail)).toEqual([
      'no aws-node container in the file',
      '1 pod(s) in 1 document(s), none of them aws-node',
    ]);
    expect(missingConfigReason(config)).toContain(`${CTR_PATH}: no aws-node container in the file`);
  });
});
