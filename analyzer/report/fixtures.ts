/**
 * Report fixtures shared by the renderer tests and the browser test. `realisticReport` reads like a real incident
 * (aws-node probe failures on a CPU-starved node); `hostileReport` carries bundle text written to break renderers;
 * `minimalReport` has nothing but the required fields, as an analyzer run over an unreadable archive produces.
 * Each call returns a fresh object so a test may mutate its copy.
 */
import { REPORT_SCHEMA, type Report, type RuleResult } from './model.ts';

const KUBELET_LOG = 'kubelet/kubelet.log';
const POD = 'kube-system/aws-node-x7k2p';

function kubeletLine(time: string, pid: string, text: string): string {
  return `Nov 26 ${time} ip-10-0-1-23.ec2.internal kubelet[2817]: I1126 ${time}.${pid}    2817 ${text}`;
}

export function realisticReport(): Report {
  const probeFailures: RuleResult = {
    id: 'kubelet-probe-failures',
    title: 'Health probes of a kube-system pod are failing',
    severity: 'critical',
    verdict: 'fail',
    messageId: 'probeFailures',
    summary:
      'Kubelet recorded 47 readiness and 12 liveness probe failures of `kube-system/aws-node-x7k2p` between 09:41 and ' +
      '10:12 UTC and restarted the container 3 times.',
    rationale:
      'aws-node assigns IP addresses to new pods and programs their routes. While it is not ready, pods scheduled on ' +
      'this node wait in ContainerCreating, and each restart repeats its start-up work on an already busy CPU.',
    evidence: [
      {
        path: KUBELET_LOG,
        line: 84117,
        time: '2026-11-26T09:41:07.312671Z',
        highlight: true,
        text: kubeletLine(
          '09:41:07',
          '312671',
          `prober.go:107] "Probe failed" probeType="Readiness" pod="${POD}" podUID="3f6c1e0a-8b5d-4c2e-9a71-0d4e2b7c9f13" containerName="aws-node" probeResult="failure" output=<`,
        ),
      },
      {
        path: KUBELET_LOG,
        line: 84118,
        time: '2026-11-26T09:41:07.312671Z',
        highlight: true,
        text: 'Nov 26 09:41:07 ip-10-0-1-23.ec2.internal kubelet[2817]:         timeout: failed to connect service ":50051" within 5s',
      },
      {
        path: KUBELET_LOG,
        line: 84119,
        text: 'Nov 26 09:41:07 ip-10-0-1-23.ec2.internal kubelet[2817]:  >',
      },
      {
        path: KUBELET_LOG,
        line: 86402,
        time: '2026-11-26T09:52:14.100512Z',
        highlight: true,
        note: '57 more failures like this, to 10:12:44',
        text: kubeletLine(
          '09:52:14',
          '100512',
          `prober.go:107] "Probe failed" probeType="Liveness" pod="${POD}" podUID="3f6c1e0a-8b5d-4c2e-9a71-0d4e2b7c9f13" containerName="aws-node" probeResult="failure" output=<`,
        ),
      },
      {
        path: KUBELET_LOG,
        line: 86405,
        time: '2026-11-26T09:52:14.100733Z',
        highlight: true,
        text: kubeletLine(
          '09:52:14',
          '100733',
          `kuberuntime_manager.go:1073] "Message for Container of pod" containerName="aws-node" pod="${POD}" containerMessage="Container aws-node failed liveness probe, will be restarted"`,
        ),
      },
    ],
    facts: [
      { label: 'Readiness failures', value: '47' },
      { label: 'Liveness failures', value: '12' },
      { label: 'Restarts', value: '3 (09:52:14, 10:01:31, 10:09:02)', path: KUBELET_LOG, line: 86405 },
      { label: 'Window', value: '09:41:07–10:12:44 UTC' },
    ],
    tables: [
      {
        caption: 'Probe failures per pod, container and probe type',
        columns: ['Pod', 'Container', 'Probe', 'Failures', 'First', 'Last'],
        rows: [
          [POD, 'aws-node', 'Readiness', '47', '09:41:07', '10:12:44'],
          [POD, 'aws-node', 'Liveness', '12', '09:44:02', '10:12:40'],
          ['kube-system/kube-proxy-9qz4m', 'kube-proxy', 'Readiness', '2', '09:58:11', '09:58:41'],
        ],
      },
    ],
    remediation: [
      'Fix CPU saturation on the node first; the failures began when CPU pressure rose.',
      'Check that aws-node is ready now and its restart count no longer grows: `kubectl -n kube-system get pod aws-node-x7k2p -o wide`',
      'Read the last log of the restarted container: `kubectl -n kube-system logs aws-node-x7k2p -c aws-node --previous --tail=100`',
      'If aws-node has a CPU limit, remove it (`kubectl -n kube-system edit daemonset aws-node`); the default manifest sets only a request.',
    ],
    caveats: ['Only the last 10 days of the kubelet journal were collected.'],
    references: [
      {
        title: 'Kubernetes: configure liveness, readiness and startup probes',
        url: 'https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/',
      },
      {
        title: 'VPC CNI troubleshooting guide',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md',
      },
    ],
    inputs: [KUBELET_LOG],
  };

  const forwardDrop: RuleResult = {
    id: 'forward-policy-drop',
    title: 'iptables FORWARD policy is DROP',
    severity: 'warning',
    verdict: 'fail',
    messageId: 'drop',
    summary:
      "The filter table's FORWARD chain drops by default and has dropped 2,417 packets; the kubelet unit lacks the " +
      '`iptables -P FORWARD ACCEPT` step that EKS-optimized AMIs run.',
    rationale:
      'With the VPC CNI, pod traffic is routed through the host, so a DROP policy silently discards pod traffic that ' +
      'no other rule accepts.',
    evidence: [
      { path: 'networking/iptables-save.txt', line: 2, text: '*filter' },
      { path: 'networking/iptables-save.txt', line: 3, text: ':INPUT ACCEPT [4128733:2211894120]' },
      { path: 'networking/iptables-save.txt', line: 4, text: ':FORWARD DROP [2417:145020]', highlight: true },
      { path: 'networking/iptables-save.txt', line: 5, text: ':OUTPUT ACCEPT [3987120:1644021877]' },
      {
        path: 'kubelet/kubelet_service.txt',
        text: 'ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5',
        note: 'absent: expected in the [Service] section',
        highlight: true,
      },
    ],
    facts: [
      { label: 'Policy', value: 'DROP', path: 'networking/iptables-save.txt', line: 4 },
      { label: 'Dropped by policy', value: '2,417 packets (145,020 bytes)' },
    ],
    tables: [],
    remediation: [
      'On the node, restore forwarding now (lost at reboot): `sudo iptables -P FORWARD ACCEPT -w 5`',
      'Make it permanent in the custom AMI: add `ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5` to the `[Service]` section of `kubelet.service`, rebuild the AMI and replace the nodes.',
    ],
    caveats: [],
    references: [
      {
        title: 'EKS-optimized AMI: kubelet.service',
        url: 'https://github.com/awslabs/amazon-eks-ami/blob/main/templates/al2023/runtime/rootfs/etc/systemd/system/kubelet.service',
      },
    ],
    inputs: ['networking/iptables-save.txt', 'kubelet/kubelet_service.txt'],
  };

  const ipForward: RuleResult = {
    id: 'ip-forward-enabled',
    title: 'IPv4 forwarding is enabled',
    severity: 'critical',
    verdict: 'pass',
    messageId: 'enabled',
    summary: '`net.ipv4.ip_forward = 1`, as pod networking needs.',
    evidence: [{ path: 'sysctls/sysctl_all.txt', line: 1187, text: 'net.ipv4.ip_forward = 1', highlight: true }],
    facts: [],
    tables: [],
    remediation: [],
    caveats: [],
    references: [],
    inputs: ['sysctls/sysctl_all.txt'],
  };

  const rpFilter: RuleResult = {
    id: 'rp-filter-loose',
    title: 'Reverse-path filtering is loose on the primary ENI',
    severity: 'warning',
    verdict: 'pass',
    summary: 'rp_filter is 2 (loose) on eth0, as the VPC CNI sets it.',
    evidence: [
      { path: 'sysctls/sysctl_all.txt', line: 1342, text: 'net.ipv4.conf.eth0.rp_filter = 2', highlight: true },
    ],
    facts: [{ label: 'eth0 rp_filter', value: '2 (loose)' }],
    tables: [],
    remediation: [],
    caveats: [],
    references: [],
    inputs: ['sysctls/sysctl_all.txt'],
  };

  const eniCapacity: RuleResult = {
    id: 'eni-ip-capacity',
    title: 'ENI IP capacity is not exhausted',
    severity: 'critical',
    verdict: 'not-evaluated',
    summary: 'The ENI state from ipamd was not collected.',
    reason:
      'Input `ipamd/enis.json` timed out: GET http://localhost:61679/v1/enis gave no response within 5 s while aws-node was restarting. Collect again once aws-node is ready.',
    evidence: [],
    facts: [],
    tables: [],
    remediation: [],
    caveats: [],
    references: [],
    inputs: ['ipamd/enis.json'],
  };

  const ipamdErrors: RuleResult = {
    id: 'ipamd-log-errors',
    title: 'ipamd logs no allocation errors',
    severity: 'warning',
    verdict: 'not-evaluated',
    summary: 'The ipamd log was cut short.',
    reason:
      'Input `var_log/aws-routed-eni/ipamd.log` is truncated: the archive ends inside it, and the kept part starts at 10:03:17, after the incident began.',
    evidence: [],
    facts: [],
    tables: [],
    remediation: [],
    caveats: ['The archive ends inside this member.'],
    references: [],
    inputs: ['var_log/aws-routed-eni/ipamd.log'],
  };

  return {
    schema: REPORT_SCHEMA,
    tool: { name: 'eks-node-diag', version: '0.1.0' },
    generatedAt: '2026-11-26T10:21:47.000Z',
    bundle: {
      source: 'eks_i-0a1b2c3d4e5f60718_2026-11-26_1014-UTC_0.1.0.tar.gz',
      layout: 'eks-node-diag',
      collector: { name: 'eks-node-diag', version: '0.1.0', createdAt: '2026-11-26T10:14:03.000Z' },
      node: {
        instanceId: 'i-0a1b2c3d4e5f60718',
        hostname: 'ip-10-0-1-23.ec2.internal',
        region: 'us-east-1',
        availabilityZone: 'us-east-1a',
        instanceType: 'm5.large',
        amiId: 'ami-0c1d2e3f4a5b6c7d8',
        kernel: '6.1.155-176.282.amzn2023.x86_64',
        os: 'Amazon Linux 2023.9.20251117',
        architecture: 'x86_64',
        cpuCount: 2,
        kubeletVersion: 'v1.31.2-eks-94953ac',
        containerdVersion: '1.7.22',
        vpcCniVersion: 'v1.19.2-eksbuild.1',
      },
      errors: [
        {
          code: 'ENDIAG_ARCHIVE_TRUNCATED',
          member: 'var_log/aws-routed-eni/ipamd.log',
          message:
            'The archive ends 41.2 MiB into var_log/aws-routed-eni/ipamd.log; 212 entries kept; rules needing it are not evaluated.',
        },
        {
          code: 'ENDIAG_LONG_LINES',
          member: 'kubelet/kubelet.log',
          message: '3 lines are longer than 64 KiB and were cut at 64 KiB.',
        },
      ],
      inventory: [
        {
          path: 'manifest.json',
          bytes: 18_433,
          lines: 612,
          state: 'read',
        },
        {
          path: KUBELET_LOG,
          itemId: 'kubelet-log',
          bytes: 19_293_184,
          lines: 90_211,
          state: 'read',
          collectedStatus: 'ok',
          longLines: 3,
        },
        {
          path: 'kubelet/kubelet_service.txt',
          itemId: 'kubelet-unit',
          bytes: 612,
          lines: 21,
          state: 'read',
          collectedStatus: 'ok',
        },
        {
          path: 'networking/iptables-save.txt',
          itemId: 'iptables-save',
          bytes: 42_188,
          lines: 611,
          state: 'read',
          collectedStatus: 'ok',
        },
        {
          path: 'sysctls/sysctl_all.txt',
          itemId: 'sysctl-all',
          bytes: 73_216,
          lines: 2_104,
          state: 'read',
          collectedStatus: 'ok',
          unparsedLines: 2,
        },
        {
          path: 'ipamd/enis.json',
          itemId: 'ipamd-enis',
          bytes: 0,
          state: 'skipped',
          collectedStatus: 'timeout',
          collectedReason: 'GET http://localhost:61679/v1/enis: no response within 5 s',
        },
        {
          path: 'var_log/aws-routed-eni/ipamd.log',
          member: 'eks_i-0a1b2c3d4e5f60718/var_log/aws-routed-eni/ipamd.log',
          itemId: 'ipamd-log',
          bytes: 43_201_331,
          lines: 212,
          state: 'truncated',
          collectedStatus: 'ok',
        },
        {
          path: 'networking/conntrack.txt',
          itemId: 'conntrack-stats',
          bytes: 0,
          state: 'not-parsed',
          collectedStatus: 'skipped',
          collectedReason: 'conntrack is not installed',
        },
      ],
      bytesRead: 62_644_563,
      durationMs: 1_843,
    },
    summary: { critical: 1, warning: 1, info: 0, passed: 2, notEvaluated: 2, rules: 6 },
    rules: [probeFailures, forwardDrop, ipForward, rpFilter, eniCapacity, ipamdErrors],
  };
}

