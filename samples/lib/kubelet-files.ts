/**
 * kubelet's files on an EKS node: its systemd unit with drop-ins (EKS AMIs and custom AMIs), its config and its
 * kubeconfig. Sample bundles print the unit as `systemctl cat kubelet`; simulated nodes write the files under --root.
 */
import { hostnameOf, type NodeProfile } from './node.ts';
import { createRandom } from './random.ts';

/**
 * `al2023` and `al2` are the EKS AMIs' units, which reset the FORWARD policy to ACCEPT before kubelet starts; the
 * custom AMIs' units do not (`custom-minimal` even lacks the iptables userspace).
 */
export type KubeletUnitKind = 'al2023' | 'al2' | 'custom-no-forward-accept' | 'custom-minimal';

export interface UnitFile {
  /** Absolute, as `systemctl cat` prints it. */
  path: string;
  content: string;
}

/** What the AL2 unit's drop-ins name: the node's address and hostname, its cluster and AMI, a launch template id. */
export type KubeletUnitNode = Pick<NodeProfile, 'seed' | 'region' | 'privateIp' | 'clusterName' | 'amiId'>;

const UNIT_PATH = '/etc/systemd/system/kubelet.service';
const DROP_IN_DIR = `${UNIT_PATH}.d`;
const FORWARD_ACCEPT = 'ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5';
const NODEADM_ENVIRONMENT = 'EnvironmentFile=/etc/eks/kubelet/environment';
const NODEADM_EXEC_START = 'ExecStart=/usr/bin/kubelet $NODEADM_KUBELET_ARGS';

