import { describe, expect, it } from 'vitest';
import { LONG_LINE_MARK } from '../bundle/lines.ts';
import { type SystemdUnitEvent, systemdUnitParser } from './systemd-unit.ts';
import { headerSample, ofKind, parseLines } from './test-kit.ts';

function directive(events: SystemdUnitEvent[], key: string) {
  return ofKind(events, 'directive').filter((event) => event.key === key);
}

const HEADER_SAMPLE = headerSample(new URL('./systemd-unit.ts', import.meta.url));

// `systemctl cat kubelet` on an AL2 node: awslabs/amazon-eks-ami templates/al2/runtime/kubelet.service (containerd
// era) plus the two drop-ins bootstrap.sh writes.
const AL2_KUBELET = `# /etc/systemd/system/kubelet.service
[Unit]
Description=Kubernetes Kubelet
Documentation=https://github.com/kubernetes/kubernetes
After=containerd.service sandbox-image.service
Requires=containerd.service sandbox-image.service

[Service]
Slice=runtime.slice
ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5
ExecStart=/usr/bin/kubelet \\
    --config /etc/kubernetes/kubelet/kubelet-config.json \\
    --kubeconfig /var/lib/kubelet/kubeconfig \\
    --image-credential-provider-config /etc/eks/image-credential-provider/config.json \\
    --image-credential-provider-bin-dir /etc/eks/image-credential-provider \\
    $KUBELET_ARGS \\
    $KUBELET_EXTRA_ARGS

Restart=on-failure
RestartForceExitStatus=SIGPIPE
RestartSec=5
KillMode=process
CPUAccounting=true
MemoryAccounting=true

[Install]
WantedBy=multi-user.target

# /etc/systemd/system/kubelet.service.d/10-kubelet-args.conf
[Service]
Environment='KUBELET_ARGS=--node-ip=192.168.1.69 --pod-infra-container-image=602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5 --v=2 --hostname-override=ip-192-168-1-69.us-west-2.compute.internal --cloud-provider=external'

# /etc/systemd/system/kubelet.service.d/30-kubelet-extra-args.conf
[Service]
Environment='KUBELET_EXTRA_ARGS=--node-labels=eks.amazonaws.com/nodegroup=ng-1 --max-pods=29'`;

// `systemctl cat kubelet` on an AL2023 node: awslabs/amazon-eks-ami
// templates/al2023/runtime/rootfs/etc/systemd/system/kubelet.service, unchanged by nodeadm (it writes only
// /etc/eks/kubelet/environment), plus a user drop-in that clears ExecStartPre.
const AL2023_KUBELET_WITH_OVERRIDE = `# /etc/systemd/system/kubelet.service
[Unit]
Description=Kubernetes Kubelet
Documentation=https://github.com/kubernetes/kubernetes
After=containerd.service
Wants=containerd.service

[Service]
Slice=runtime.slice
EnvironmentFile=/etc/eks/kubelet/environment
ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5
ExecStart=/usr/bin/kubelet $NODEADM_KUBELET_ARGS

Restart=on-failure
RestartForceExitStatus=SIGPIPE
RestartSec=5
KillMode=process
CPUAccounting=true
MemoryAccounting=true

[Install]
WantedBy=multi-user.target

# /etc/systemd/system/kubelet.service.d/90-hardening.conf
; our CIS baseline: no firewall changes from units
[Service]
ExecStartPre=`;

