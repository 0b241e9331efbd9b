import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './aws-node-resources.ts';

const CTR = 'cni/cni-configuration-variables-containerd.json';
const PODS = 'kubelet/pods.json';
const KUBELET = 'kubelet/kubelet.log';
const LOADAVG = 'system/loadavg.txt';
const PROCSTAT = 'system/procstat.txt';
const TOP = 'system/top.txt';

const grpcProbe = (timeoutSeconds: number | undefined, deadline: string, initialDelaySeconds: number) => ({
  exec: {
    command: ['/app/grpc-health-probe', '-addr=:50051', `-connect-timeout=${deadline}`, `-rpc-timeout=${deadline}`],
  },
  initialDelaySeconds,
  ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
});

interface PodOptions {
  cpu?: string | null;
  liveness?: number;
  readiness?: number;
  deadline?: string;
  version?: string;
}

// The aws-node pod of config/master/aws-k8s-cni.yaml (25m, 10 s probes with 5 s health-probe deadlines); the v1.9
// manifest had 10m, 5 s probes and 2 s deadlines.
const podList = (options: PodOptions = {}) =>
  `${JSON.stringify(
    {
      kind: 'PodList',
      items: [
        {
          metadata: { name: 'aws-node-7xk2p', namespace: 'kube-system', labels: { 'k8s-app': 'aws-node' } },
          spec: {
            hostNetwork: true,
            serviceAccountName: 'aws-node',
            containers: [
              {
                name: 'aws-node',
                image: `602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:${options.version ?? 'v1.19.2-eksbuild.1'}`,
                livenessProbe: grpcProbe('liveness' in options ? options.liveness : 10, options.deadline ?? '5s', 60),
                readinessProbe: grpcProbe('readiness' in options ? options.readiness : 10, options.deadline ?? '5s', 1),
                ...(options.cpu === null ? {} : { resources: { requests: { cpu: options.cpu ?? '25m' } } }),
              },
            ],
          },
          status: { phase: 'Running', containerStatuses: [{ name: 'aws-node', restartCount: 4, ready: true }] },
        },
      ],
    },
    null,
    4,
  )}\n`;

const ctrInfo = (shares?: number) =>
  `${JSON.stringify(
    {
      ID: '3f9c2b7e1a6d4c8b9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d',
      Labels: { 'io.kubernetes.container.name': 'aws-node', 'io.kubernetes.pod.name': 'aws-node-7xk2p' },
      Image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1',
      CreatedAt: '2026-11-20T08:01:12.403535063Z',
      Spec: {
        ociVersion: '1.1.0',
        process: { env: ['PATH=/usr/bin:/bin'] },
        linux: shares === undefined ? {} : { resources: { cpu: { shares, period: 100000 } } },
      },
    },
    null,
    4,
  )}\n`;

const procStat = (cpus: number) =>
  [
    'cpu  2255 34 2290 22625563 6290 127 456 0 0 0',
    ...Array.from({ length: cpus }, (_, i) => `cpu${i} 1132 34 1441 11311718 3675 127 438 0 0 0`),
    'ctxt 1990473',
    'btime 1062191376',
    'processes 2915',
    'procs_running 9',
    'procs_blocked 0',
    '',
  ].join('\n');

const top = (load: string) =>
  [
    `top - 09:12:01 up 12 days,  3:04,  0 users,  load average: ${load}`,
    'Tasks: 212 total,   1 running, 211 sleeping,   0 stopped,   0 zombie',
    '%Cpu(s):  2.4 us,  1.1 sy,  0.0 ni, 96.0 id,  0.0 wa,  0.0 hi,  0.5 si,  0.0 st',
    '',
  ].join('\n');

const host = 'ip-10-0-1-23.us-west-2.compute.internal';
// kubelet's structured probe lines (prober.go, kuberuntime_manager.go), as kubelet-probe-failures.test.ts uses them.
const probeTimeout = (time: string, type = 'Liveness') =>
  `Nov 20 ${time} ${host} kubelet[3412]: I1120 ${time}.123456    3412 prober.go:107] "Probe failed" probeType="${type}" pod="kube-system/aws-node-7xk2p" podUID="0b5a2c1e" containerName="aws-node" probeResult="failure" output="timeout: failed to connect service \\":50051\\" within 5s"`;
const restart = (time: string) =>
  `Nov 20 ${time} ${host} kubelet[3412]: I1120 ${time}.323456    3412 kuberuntime_manager.go:1027] "Message for Container of pod" containerName="aws-node" containerStatusID={"Type":"containerd","ID":"7f9c"} pod="kube-system/aws-node-7xk2p" containerMessage="Container aws-node failed liveness probe, will be restarted"`;
const noise = (time: string) =>
  `Nov 20 ${time} ${host} kubelet[3412]: I1120 ${time}.000001    3412 kubelet_getters.go:187] "Pod status updated" pod="kube-system/kube-proxy-abcde" status="Running"`;
const journal = (...lines: string[]) => `${lines.join('\n')}\n`;

