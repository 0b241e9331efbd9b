import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './cpu-starvation.ts';

const procStat = (cpus: number) =>
  [
    'cpu  2255 34 2290 22625563 6290 127 456 0 0 0',
    ...Array.from({ length: cpus }, (_, i) => `cpu${i} 1132 34 1441 11311718 3675 127 438 0 0 0`),
    'intr 114930548 113199788 3 0 5 263 0 4 [... 200 more]',
    'ctxt 1990473',
    'btime 1062191376',
    'processes 2915',
    'procs_running 9',
    'procs_blocked 0',
    '',
  ].join('\n');

const top = (load: string, idle: string, awsNodeCpu: string) =>
  [
    `top - 09:12:01 up 12 days,  3:04,  0 users,  load average: ${load}`,
    'Tasks: 212 total,   9 running, 203 sleeping,   0 stopped,   0 zombie',
    `%Cpu(s): 72.4 us, 24.1 sy,  0.0 ni,  ${idle} id,  0.0 wa,  0.0 hi,  1.1 si,  0.0 st`,
    'MiB Mem :   7680.5 total,    812.3 free,   5321.0 used,   1547.2 buff/cache',
    'MiB Swap:      0.0 total,      0.0 free,      0.0 used.   2094.6 avail Mem',
    '',
    '    PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND',
    `   4711 root      20   0 1312420  61232  38120 S  ${awsNodeCpu}   0.8  42:10.33 aws-k8s-agent`,
    '   2101 root      20   0 2001232 121000  61000 S  20.0   1.5 102:00.10 kubelet',
    '',
  ].join('\n');

const throttling = [
  '/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b5a2c1e_8f3d_4e2a_9c61_2f0d1e7a9b44.slice/cri-containerd-9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b.scope/cpu.stat',
  'usage_usec 912345678',
  'user_usec 612345678',
  'system_usec 300000000',
  'nr_periods 120433',
  'nr_throttled 53210',
  'throttled_usec 912345678',
  '   4711 ?        Ssl   42:10 /app/aws-k8s-agent',
  '',
].join('\n');

const probeTimeout =
  'Nov 20 09:11:07 ip-10-0-1-23.ec2.internal kubelet[3412]: I1120 09:11:07.123456    3412 prober.go:107] "Probe failed" probeType="Liveness" pod="kube-system/aws-node-7xk2p" podUID="0b5a" containerName="aws-node" probeResult="failure" output="timeout: failed to connect service \\":50051\\" within 5s"\n';

ruleTester(rule, {
  pass: [
    {
      name: 'idle node in our layout (loadavg, procstat, PSI)',
      files: {
        'system/loadavg.txt': '0.52 0.58 0.59 2/345 12345\n',
        'system/procstat.txt': procStat(2),
        'system/pressure_cpu.txt':
          'some avg10=1.20 avg60=0.80 avg300=0.50 total=123456789\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
      },
      messageId: 'healthy',
      evidence: ['system/loadavg.txt:1', 'system/pressure_cpu.txt:1'],
      check: (result) => expect(result.summary).toContain('load average 0.52 on 2 CPUs'),
    },
    {
      name: 'stock layout: top header and procstat',
      files: { 'system/top.txt': top('0.31, 0.40, 0.45', '96.0', '0.3'), 'system/procstat.txt': procStat(4) },
      messageId: 'healthy',
      evidence: ['system/top.txt:1'],
    },
  ],
  fail: [
    {
      name: 'load 7.9 on 2 CPUs, PSI high, aws-node throttled, aws-node probe timeouts (critical)',
      files: {
        'system/loadavg.txt': '7.90 6.12 4.01 9/345 12345\n',
        'system/procstat.txt': procStat(2),
        'system/pressure_cpu.txt':
          'some avg10=72.40 avg60=68.10 avg300=55.00 total=923456789\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
        'system/cpu_throttling.txt': throttling,
        'system/top.txt': top('7.90, 6.12, 4.01', '2.1', '38.5'),
        'kubelet/kubelet.log': probeTimeout,
      },
      messageId: 'starved',
      severity: 'critical',
      evidence: [
        'system/loadavg.txt:1',
        'system/pressure_cpu.txt:1',
        'system/cpu_throttling.txt:1',
        'system/top.txt:8',
        'kubelet/kubelet.log:1',
      ],
      check: (result) => {
        expect(result.summary).toContain('load average 7.9 on 2 CPUs');
        expect(result.summary).toContain('aws-node in 44% of periods');
        expect(result.summary).toContain("1 of them aws-node's");
      },
    },
    {
      name: 'stock layout: load from top only, no probe timeouts (warning)',
      files: { 'system/top.txt': top('9.10, 8.00, 7.50', '0.5', '12.0'), 'system/procstat.txt': procStat(2) },
      messageId: 'starved',
      severity: 'warning',
      evidence: ['system/top.txt:1'],
    },
  ],
  notEvaluated: [
    {
      name: 'stock bundle without top, procstat or PSI',
      files: { 'kubelet/kubelet.log': probeTimeout },
      reason: 'none of system/loadavg.txt, system/top.txt, system/pressure_cpu.txt could be used',
    },
    {
      name: 'load known but no CPU count',
      files: { 'system/top.txt': top('3.00, 3.00, 3.00', '10.0', '1.0') },
      reason: 'CPU count',
    },
  ],
});