/** The `[Unit]`/`[Service]`/`[Install]` skeleton every kubelet.service here shares; the AMIs differ in the middle. */
function kubeletService(parts: { comment?: string; unit: string[]; service: string[]; limits?: string[] }): string {
  return [
    ...(parts.comment === undefined ? [] : [parts.comment]),
    '[Unit]',
    'Description=Kubernetes Kubelet',
    'Documentation=https://github.com/kubernetes/kubernetes',
    ...parts.unit,
    '',
    '[Service]',
    'Slice=runtime.slice',
    ...parts.service,
    'Restart=on-failure',
    'RestartForceExitStatus=SIGPIPE',
    'RestartSec=5',
    'KillMode=process',
    'CPUAccounting=true',
    'MemoryAccounting=true',
    ...(parts.limits ?? []),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** kubelet.service and its drop-ins, in the order systemd reads them. */
export function kubeletUnitFiles(
  kind: KubeletUnitKind,
  node: KubeletUnitNode,
  extra?: { nodegroup: string; amiId: string; maxPods: number },
): UnitFile[] {
  if (kind === 'al2023') {
    // amazon-eks-ami: templates/al2023/runtime/rootfs/etc/systemd/system/kubelet.service
    const content = kubeletService({
      unit: ['After=containerd.service', 'Wants=containerd.service'],
      service: [NODEADM_ENVIRONMENT, FORWARD_ACCEPT, NODEADM_EXEC_START, ''],
    });
    return [{ path: UNIT_PATH, content }];
  }
  if (kind === 'al2') {
    const pause = `602401143452.dkr.ecr.${node.region}.amazonaws.com/eks/pause:3.5`;
    const nodegroup = extra?.nodegroup ?? 'ng-default';
    const content = kubeletService({
      unit: ['After=containerd.service sandbox-image.service', 'Requires=containerd.service sandbox-image.service'],
      service: [
        FORWARD_ACCEPT,
        'ExecStart=/usr/bin/kubelet \\',
        '    --config /etc/kubernetes/kubelet/kubelet-config.json \\',
        '    --kubeconfig /var/lib/kubelet/kubeconfig \\',
        '    --container-runtime-endpoint unix:///run/containerd/containerd.sock \\',
        '    --image-credential-provider-config /etc/eks/image-credential-provider/config.json \\',
        '    --image-credential-provider-bin-dir /etc/eks/image-credential-provider \\',
        '    $KUBELET_ARGS \\',
        '    $KUBELET_EXTRA_ARGS',
        '',
      ],
    });
    return [
      { path: UNIT_PATH, content },
      {
        path: `${DROP_IN_DIR}/10-kubelet-args.conf`,
        content: `[Service]
Environment='KUBELET_ARGS=--node-ip=${node.privateIp} --pod-infra-container-image=${pause} --v=2 --hostname-override=${hostnameOf(node)} --cloud-provider=external'
`,
      },
      {
        path: `${DROP_IN_DIR}/30-kubelet-extra-args.conf`,
        content: `[Service]
Environment='KUBELET_EXTRA_ARGS=--node-labels=eks.amazonaws.com/sourceLaunchTemplateVersion=1,alpha.eksctl.io/cluster-name=${node.clusterName},alpha.eksctl.io/nodegroup-name=${nodegroup},eks.amazonaws.com/nodegroup-image=${extra?.amiId ?? node.amiId},eks.amazonaws.com/capacityType=ON_DEMAND,eks.amazonaws.com/nodegroup=${nodegroup},eks.amazonaws.com/sourceLaunchTemplateId=lt-0${createRandom(node.seed).hex(16)} --max-pods=${extra?.maxPods ?? 29}'
`,
      },
    ];
  }
  if (kind === 'custom-minimal') {
    const content = kubeletService({
      comment:
        '# platform-images/eks-node-minimal (AL2023 minimal, no iptables userspace: kube-proxy and aws-node bring their own)',
      unit: ['After=containerd.service', 'Wants=containerd.service'],
      service: [NODEADM_ENVIRONMENT, NODEADM_EXEC_START],
    });
    return [{ path: UNIT_PATH, content }];
  }
  const content = kubeletService({
    comment: '# Managed by platform-images/eks-node (Packer build al2023-hardened-2025.03.2). Do not edit on the node.',
    unit: ['After=containerd.service iptables.service', 'Wants=containerd.service', 'Requires=iptables.service'],
    service: [NODEADM_ENVIRONMENT, NODEADM_EXEC_START],
    limits: ['LimitNOFILE=1048576'],
  });
  return [
    { path: UNIT_PATH, content },
    {
      path: `${DROP_IN_DIR}/10-platform-logging.conf`,
      content: '[Service]\nStandardOutput=journal\nStandardError=journal\nLogRateLimitIntervalSec=0\n',
    },
  ];
}

/** `systemctl cat`: each file preceded by `# <path>`, files separated by a blank line. */
export function systemctlCat(files: UnitFile[]): string {
  return files.map((file) => `# ${file.path}\n${file.content}`).join('\n');
}

export function kubeletUnit(
  kind: KubeletUnitKind,
  node: KubeletUnitNode,
  extra?: { nodegroup: string; amiId: string; maxPods: number },
): string {
  return systemctlCat(kubeletUnitFiles(kind, node, extra));
}

/** Both AMIs' kubelet configs: the API server authenticates to kubelet with a client cert, callers by webhook. */
const WEBHOOK_AUTH = {
  authentication: {
    anonymous: { enabled: false },
    webhook: { cacheTTL: '2m0s', enabled: true },
    x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' },
  },
  authorization: { mode: 'Webhook', webhook: { cacheAuthorizedTTL: '5m0s', cacheUnauthorizedTTL: '30s' } },
};

const TLS_CIPHER_SUITES = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_RSA_WITH_AES_128_GCM_SHA256',
];

/** `/etc/kubernetes/kubelet/config.json` as nodeadm writes it on AL2023. */
export function kubeletConfigJson(
  node: Pick<NodeProfile, 'clusterDnsIp' | 'availabilityZone' | 'instanceId'>,
  maxPods: number,
  kubeReserved: { cpu: string; memory: string },
): string {
  const config = {
    address: '0.0.0.0',
    ...WEBHOOK_AUTH,
    cgroupDriver: 'systemd',
    cgroupRoot: '/',
    clusterDNS: [node.clusterDnsIp],
    clusterDomain: 'cluster.local',
    containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock',
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '10%', 'nodefs.inodesFree': '5%' },
    featureGates: { RotateKubeletServerCertificate: true },
    hairpinMode: 'hairpin-veth',
    kubeReserved: { cpu: kubeReserved.cpu, 'ephemeral-storage': '1Gi', memory: kubeReserved.memory },
    kubeReservedCgroup: '/runtime',
    logging: { verbosity: 2 },
    maxPods,
    protectKernelDefaults: true,
    providerID: `aws:///${node.availabilityZone}/${node.instanceId}`,
    readOnlyPort: 0,
    serializeImagePulls: false,
    serverTLSBootstrap: true,
    shutdownGracePeriod: '2m30s',
    shutdownGracePeriodCriticalPods: '30s',
    systemReservedCgroup: '/system',
    tlsCipherSuites: TLS_CIPHER_SUITES,
    kind: 'KubeletConfiguration',
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
  };
  return `${JSON.stringify(config, null, 4)}\n`;
}