const busy = { [LOADAVG]: '7.90 6.12 4.01 9/345 12345\n', [PROCSTAT]: procStat(2) };
const idle = { [LOADAVG]: '0.52 0.58 0.59 2/345 12345\n', [PROCSTAT]: procStat(2) };

ruleTester(rule, {
  pass: [
    {
      name: "the manifest's 25m and 10 s probes on an idle node with a quiet journal",
      files: { [PODS]: podList(), ...idle, [KUBELET]: journal(noise('08:00:00'), noise('08:00:10')) },
      messageId: 'asAdvised',
      evidence: [`${PODS}:`, `${LOADAVG}:1`],
      check: (result) => {
        expect(result.summary).toBe(
          'aws-node’s resources are as the guide advises: requests.cpu 25m, liveness 10 s, readiness 10 s; no aws-node probe failure in the kubelet journal; load average 0.58 on 2 CPUs.',
        );
        expect(result.facts.find((fact) => fact.label === 'aws-node restarts (pod status)')?.value).toBe('4');
      },
    },
    {
      name: 'stock layout: cgroup shares of the running container and the top header',
      files: { [CTR]: ctrInfo(25), [TOP]: top('0.31, 0.40, 0.45'), [PROCSTAT]: procStat(4) },
      messageId: 'asAdvised',
      evidence: [`${CTR}:`, `${TOP}:1`],
      check: (result) => {
        expect(result.summary).toContain('about 25m (cgroup cpu shares 25)');
        expect(result.caveats.join('\n')).toContain('the probe settings are only in the pod spec');
      },
    },
  ],
  fail: [
    {
      name: 'aws-node probe timeouts on a loaded node: the guide’s case for longer timeouts',
      files: {
        [PODS]: podList(),
        ...busy,
        [KUBELET]: journal(
          noise('09:10:00'),
          probeTimeout('09:11:07'),
          probeTimeout('09:11:08', 'Readiness'),
          probeTimeout('09:11:17'),
          probeTimeout('09:11:27'),
          restart('09:11:27'),
        ),
      },
      messageId: 'raiseTimeouts',
      severity: 'warning',
      evidence: [`${KUBELET}:2`, `${KUBELET}:6`, `${LOADAVG}:1`, `${PODS}:`],
      check: (result) => {
        expect(result.summary).toContain('failed 4 probe(s) by timeout (1 restart(s) by kubelet)');
        expect(result.summary).toContain('load 4.0 per CPU');
        expect(result.summary).toContain('now liveness 10 s, readiness 10 s');
      },
    },
    {
      name: 'stock layout: timeouts on an idle node point at ipamd, not at the timeouts',
      files: {
        [CTR]: ctrInfo(25),
        [TOP]: top('0.31, 0.40, 0.45'),
        [PROCSTAT]: procStat(4),
        [KUBELET]: journal(probeTimeout('09:11:07')),
      },
      messageId: 'timeoutsWithoutLoad',
      evidence: [`${KUBELET}:1`, `${TOP}:1`],
      check: (result) => expect(result.summary).toContain('load average 0.4 on 4 CPUs'),
    },
    {
      name: 'timeouts and no CPU evidence in the bundle',
      files: { [PODS]: podList(), [KUBELET]: journal(probeTimeout('09:11:07')) },
      messageId: 'timeoutsLoadUnknown',
      evidence: [`${KUBELET}:1`],
      check: (result) =>
        expect(result.summary).toContain('system/loadavg.txt, system/top.txt, system/pressure_cpu.txt'),
    },
    {
      name: 'no CPU request',
      files: { [PODS]: podList({ cpu: null }), ...idle },
      messageId: 'noCpuRequest',
      evidence: [`${PODS}:`],
    },
    {
      name: 'the v1.9 manifest’s 10m request',
      files: { [PODS]: podList({ cpu: '10m', liveness: 5, readiness: 5, deadline: '2s', version: 'v1.9.3' }), ...idle },
      messageId: 'lowCpuRequest',
      evidence: [`${PODS}:`],
      check: (result) => expect(result.summary).toContain('requests.cpu 10m'),
    },
    {
      name: 'a probe without timeoutSeconds gets Kubernetes’ 1 s against a 5 s health-probe deadline',
      files: { [PODS]: podList({ liveness: undefined }), ...idle },
      messageId: 'probeTimeoutShort',
      evidence: [`${PODS}:`],
      check: (result) =>
        expect(result.summary).toContain(
          'liveness probe of aws-node allows 1 s while its grpc-health-probe waits up to 5 s',
        ),
    },
    {
      name: 'timeouts raised to 30 s on a quiet node',
      files: { [PODS]: podList({ liveness: 30, readiness: 30 }), ...idle, [KUBELET]: journal(noise('08:00:00')) },
      messageId: 'raisedWithoutNeed',
      severity: 'info',
      evidence: [`${PODS}:`, `${LOADAVG}:1`],
    },
  ],
  notEvaluated: [
    {
      name: 'nothing that shows the pod',
      files: { ...idle },
      reason: PODS,
    },
    {
      name: 'container info without cgroup shares and no pod spec',
      files: { [CTR]: ctrInfo(), ...idle },
      reason: "aws-node's CPU request and probe settings are not known",
    },
  ],
});
