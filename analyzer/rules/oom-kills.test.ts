import { describe, expect, it } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule, { placeOfCgroup } from './oom-kills.ts';

const JAVA_ID = '38a0963a6364b09ad867aa9a66c6d009673c21e182015461da236ec361877f77';
const AWS_NODE_ID = 'bbcec11f6326f9bd1d33b2567e28b871ef52f3cee48b75cba24a2c4e58147cf8';
const CP_ID = 'e44b4bd707c540bca8615b21f850fb41e02029701df241d179c1a5f3acbf5bf1';
const SHOP_POD = '0b5a2c1e-8f3d-4e2a-9c61-2f0d1e7a9b44';
const AWS_NODE_POD = '7c1d9e2a-4b3f-4a51-8e6d-1f2a3b4c5d6e';

const systemdPodSlice = (uid: string) =>
  `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replaceAll('-', '_')}.slice`;

// AL2023 (kernel 6.1, cgroup v2, systemd driver): a container at its own limit. Summary line format from mm/oom_kill.c
// dump_oom_summary; real-world shape as in leptonai/gpud PR #70 and reportportal/kubernetes#203.
const javaAtLimit = [
  '[    0.000000] Linux version 6.1.112-124.190.amzn2023.x86_64 (mockbuild@ip-10-0-33-4) #1 SMP PREEMPT_DYNAMIC',
  '[ 7063.210417] java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=969',
  '[ 7063.210423] CPU: 1 PID: 4820 Comm: java Not tainted 6.1.112-124.190.amzn2023.x86_64 #1',
  '[ 7063.247210] memory: usage 1048576kB, limit 1048576kB, failcnt 141',
  `[ 7063.247380] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-${JAVA_ID}.scope,mems_allowed=0,oom_memcg=${systemdPodSlice(SHOP_POD)}/cri-containerd-${JAVA_ID}.scope,task_memcg=${systemdPodSlice(SHOP_POD)}/cri-containerd-${JAVA_ID}.scope,task=java,pid=4817,uid=0`,
  '[ 7063.247407] Memory cgroup out of memory: Killed process 4817 (java) total-vm:5065832kB, anon-rss:1046904kB, file-rss:30772kB, shmem-rss:0kB, UID:0 pgtables:2412kB oom_score_adj:969',
  '[ 7063.263325] oom_reaper: reaped process 4817 (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB',
  '',
].join('\n');

const podList = JSON.stringify({
  kind: 'PodList',
  apiVersion: 'v1',
  items: [
    {
      metadata: { name: 'shop-7d9f8b6c5-x2kqz', namespace: 'default', uid: SHOP_POD },
      status: { containerStatuses: [{ name: 'shop', containerID: `containerd://${JAVA_ID}` }] },
    },
    {
      metadata: { name: 'aws-node-7xk2p', namespace: 'kube-system', uid: AWS_NODE_POD },
      status: {
        initContainerStatuses: [{ name: 'aws-vpc-cni-init', containerID: 'containerd://0123' }],
        containerStatuses: [{ name: 'aws-node', containerID: `containerd://${AWS_NODE_ID}` }],
      },
    },
  ],
});