/** `/etc/kubernetes/kubelet/kubelet-config.json` on the AL2 AMI after bootstrap.sh (jq rewrites it on one line). */
export function al2KubeletConfigJson(
  node: Pick<NodeProfile, 'clusterDnsIp' | 'availabilityZone' | 'instanceId'>,
  maxPods: number,
): string {
  const config = {
    kind: 'KubeletConfiguration',
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    address: '0.0.0.0',
    ...WEBHOOK_AUTH,
    clusterDomain: 'cluster.local',
    hairpinMode: 'hairpin-veth',
    readOnlyPort: 0,
    cgroupDriver: 'systemd',
    cgroupRoot: '/',
    featureGates: { RotateKubeletServerCertificate: true },
    protectKernelDefaults: true,
    serializeImagePulls: false,
    serverTLSBootstrap: true,
    tlsCipherSuites: TLS_CIPHER_SUITES,
    clusterDNS: [node.clusterDnsIp],
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '10%', 'nodefs.inodesFree': '5%' },
    kubeReserved: { cpu: '70m', 'ephemeral-storage': '1Gi', memory: '442Mi' },
    providerID: `aws:///${node.availabilityZone}/${node.instanceId}`,
    systemReservedCgroup: '/system',
    kubeReservedCgroup: '/runtime',
    maxPods,
  };
  const json = JSON.stringify(config, null, 2);
  // `echo $(jq …)` collapses the pretty print onto one line with single spaces.
  return `${json.replace(/\s*\n\s*/g, ' ')}\n`;
}

/**
 * kubelet's kubeconfig: nodeadm's (AL2023) or bootstrap.sh's (AL2). Credentials come from a token command at run time;
 * `certificateAuthorityData` inlines the CA instead of pointing at the file, as hand-written kubeconfigs do.
 */
export function kubeconfigYaml(
  node: Pick<NodeProfile, 'os' | 'apiServerEndpoint' | 'clusterName' | 'region'>,
  options: { certificateAuthorityData?: string } = {},
): string {
  const certificateAuthority =
    options.certificateAuthorityData === undefined
      ? 'certificate-authority: /etc/kubernetes/pki/ca.crt'
      : `certificate-authority-data: ${options.certificateAuthorityData}`;
  if (node.os === 'al2023') {
    return `---
apiVersion: v1
kind: Config
clusters:
  - name: kubernetes
    cluster:
      ${certificateAuthority}
      server: ${node.apiServerEndpoint}
current-context: kubelet
contexts:
  - name: kubelet
    context:
      cluster: kubernetes
      user: kubelet
users:
  - name: kubelet
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: aws
        args:
          - "eks"
          - "get-token"
          - "--cluster-name"
          - "${node.clusterName}"
          - "--region"
          - "${node.region}"
`;
  }
  return `apiVersion: v1
kind: Config
clusters:
- cluster:
    ${certificateAuthority}
    server: ${node.apiServerEndpoint}
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubelet
  name: kubelet
current-context: kubelet
users:
- name: kubelet
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: /usr/bin/aws-iam-authenticator
      args:
        - "token"
        - "-i"
        - "${node.clusterName}"
        - --region
        - "${node.region}"
`;
}
