/** Kubelet and container runtime: journals, units, configs, the runtime's view of containers. */
import { command, derived, file, glob, journal, KiB, MiB } from './define.ts';

export const kubeletRuntimeItems = [
  journal('kubelet-log', 'kubelet', 'Probe failures, CNI readiness, pod sync errors, the kubelet version line.', {
    priority: 1,
    maxBytes: 256 * MiB,
  }),
  command(
    'kubelet-unit',
    ['systemctl', 'cat', 'kubelet'],
    'Whether ExecStartPre sets iptables -P FORWARD ACCEPT; drop-ins.',
    {
      priority: 1,
      maxBytes: 256 * KiB,
    },
    [0, 1],
  ),
  file('kubelet-environment', '/etc/eks/kubelet/environment', 'Kubelet arguments nodeadm writes (AL2023).', {
    maxBytes: 256 * KiB,
    tail: false,
  }),
  file(
    'kubelet-config',
    '/etc/kubernetes/kubelet/config.json',
    'Kubelet configuration (maxPods, eviction, cgroup driver).',
    {
      maxBytes: 1 * MiB,
      tail: false,
    },
  ),
  file('kubelet-config-legacy', '/etc/kubernetes/kubelet/kubelet-config.json', 'Kubelet configuration on AL2.', {
    maxBytes: 1 * MiB,
    tail: false,
  }),
  glob('kubelet-config-dropins', '/etc/kubernetes/kubelet/config.json.d/*', 'Kubelet configuration drop-ins.', {
    maxBytes: 1 * MiB,
  }),
  file('kubelet-kubeconfig', '/var/lib/kubelet/kubeconfig', 'API server endpoint and auth method (secrets redacted).', {
    maxBytes: 256 * KiB,
    tail: false,
    redact: ['kubeconfig'],
  }),
  derived(
    'kubelet-pods',
    'kubelet-pods',
    "The node's own pods from the API server with the kubelet's kubeconfig: aws-node's resources, probes and env.",
    { priority: 2, timeoutMs: 20_000, maxBytes: 16 * MiB },
  ),
  journal(
    'containerd-log',
    'containerd',
    'Sandbox and container start failures, CNI ADD errors as containerd saw them.',
    {
      maxBytes: 64 * MiB,
    },
  ),
  command(
    'containerd-unit',
    ['systemctl', 'cat', 'containerd'],
    'Runtime unit and drop-ins.',
    { maxBytes: 256 * KiB },
    [0, 1],
  ),
  command(
    'containerd-config',
    ['containerd', 'config', 'dump'],
    'Effective runtime configuration (sandbox image, CNI dirs).',
    {
      maxBytes: 1 * MiB,
    },
  ),
  command('containerd-version', ['ctr', 'version'], 'Runtime version.', { maxBytes: 64 * KiB }),
  command(
    'containerd-containers',
    ['ctr', '--namespace', 'k8s.io', 'containers', 'list'],
    'Containers the runtime knows.',
    {
      maxBytes: 4 * MiB,
    },
  ),
  command('crictl-pods', ['crictl', 'pods'], 'Pod sandboxes on the node (names, states, namespaces).', {
    maxBytes: 4 * MiB,
  }),
  command('crictl-containers', ['crictl', 'ps', '--all'], 'Containers with restart attempts and states.', {
    maxBytes: 4 * MiB,
  }),
  journal('sandbox-image-log', 'sandbox-image', 'Pause image pulls (AL2).', { maxBytes: 4 * MiB, priority: 3 }),
  journal('nodeadm-config-log', 'nodeadm-config', 'Node bootstrap configuration (AL2023).', {
    maxBytes: 8 * MiB,
    priority: 3,
  }),
  journal('nodeadm-run-log', 'nodeadm-run', 'Node bootstrap run (AL2023).', { maxBytes: 8 * MiB, priority: 3 }),
];