ruleTester(rule, {
  fail: [
    {
      name: 'AL2023: a container at its own limit is info, named through the pod list',
      files: { 'kernel/dmesg.current': javaAtLimit, 'kubelet/pods.json': podList },
      messageId: 'containerOom',
      severity: 'info',
      evidence: ['kernel/dmesg.current:5', 'kernel/dmesg.current:6'],
      check: (result) => {
        expect(result.summary).toBe(
          '1 process(es) were OOM-killed (1 at container memory limit): java (pid 4817, default/shop-7d9f8b6c5-x2kqz container shop).',
        );
        expect(result.tables[0]?.rows[0]).toEqual([
          '7063 s after boot',
          'java (4817)',
          'container memory limit',
          'default/shop-7d9f8b6c5-x2kqz container shop',
          '1022 MiB',
        ]);
      },
    },
    {
      name: 'AL2 5.10: a global OOM that kills kubelet is critical (CONSTRAINT_NONE, global_oom)',
      files: {
        'kernel/dmesg.human.current': [
          '[Thu Nov 20 08:40:59 2026] kubelet invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=-999',
          '[Thu Nov 20 08:41:07 2026] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/runtime.slice/kubelet.service,task=kubelet,pid=3412,uid=0',
          '[Thu Nov 20 08:41:07 2026] Out of memory: Killed process 3412 (kubelet) total-vm:2100512kB, anon-rss:180204kB, file-rss:61220kB, shmem-rss:0kB, UID:0 pgtables:1120kB oom_score_adj:-999',
          '',
        ].join('\n'),
      },
      messageId: 'criticalVictim',
      severity: 'critical',
      evidence: ['kernel/dmesg.human.current:2', 'kernel/dmesg.human.current:3'],
      check: (result) => {
        expect(result.summary).toContain('killed kubelet (pid 3412, kubelet.service)');
        expect(result.summary).toContain('1 at node out of memory');
        expect(result.evidence.find((e) => e.line === 3)?.time).toBe('Thu Nov 20 08:41:07 2026');
      },
    },
    {
      name: 'AL2 4.14 (cgroupfs paths, "Task in … killed as a result of limit of", sacrifice child)',
      // Shape from bluek8s/kubedirector#356: the pid killed differs from the one chosen (a child was sacrificed).
      files: {
        'kernel/dmesg.current': [
          '[5193605.506700] cp invoked oom-killer: gfp_mask=0x14000c0(GFP_KERNEL), nodemask=(null), order=0, oom_score_adj=-998',
          `[5193605.506728] Task in /kubepods/pod951f6bc5-c5a5-11ea-8707-80e455f266a2/${CP_ID} killed as a result of limit of /kubepods/pod951f6bc5-c5a5-11ea-8707-80e455f266a2/${CP_ID}`,
          '[5193605.506735] memory: usage 524288kB, limit 524288kB, failcnt 0',
          '[5193605.506956] Memory cgroup out of memory: Kill process 62685 (bash) score 0 or sacrifice child',
          '[5193605.508964] Killed process 62769 (cp) total-vm:17528kB, anon-rss:1644kB, file-rss:0kB, shmem-rss:0kB',
          '',
        ].join('\n'),
      },
      messageId: 'containerOom',
      severity: 'info',
      evidence: ['kernel/dmesg.current:2', 'kernel/dmesg.current:5'],
      check: (result) => {
        expect(result.summary).toContain(
          'cp (pid 62769, pod uid 951f6bc5-c5a5-11ea-8707-80e455f266a2 container e44b4bd707c5)',
        );
        expect(result.tables[0]?.rows[0]?.[2]).toBe('container memory limit');
      },
    },
    {
      name: 'aws-node (aws-k8s-agent) killed at its limit, seen only in the system log, is critical',
      files: {
        'var_log/messages': [
          'Nov 20 08:41:06 ip-10-0-1-23 kernel: aws-k8s-agent invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-997',
          `Nov 20 08:41:06 ip-10-0-1-23 kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-${AWS_NODE_ID}.scope,mems_allowed=0,oom_memcg=${systemdPodSlice(AWS_NODE_POD)}/cri-containerd-${AWS_NODE_ID}.scope,task_memcg=${systemdPodSlice(AWS_NODE_POD)}/cri-containerd-${AWS_NODE_ID}.scope,task=aws-k8s-agent,pid=5120,uid=0`,
          'Nov 20 08:41:06 ip-10-0-1-23 kernel: Memory cgroup out of memory: Killed process 5120 (aws-k8s-agent) total-vm:1318212kB, anon-rss:262144kB, file-rss:40112kB, shmem-rss:0kB, UID:0 pgtables:780kB oom_score_adj:-997',
          'Nov 20 08:41:09 ip-10-0-1-23 kubelet: I1120 08:41:09.000000    3412 kubelet.go:2412] "Killed process" is not a kernel line',
          '',
        ].join('\n'),
        'kubelet/pods.json': podList,
      },
      messageId: 'criticalVictim',
      severity: 'critical',
      evidence: ['var_log/messages:2', 'var_log/messages:3'],
      check: (result) =>
        expect(result.summary).toContain('aws-k8s-agent (pid 5120, kube-system/aws-node-7xk2p container aws-node)'),
    },
    {
      name: 'pods together over the kubepods cgroup (node allocatable) is node-level',
      files: {
        'kernel/dmesg.current': [
          '[ 9912.000001] python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=1000',
          `[ 9912.001200] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-${JAVA_ID}.scope,mems_allowed=0,oom_memcg=/kubepods.slice,task_memcg=/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${SHOP_POD.replaceAll('-', '_')}.slice/cri-containerd-${JAVA_ID}.scope,task=python3,pid=8801,uid=1000`,
          '[ 9912.001230] Memory cgroup out of memory: Killed process 8801 (python3) total-vm:912000kB, anon-rss:800000kB, file-rss:1000kB, shmem-rss:0kB, UID:1000 pgtables:1700kB oom_score_adj:1000',
          '',
        ].join('\n'),
      },
      messageId: 'nodeOom',
      severity: 'warning',
      evidence: ['kernel/dmesg.current:3'],
      check: (result) => expect(result.summary).toContain('1 at node allocatable (kubepods cgroup limit)'),
    },
    {
      name: 'the same kill in dmesg and dmesg --ctime counts once',
      files: {
        'kernel/dmesg.current': javaAtLimit,
        'kernel/dmesg.human.current': javaAtLimit.replaceAll(/\[ *\d+\.\d+\]/g, '[Thu Nov 20 08:41:07 2026]'),
      },
      messageId: 'containerOom',
      evidence: ['kernel/dmesg.current:6'],
      check: (result) => {
        expect(result.summary).toMatch(/^1 process\(es\)/);
        expect(result.evidence.find((e) => e.line === 6)?.note).toBe('also in 1 other kernel log file(s)');
      },
    },
    {
      name: 'a kill whose report began before the wrapped ring buffer is counted, not guessed at',
      files: {
        'kernel/dmesg.current':
          '[86012.000001] Killed process 2211 (node) total-vm:1201000kB, anon-rss:501000kB, file-rss:0kB, shmem-rss:0kB\n',
      },
      messageId: 'containerOom',
      severity: 'info',
      evidence: ['kernel/dmesg.current:1'],
      check: (result) => {
        expect(result.summary).toContain('1 at unknown (no OOM report before it)');
        expect(result.caveats.join(' ')).toMatch(/ring buffer has wrapped/);
      },
    },
  ],
  pass: [
    {
      name: 'stock dmesg without OOM kills',
      files: {
        'kernel/dmesg.current': [
          '[    0.000000] Linux version 5.10.228-219.884.amzn2.x86_64 (mockbuild@ip-10-0-56-107) #1 SMP',
          '[   21.612044] IPv6: ADDRCONF(NETDEV_CHANGE): eni3a1b2c3d4e5: link becomes ready',
          '',
        ].join('\n'),
      },
      messageId: 'none',
      check: (result) => {
        expect(result.facts[0]).toMatchObject({
          path: 'kernel/dmesg.current',
          value: '2 lines, from 0.000000 s to 21.612044 s after boot',
        });
        expect(result.caveats).toEqual([]);
      },
    },
    {
      name: 'a wrapped ring buffer passes with a caveat; user-space "Killed process" text is ignored',
      files: {
        'kernel/dmesg.current': '[86012.000001] IPv6: ADDRCONF(NETDEV_CHANGE): eni3a1b2c3d4e5: link becomes ready\n',
        'var_log/messages':
          'Nov 20 08:41:09 ip-10-0-1-23 supervisord[901]: Killed process 123 (worker) total-vm:1kB, anon-rss:1kB\n',
      },
      messageId: 'none',
      check: (result) => expect(result.caveats.join(' ')).toMatch(/ring buffer has wrapped/),
    },
  ],
  notEvaluated: [
    {
      name: 'no kernel log in the bundle',
      files: { 'sysctls/sysctl_all.txt': 'vm.panic_on_oom = 0\n' },
      reason: 'kernel/dmesg.current',
    },
    {
      name: 'dmesg timed out and no system log was collected',
      files: {},
      manifest: { dmesg: { status: 'timeout', reason: 'no output within 10s' } },
      reason: 'timeout: no output within 10s',
    },
  ],
});

