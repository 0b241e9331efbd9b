import { describe, expect, it } from 'vitest';
import { cpuThrottlingParser, decodeKubepodsPath } from './cpu-throttling.ts';
import { headerSample, parseLines } from './test-kit.ts';

const CONTAINER_ID = '9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b';
const V1_PATH = `/sys/fs/cgroup/cpu,cpuacct/kubepods/burstable/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/${CONTAINER_ID}/cpu.stat`;

const HEADER_SAMPLE = headerSample(new URL('./cpu-throttling.ts', import.meta.url));

// Two blocks as the stock script appends them on an AL2023 node (cgroup v2, systemd driver, pid_max 4194304): the
// aws-node container with one 7-digit pid, then a guaranteed pod whose pids were all too short to match `^<pid>`.
const V2_FILE = `/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5c4f3d2e_9a1b_4c7d_8e6f_0a1b2c3d4e5f.slice/cri-containerd-${CONTAINER_ID}.scope/cpu.stat
usage_usec 982734112
user_usec 712003331
system_usec 270730781
core_sched.force_idle_usec 0
nr_periods 88231
nr_throttled 40112
throttled_usec 3221009876
nr_bursts 0
burst_usec 0
1203344 ?        Ssl   16:22 /app/aws-k8s-agent --enable-ipv6=false

/sys/fs/cgroup/kubepods.slice/kubepods-pod11111111_2222_3333_4444_555555555555.slice/cri-containerd-${'a'.repeat(64)}.scope/cpu.stat
usage_usec 5000
user_usec 4000
system_usec 1000
nr_periods 10
nr_throttled 1
throttled_usec 900
nr_bursts 0
burst_usec 0
`;

describe('cpuThrottlingParser', () => {
  it('parses the header sample: one v1 block with a ps row, decoded and summarised', () => {
    expect(parseLines(cpuThrottlingParser, HEADER_SAMPLE)).toEqual([
      {
        kind: 'cgroup',
        line: 1,
        raw: V1_PATH,
        cgroupPath: V1_PATH.slice(0, -'/cpu.stat'.length),
        stats: { nr_periods: 120433, nr_throttled: 53210, throttled_time: 912345678901 },
        nrPeriods: 120433,
        nrThrottled: 53210,
        throttledUsec: 912345679,
        throttledRatio: 53210 / 120433,
        processes: [
          { pid: 12345, command: '/app/aws-k8s-agent', raw: '12345 ?        Ssl   42:10 /app/aws-k8s-agent', line: 5 },
        ],
        podUid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
        containerId: CONTAINER_ID,
        qosClass: 'burstable',
      },
    ]);
  });

  it('splits v2 blocks on blank lines and decodes systemd slice names', () => {
    const events = parseLines(cpuThrottlingParser, V2_FILE);
    expect(events.map((event) => event.kind)).toEqual(['cgroup', 'cgroup']);
    const [awsNode, guaranteed] = events;
    expect(awsNode).toMatchObject({
      line: 1,
      podUid: '5c4f3d2e-9a1b-4c7d-8e6f-0a1b2c3d4e5f',
      containerId: CONTAINER_ID,
      qosClass: 'burstable',
      usageUsec: 982734112,
      throttledUsec: 3221009876,
      processes: [{ pid: 1203344, command: '/app/aws-k8s-agent --enable-ipv6=false', line: 11 }],
    });
    expect(awsNode).toHaveProperty(['stats', 'core_sched.force_idle_usec'], 0);
    expect(guaranteed).toMatchObject({
      line: 13,
      podUid: '11111111-2222-3333-4444-555555555555',
      qosClass: 'guaranteed',
      throttledRatio: 0.1,
      processes: [],
    });
  });

  it('keeps one row per pid when grep "^<pid>" matched the same row twice', () => {
    const text = ['/sys/fs/cgroup/system.slice/containerd.service/cpu.stat', 'nr_periods 5', 'nr_throttled 2'];
    text.push('12345 ?        Ssl    9:01 /usr/bin/containerd', '12345 ?        Ssl    9:01 /usr/bin/containerd');
    const [block] = parseLines(cpuThrottlingParser, text.join('\n'));
    expect(block).toMatchObject({ kind: 'cgroup', cgroupPath: '/sys/fs/cgroup/system.slice/containerd.service' });
    expect(block?.kind === 'cgroup' && block.processes.map((process) => process.pid)).toEqual([12345]);
    expect(block).not.toHaveProperty('podUid');
    expect(block).not.toHaveProperty('qosClass');
  });

  it('reports the no-throttling marker', () => {
    expect(parseLines(cpuThrottlingParser, 'No CPU Throttling Found')).toEqual([
      { kind: 'no-throttling', line: 1, raw: 'No CPU Throttling Found' },
    ]);
  });

  it('marks lines of a head-cut file and junk inside a block unparsed, and closes a block without a blank line', () => {
    const events = parseLines(
      cpuThrottlingParser,
      [
        'throttled_usec 77',
        '4242 ?        S      0:00 /pause',
        '/sys/fs/cgroup/kubepods.slice/cpu.stat',
        'nr_periods 10',
        'nr_throttled 3',
        'grep: /sys/fs/cgroup/x/cgroup.procs: No such file or directory',
        `/sys/fs/cgroup/kubepods/besteffort/pod${'ab12cd34'.repeat(4)}/cpu.stat`,
        'nr_periods 4',
        'nr_throttled 4',
      ].join('\n'),
    );
    expect(events.map((event) => (event.kind === 'unparsed' ? `unparsed@${event.line}` : event.kind))).toEqual([
      'unparsed@1',
      'unparsed@2',
      'unparsed@6',
      'cgroup',
      'cgroup',
    ]);
    expect(events[0]).toMatchObject({ reason: expect.stringContaining('outside a cgroup block') });
    expect(events[3]).toMatchObject({ line: 3, nrThrottled: 3, processes: [] });
    expect(events[3]).not.toHaveProperty('qosClass');
    expect(events[4]).toMatchObject({
      line: 7,
      qosClass: 'besteffort',
      podUid: 'ab12cd34'.repeat(4),
      throttledRatio: 1,
    });
  });
});

describe('decodeKubepodsPath', () => {
  it.each([
    [
      '/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0a_1b.slice/docker-' +
        `${CONTAINER_ID}.scope`,
      { podUid: '0a-1b', containerId: CONTAINER_ID, qosClass: 'besteffort' },
    ],
    [
      `/sys/fs/cgroup/cpu,cpuacct/kubepods.slice/kubepods-pod0a_1b.slice/crio-${CONTAINER_ID}.scope`,
      { podUid: '0a-1b', containerId: CONTAINER_ID, qosClass: 'guaranteed' },
    ],
    [
      `/sys/fs/cgroup/kubepods/pod0a-1b/${CONTAINER_ID}`,
      { podUid: '0a-1b', containerId: CONTAINER_ID, qosClass: 'guaranteed' },
    ],
    ['/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice', { qosClass: 'burstable' }],
    ['/sys/fs/cgroup/system.slice/kubelet.service', {}],
    [
      `/sys/fs/cgroup/kubepods.slice/kubepods-pod0a_1b.slice/crio-conmon-${CONTAINER_ID}.scope`,
      { podUid: '0a-1b', qosClass: 'guaranteed' },
    ],
  ])('%s', (path, identity) => {
    expect(decodeKubepodsPath(path)).toEqual(identity);
  });
});
