import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './kubelet-probe-failures.ts';

const host = 'ip-10-0-1-23.ec2.internal';
const kubelet = (time: string, body: string) => `Nov 20 ${time} ${host} kubelet[3412]: ${body}`;
const awsNodeLiveness = (time: string) =>
  kubelet(
    time,
    `I1120 ${time}.123456    3412 prober.go:107] "Probe failed" probeType="Liveness" pod="kube-system/aws-node-7xk2p" podUID="0b5a2c1e-8f3d-4e2a-9c61-2f0d1e7a9b44" containerName="aws-node" probeResult="failure" output="timeout: failed to connect service \\":50051\\" within 5s"`,
  );
const awsNodeReadiness = (time: string) =>
  kubelet(
    time,
    `I1120 ${time}.223456    3412 prober.go:107] "Probe failed" probeType="Readiness" pod="kube-system/aws-node-7xk2p" podUID="0b5a2c1e-8f3d-4e2a-9c61-2f0d1e7a9b44" containerName="aws-node" probeResult="failure" output="timeout: failed to connect service \\":50051\\" within 5s"`,
  );
const restart = (time: string) =>
  kubelet(
    time,
    `I1120 ${time}.323456    3412 kuberuntime_manager.go:1027] "Message for Container of pod" containerName="aws-node" containerStatusID={"Type":"containerd","ID":"7f9c"} pod="kube-system/aws-node-7xk2p" containerMessage="Container aws-node failed liveness probe, will be restarted"`,
  );
const noise = (time: string) =>
  kubelet(
    time,
    `I1120 ${time}.000001    3412 kubelet_getters.go:187] "Pod status updated" pod="kube-system/kube-proxy-abcde" status="Running"`,
  );

ruleTester(rule, {
  pass: [
    {
      name: 'journal with ordinary noise only',
      files: { 'kubelet/kubelet.log': [noise('08:00:00'), noise('08:00:10'), noise('08:00:20'), ''].join('\n') },
      messageId: 'none',
      evidence: ['kubelet/kubelet.log:1', 'kubelet/kubelet.log:3'],
    },
    {
      name: 'journalctl reports no entries',
      files: { 'kubelet/kubelet.log': '-- No entries --\n' },
      messageId: 'none',
    },
  ],
  fail: [
    {
      name: 'aws-node liveness and readiness timeouts with restarts (critical)',
      files: {
        'kubelet/kubelet.log': [
          noise('08:40:00'),
          awsNodeLiveness('08:41:07'),
          awsNodeReadiness('08:41:08'),
          awsNodeLiveness('08:41:17'),
          awsNodeLiveness('08:41:27'),
          restart('08:41:27'),
          noise('08:42:00'),
          '',
        ].join('\n'),
      },
      messageId: 'failures',
      severity: 'critical',
      evidence: ['kubelet/kubelet.log:2', 'kubelet/kubelet.log:3', 'kubelet/kubelet.log:6'],
      check: (result) => {
        expect(result.summary).toContain('4 probe failures (4 timeouts)');
        expect(result.summary).toContain('aws-node');
        const table = result.tables[0];
        expect(table?.rows[0]?.slice(0, 5)).toEqual(['kube-system/aws-node-7xk2p', 'aws-node', 'Liveness', '3', '3']);
        expect(table?.rows[0]?.[7]).toBe('1');
        expect(table?.rows[0]?.[8]).toBe('timeout: failed to connect service ":50051" within 5s');
      },
    },
    {
      name: 'an application readiness failure in the pre-1.20 format is a warning',
      files: {
        'kubelet/kubelet.log': [
          noise('09:00:00'),
          kubelet(
            '09:00:01',
            'I1120 09:00:01.000001    3412 prober.go:116] Readiness probe for "web-5d9c_shop(2c1e0b5a-8f3d):web" failed (failure): HTTP probe failed with statuscode: 503',
          ),
          '',
        ].join('\n'),
      },
      messageId: 'failures',
      severity: 'warning',
      evidence: ['kubelet/kubelet.log:2'],
      check: (result) => expect(result.tables[0]?.rows[0]?.slice(0, 3)).toEqual(['shop/web-5d9c', 'web', 'Readiness']),
    },
    {
      name: 'legacy bundle: kubelet lines only in /var/log/messages',
      files: { 'var_log/messages': [noise('08:00:00'), awsNodeLiveness('08:41:07'), ''].join('\n') },
      messageId: 'failures',
      severity: 'critical',
      evidence: ['var_log/messages:2'],
    },
  ],
  notEvaluated: [
    {
      name: 'no kubelet journal and no syslog',
      files: { 'system/top.txt': 'top - 10:00:00 up 1 day\n' },
      reason: 'kubelet/kubelet.log',
    },
    {
      name: 'kubelet journal failed to collect',
      files: {},
      manifest: { 'kubelet-log': { status: 'error', reason: 'journalctl: command not found' } },
      reason: 'journalctl: command not found',
    },
  ],
});