/** Strings a hostile bundle can plant in any text field. The tests look for each of them, verbatim, as text. */
export const hostileStrings = {
  script: '<script>alert(1)</script>',
  img: '<img src=x onerror=alert(1)>',
  template: '{{constructor}}',
  templateBlock: '{{#each this}}{{this}}{{/each}}',
  attributeBreak: '"><svg onload=alert(1)>',
  markdownLink: '[click me](javascript:alert(1))',
  /** Clears the screen, moves the cursor home and turns the text red. */
  ansi: '\u001b[2J\u001b[H\u001b[31mRED\u001b[0m',
  /** Sets the terminal window title (OSC 0), ended by BEL. */
  osc: '\u001b]0;pwned\u0007',
  /** A single-byte C1 CSI (0x9b) that some terminals honour like ESC [. */
  c1: '\u009b31m',
  /** Right-to-left override: makes following text display reversed. */
  bidi: '\u202etxt.exe',
  backticks: '```` ``` `',
} as const;

export const LONG_LINE_LENGTH = 100_000;

export function hostileReport(): Report {
  const h = hostileStrings;
  const longLine = `{"msg":"${'A'.repeat(LONG_LINE_LENGTH - 40)}${h.script}"}`;
  const hostilePath = `var_log/${h.attributeBreak}/${h.img}.log`;
  return {
    schema: REPORT_SCHEMA,
    tool: { name: 'eks-node-diag', version: '0.1.0' },
    generatedAt: 'not a date',
    bundle: {
      source: `bundle ${h.script}.tar.gz`,
      layout: 'unknown',
      collector: { name: h.img, version: h.template, interrupted: true },
      node: {
        hostname: h.script,
        instanceId: h.img,
        instanceType: h.template,
        kernel: `${h.ansi}${h.osc}`,
        os: h.bidi,
      },
      errors: [
        {
          code: 'ENDIAG_UNSAFE_MEMBER_NAME',
          member: `../../etc/${h.script}\r\n${h.ansi}`,
          message: `Member name escapes the bundle: ${h.markdownLink} ${h.c1}`,
        },
        { code: 'ENDIAG_LONG_LINES', message: `1 line is longer than 64 KiB ${h.backticks}` },
      ],
      inventory: [
        {
          path: hostilePath,
          member: `${h.templateBlock}|pipe|`,
          itemId: h.img,
          bytes: 102_400,
          lines: 1,
          state: 'read',
          collectedStatus: 'error',
          collectedReason: `${h.ansi} ${h.script}`,
          longLines: 1,
        },
      ],
      bytesRead: 102_400,
      durationMs: 12,
    },
    summary: { critical: 1, warning: 0, info: 0, passed: 1, notEvaluated: 1, rules: 3 },
    rules: [
      {
        id: 'hostile-evidence',
        title: `Title with ${h.script}`,
        severity: 'critical',
        verdict: 'fail',
        rationale: `${h.script}${h.ansi}`,
        summary: `Summary with ${h.img} and ${h.markdownLink} and *stars* and | pipes | and \`code ${h.script}\`.`,
        evidence: [
          { path: hostilePath, line: 1, text: longLine, highlight: true },
          {
            path: hostilePath,
            line: 2,
            text: `${h.script} ${h.img} ${h.template} ${h.templateBlock}`,
            highlight: true,
          },
          { path: hostilePath, line: 3, text: `${h.ansi}${h.osc}${h.c1} ${h.bidi}`, note: h.img },
          { path: hostilePath, line: 4, text: `fence ${h.backticks} inside\nnewline`, time: h.script },
        ],
        facts: [{ label: h.script, value: h.img, path: hostilePath, line: 2 }],
        tables: [
          {
            caption: h.script,
            columns: [h.img, 'a|b'],
            rows: [[h.templateBlock, `${h.markdownLink} | ${h.ansi}`], ['short row']],
          },
        ],
        remediation: [
          `Run: \`echo "${h.script}" | grep ${h.backticks}\``,
          `Unbalanced \` backtick then ${h.img}`,
          h.markdownLink,
        ],
        caveats: [h.img],
        references: [
          { title: h.script, url: 'javascript:alert(1)' },
          { title: 'data URL', url: 'data:text/html,<script>alert(1)</script>' },
          { title: 'Fine', url: 'https://example.com/?q=<script>' },
        ],
        inputs: [hostilePath],
      },
      {
        id: 'hostile-pass',
        title: h.template,
        severity: 'info',
        verdict: 'pass',
        summary: `Passed on ${h.img}`,
        evidence: [{ path: hostilePath, text: h.script }],
        facts: [],
        tables: [],
        remediation: [],
        caveats: [],
        references: [],
        inputs: [],
      },
      {
        id: 'hostile-not-evaluated',
        title: h.osc,
        severity: 'warning',
        verdict: 'not-evaluated',
        summary: h.ansi,
        reason: `Input ${h.script} failed: ${h.ansi}`,
        evidence: [],
        facts: [],
        tables: [],
        remediation: [],
        caveats: [],
        references: [],
        inputs: [hostilePath],
      },
    ],
  };
}

/** Only what the model requires: no node identity, no rules, an unknown layout and an unreadable archive. */
export function minimalReport(): Report {
  return {
    schema: REPORT_SCHEMA,
    tool: { name: 'eks-node-diag', version: '0.1.0' },
    generatedAt: '2026-11-26T10:21:47.000Z',
    bundle: {
      source: 'garbage.bin',
      layout: 'unknown',
      node: {},
      errors: [{ code: 'ENDIAG_NOT_AN_ARCHIVE', message: 'garbage.bin is neither a gzip stream nor a tar archive.' }],
      inventory: [],
      bytesRead: 0,
      durationMs: 0,
    },
    summary: { critical: 0, warning: 0, info: 0, passed: 0, notEvaluated: 0, rules: 0 },
    rules: [],
  };
}