describe('systemdUnitParser', () => {
  it('parses the header sample', () => {
    expect(parseLines(systemdUnitParser, HEADER_SAMPLE)).toEqual([
      {
        kind: 'file',
        line: 1,
        raw: '# /etc/systemd/system/kubelet.service',
        path: '/etc/systemd/system/kubelet.service',
      },
      { kind: 'section', line: 2, raw: '[Service]', file: '/etc/systemd/system/kubelet.service', section: 'Service' },
      {
        kind: 'directive',
        line: 3,
        raw: 'ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5',
        file: '/etc/systemd/system/kubelet.service',
        section: 'Service',
        key: 'ExecStartPre',
        value: '/sbin/iptables -P FORWARD ACCEPT -w 5',
      },
      {
        kind: 'directive',
        line: 4,
        raw: 'ExecStart=/usr/bin/kubelet \\',
        file: '/etc/systemd/system/kubelet.service',
        section: 'Service',
        key: 'ExecStart',
        value: '/usr/bin/kubelet      $NODEADM_KUBELET_ARGS',
      },
    ]);
  });

  it('reads the AL2 unit and its drop-ins, joining the ExecStart continuation', () => {
    const events = parseLines(systemdUnitParser, AL2_KUBELET);
    expect(ofKind(events, 'unparsed')).toEqual([]);
    expect(ofKind(events, 'file').map((event) => [event.line, event.path])).toEqual([
      [1, '/etc/systemd/system/kubelet.service'],
      [29, '/etc/systemd/system/kubelet.service.d/10-kubelet-args.conf'],
      [33, '/etc/systemd/system/kubelet.service.d/30-kubelet-extra-args.conf'],
    ]);
    expect(directive(events, 'ExecStartPre')).toEqual([
      {
        kind: 'directive',
        line: 10,
        raw: 'ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5',
        file: '/etc/systemd/system/kubelet.service',
        section: 'Service',
        key: 'ExecStartPre',
        value: '/sbin/iptables -P FORWARD ACCEPT -w 5',
      },
    ]);
    const [execStart] = directive(events, 'ExecStart');
    expect(execStart).toMatchObject({ line: 11, raw: 'ExecStart=/usr/bin/kubelet \\', section: 'Service' });
    expect(execStart?.value.split(/\s+/)).toEqual([
      '/usr/bin/kubelet',
      '--config',
      '/etc/kubernetes/kubelet/kubelet-config.json',
      '--kubeconfig',
      '/var/lib/kubelet/kubeconfig',
      '--image-credential-provider-config',
      '/etc/eks/image-credential-provider/config.json',
      '--image-credential-provider-bin-dir',
      '/etc/eks/image-credential-provider',
      '$KUBELET_ARGS',
      '$KUBELET_EXTRA_ARGS',
    ]);
    // The directive after the continuation is read on its own, in the same section.
    expect(directive(events, 'Restart')).toEqual([expect.objectContaining({ line: 19, value: 'on-failure' })]);
    expect(directive(events, 'WantedBy')).toEqual([expect.objectContaining({ section: 'Install' })]);
    expect(directive(events, 'Environment').map((event) => [event.file, event.value.slice(0, 28)])).toEqual([
      ['/etc/systemd/system/kubelet.service.d/10-kubelet-args.conf', "'KUBELET_ARGS=--node-ip=192."],
      ['/etc/systemd/system/kubelet.service.d/30-kubelet-extra-args.conf', "'KUBELET_EXTRA_ARGS=--node-l"],
    ]);
  });

  it('reads the AL2023 unit and keeps an empty assignment from a drop-in', () => {
    const events = parseLines(systemdUnitParser, AL2023_KUBELET_WITH_OVERRIDE);
    expect(ofKind(events, 'unparsed')).toEqual([]);
    expect(directive(events, 'EnvironmentFile')).toEqual([
      expect.objectContaining({ value: '/etc/eks/kubelet/environment', section: 'Service' }),
    ]);
    expect(directive(events, 'ExecStartPre').map((event) => [event.file, event.value])).toEqual([
      ['/etc/systemd/system/kubelet.service', '/sbin/iptables -P FORWARD ACCEPT -w 5'],
      ['/etc/systemd/system/kubelet.service.d/90-hardening.conf', ''],
    ]);
    expect(ofKind(events, 'section').at(-1)).toEqual({
      kind: 'section',
      line: 26,
      raw: '[Service]',
      file: '/etc/systemd/system/kubelet.service.d/90-hardening.conf',
      section: 'Service',
    });
  });

  it('reports a unit without files as missing', () => {
    expect(parseLines(systemdUnitParser, 'No files found for kubelet.service.')).toEqual([
      {
        kind: 'missing',
        line: 1,
        raw: 'No files found for kubelet.service.',
        text: 'No files found for kubelet.service.',
        unit: 'kubelet.service',
      },
    ]);
  });

  it("reports systemctl's notices and still reads the file after them", () => {
    const events = parseLines(
      systemdUnitParser,
      [
        '# Warning: kubelet.service changed on disk, the version systemd has loaded is outdated.',
        "# This output shows the current version of the unit's original fragment and drop-in files.",
        '# If fragments or drop-ins were added or removed, they are not properly reflected in this output.',
        "# Run 'systemctl daemon-reload' to reload units.",
        '# /etc/systemd/system/kubelet.service',
        '[Service]',
        'ExecStart=/usr/bin/kubelet',
        '',
        '# Unit kubelet-extra.service is masked.',
      ].join('\n'),
    );
    expect(events.map((event) => event.kind)).toEqual(['notice', 'file', 'section', 'directive', 'notice']);
    expect(events[0]).toMatchObject({
      text: 'Warning: kubelet.service changed on disk, the version systemd has loaded is outdated.',
    });
    expect(events[4]).toMatchObject({ line: 9, text: 'Unit kubelet-extra.service is masked.' });
  });

  it('reads a plain unit file without headers, and does not take a path comment inside a file for a header', () => {
    const events = parseLines(
      systemdUnitParser,
      [
        '[Unit]',
        '# /usr/lib/systemd/system/kubelet.service is the packaged copy',
        'Description=Kubernetes Kubelet',
        '# /usr/lib/systemd/system/kubelet.service',
        '[Service]',
        'ExecStart=/usr/bin/kubelet',
      ].join('\n'),
    );
    expect(events.map((event) => event.kind)).toEqual(['section', 'directive', 'section', 'directive']);
    expect(events.every((event) => !('file' in event))).toBe(true);
  });

  it('joins continuations the way systemd does: comments skipped, blank line ends, escaped backslash does not continue', () => {
    const events = parseLines(
      systemdUnitParser,
      [
        '[Service]',
        'ExecStart=/usr/bin/kubelet \\',
        '# a comment inside the continuation',
        '    --v=2 \\',
        '',
        'Environment=PATH=C:\\\\',
        'ExecStartPost=/bin/true\\ ',
        'ExecReload=/bin/kill -HUP $MAINPID \\',
      ].join('\n'),
    );
    expect(ofKind(events, 'directive').map((event) => [event.line, event.key, event.value])).toEqual([
      [2, 'ExecStart', '/usr/bin/kubelet      --v=2'],
      [6, 'Environment', 'PATH=C:\\\\'],
      [7, 'ExecStartPost', '/bin/true\\'],
      [8, 'ExecReload', '/bin/kill -HUP $MAINPID'],
    ]);
  });

  it('keeps a directive the reader cut, marked, and ends its continuation there', () => {
    const cutLine = `ExecStart=/usr/bin/kubelet --node-labels=team=a,tier=${LONG_LINE_MARK}`;
    const events = parseLines(systemdUnitParser, ['[Service]', cutLine, 'Restart=always'].join('\n'));
    expect(ofKind(events, 'directive')).toEqual([
      {
        kind: 'directive',
        line: 2,
        raw: cutLine,
        section: 'Service',
        key: 'ExecStart',
        value: '/usr/bin/kubelet --node-labels=team=a,tier=',
        cut: true,
      },
      expect.objectContaining({ line: 3, key: 'Restart', value: 'always' }),
    ]);
  });

  it('marks junk, binary bytes, orphan assignments and broken section headers unparsed', () => {
    const events = parseLines(
      systemdUnitParser,
      [
        'ExecStart=/usr/bin/kubelet',
        'Failed to get D-Bus connection: Operation not permitted',
        '[Service',
        '[]',
        '[Service]',
        '\u0000\u0001\ufffd\ufffd',
        'Exec Start=/usr/bin/kubelet',
        '=value',
        'KillMode=process',
      ].join('\n'),
    );
    expect(events.map((event) => [event.line, event.kind])).toEqual([
      [1, 'unparsed'],
      [2, 'unparsed'],
      [3, 'unparsed'],
      [4, 'unparsed'],
      [5, 'section'],
      [6, 'unparsed'],
      [7, 'unparsed'],
      [8, 'unparsed'],
      [9, 'directive'],
    ]);
    expect(events[0]).toMatchObject({ reason: 'assignment outside a section (systemd ignores it)' });
    expect(events[6]).toMatchObject({ reason: '"Exec Start" is not a directive name' });
  });

  it('treats CRLF line ends like LF', () => {
    const events = parseLines(systemdUnitParser, '[Service]\r\nExecStart=/usr/bin/kubelet \\\r\n  --v=2\r\n');
    expect(directive(events, 'ExecStart')).toEqual([expect.objectContaining({ value: '/usr/bin/kubelet    --v=2' })]);
  });
});