describe('placeOfCgroup', () => {
  it('decodes kubelet cgroup paths of both drivers', () => {
    expect(placeOfCgroup(`/kubepods/burstable/pod${SHOP_POD}/${JAVA_ID}`)).toEqual({
      level: 'container',
      podUid: SHOP_POD,
      containerId: JAVA_ID,
    });
    expect(
      placeOfCgroup(`/kubepods.slice/kubepods-pod${SHOP_POD.replaceAll('-', '_')}.slice/docker-${JAVA_ID}.scope`),
    ).toEqual({
      level: 'container',
      podUid: SHOP_POD,
      containerId: JAVA_ID,
    });
    expect(placeOfCgroup(systemdPodSlice(SHOP_POD))).toEqual({ level: 'pod', podUid: SHOP_POD });
    expect(placeOfCgroup('/kubepods/besteffort')).toEqual({ level: 'qos' });
    expect(placeOfCgroup('/kubepods.slice/kubepods-burstable.slice')).toEqual({ level: 'qos' });
    expect(placeOfCgroup('/kubepods')).toEqual({ level: 'kubepods' });
    expect(placeOfCgroup('/system.slice/containerd.service')).toEqual({ level: 'unit', unit: 'containerd.service' });
    expect(placeOfCgroup('/')).toEqual({ level: 'root' });
    expect(placeOfCgroup('/user.slice/user-1000.slice/session-3.scope')).toEqual({
      level: 'unit',
      unit: 'session-3.scope',
    });
    expect(placeOfCgroup('/not/a/kubepods/path/x')).toEqual({ level: 'other' });
  });
});
