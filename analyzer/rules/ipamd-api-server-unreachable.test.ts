import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './ipamd-api-server-unreachable.ts';

const IPAMD = 'var_log/aws-routed-eni/ipamd.log';
const lines = (...all: string[]) => `${all.join('\n')}\n`;
const zap = (level: string, ts: string, caller: string, msg: string) =>
  JSON.stringify({ level, ts: `${ts}Z`, caller, msg });

const start = (ts: string, version = 'v1.19.2') =>
  zap('info', ts, 'aws-k8s-agent/main.go:64', `Starting L-IPAMD ${version}  ...`);
const testing = (ts: string) => zap('info', ts, 'k8sapi/discovery.go:216', 'Testing communication with server');
const connected = (ts: string) =>
  zap(
    'info',
    ts,
    'k8sapi/discovery.go:222',
    'Successful communication with the Cluster! Cluster Version is: v1.29. git version: v1.29.10-eks-7f9249a. git tree state: clean. commit: 3b6a1b8. platform: linux/amd64',
  );
// cmd/aws-k8s-agent/main.go: the error ipamd exits with when the API server cannot be reached (issue reports, v1.10+).
const fatal = (ts: string) =>
  zap(
    'error',
    ts,
    'aws-k8s-agent/main.go:53',
    'Failed to check API server connectivity: error communicating with apiserver: Get "https://172.20.0.1:443/version?timeout=32s": dial tcp 172.20.0.1:443: i/o timeout',
  );
// pkg/k8sapi/discovery.go before v1.12: a timeout is logged and retried.
const unableToReach = (ts: string) =>
  zap(
    'error',
    ts,
    'k8sapi/discovery.go:218',
    'Unable to reach API Server, Get "https://10.100.0.1:443/version?timeout=32s": dial tcp 10.100.0.1:443: i/o timeout',
  );
// The node monitoring agent's IPAMDNotReady "Missing Service Account Token" case.
const noConfig = (ts: string) =>
  zap(
    'error',
    ts,
    'aws-k8s-agent/main.go:53',
    'Failed to check API server connectivity: invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable',
  );
const proceeding = (ts: string) =>
  zap(
    'warn',
    ts,
    'aws-k8s-agent/main.go:112',
    'Proceeding without API server connectivity, will run background API server connectivity check',
  );

ruleTester(rule, {
  pass: [
    {
      name: 'stock bundle ipamd.log: one start, API server reached',
      files: {
        [IPAMD]: lines(
          start('2025-02-01T08:00:00.100'),
          testing('2025-02-01T08:00:00.200'),
          connected('2025-02-01T08:00:00.300'),
        ),
      },
      messageId: 'healthy',
      evidence: [`${IPAMD}:1`, `${IPAMD}:3`],
      check: (result) => {
        expect(result.summary).toContain('ipamd started once in 3 lines');
        expect(result.facts).toContainEqual({ label: 'VPC CNI versions started', value: 'v1.19.2' });
      },
    },
    {
      name: 'pre-1.6 seelog ipamd.log with two starts',
      files: {
        [IPAMD]: lines(
          '2019-03-01T10:00:00Z [INFO] Starting L-IPAMD v1.3.2  ...',
          '2019-03-01T10:00:01Z [INFO] Testing communication with server',
          '2019-03-05T10:00:00Z [INFO] Starting L-IPAMD v1.3.3  ...',
        ),
      },
      messageId: 'healthy',
      evidence: [`${IPAMD}:1`, `${IPAMD}:3`],
    },
  ],
  fail: [
    {
      name: 'ipamd exits because the API server times out, and restarts again and again',
      files: {
        [IPAMD]: lines(
          ...[0, 1, 2, 3, 4, 5].flatMap((n) => [
            start(`2025-02-01T08:0${n}:00.000`),
            fatal(`2025-02-01T08:0${n}:32.000`),
          ]),
        ),
      },
      messageId: 'unreachable',
      severity: 'critical',
      evidence: [`${IPAMD}:2`, `${IPAMD}:4`, `${IPAMD}:12`],
      check: (result) => {
        expect(result.summary).toContain('6 times from 2025-02-01T08:00:32.000Z to 2025-02-01T08:05:32.000Z');
        expect(result.summary).toContain('ipamd exits');
        expect(result.summary).toContain('ipamd started 6 times (6 within one day)');
      },
    },
    {
      name: 'the service account token is missing',
      files: { [IPAMD]: lines(start('2025-02-01T08:00:00.000'), noConfig('2025-02-01T08:00:00.010')) },
      messageId: 'noServiceAccount',
      severity: 'critical',
      evidence: [`${IPAMD}:2`],
    },
    {
      name: 'older ipamd timed out reaching the API server, then connected',
      files: {
        [IPAMD]: lines(
          start('2020-06-01T08:00:00.000', 'v1.6.3'),
          unableToReach('2020-06-01T08:00:33.000'),
          unableToReach('2020-06-01T08:01:06.000'),
          connected('2020-06-01T08:01:10.000'),
        ),
      },
      messageId: 'unreachable',
      severity: 'warning',
      evidence: [`${IPAMD}:2`, `${IPAMD}:3`, `${IPAMD}:4`],
      check: (result) => expect(result.summary).toContain('it connected afterwards (2020-06-01T08:01:10.000Z)'),
    },
    {
      name: 'v1.20+ ipamd started without the API server and never connected',
      files: { [IPAMD]: lines(start('2025-02-01T08:00:00.000'), proceeding('2025-02-01T08:00:30.000')) },
      messageId: 'unreachable',
      severity: 'warning',
      evidence: [`${IPAMD}:2`],
      check: (result) => expect(result.caveats.join(' ')).toMatch(/background/),
    },
    {
      name: 'six starts within an hour without connectivity errors',
      files: {
        [IPAMD]: lines(
          ...[0, 1, 2, 3, 4, 5].map((n) => start(`2025-02-01T09:${n}0:00.000`)),
          connected('2025-02-01T09:50:01.000'),
        ),
      },
      messageId: 'restarts',
      severity: 'warning',
      evidence: [`${IPAMD}:1`, `${IPAMD}:6`],
      check: (result) => expect(result.summary).toContain('ipamd started 6 times'),
    },
    {
      name: 'five starts spread over ten days (upgrades and reboots) are worth knowing',
      files: {
        [IPAMD]: lines(
          start('2025-02-01T09:00:00.000', 'v1.18.5'),
          start('2025-02-03T09:00:00.000', 'v1.18.5'),
          start('2025-02-05T09:00:00.000', 'v1.19.0'),
          start('2025-02-08T09:00:00.000', 'v1.19.0'),
          start('2025-02-11T09:00:00.000', 'v1.19.2'),
        ),
      },
      messageId: 'restarts',
      severity: 'info',
      evidence: [`${IPAMD}:1`, `${IPAMD}:5`],
      check: (result) => {
        expect(result.summary).toContain('(1 within one day)');
        expect(result.summary).toContain('versions v1.18.5, v1.19.0, v1.19.2');
      },
    },
  ],
  notEvaluated: [
    {
      name: 'no ipamd log in the bundle',
      files: { 'ipamd/metrics.json': 'awscni_eni_max 3\n' },
      reason: 'var_log/aws-routed-eni/ipamd.log',
    },
    {
      name: 'an empty ipamd log',
      files: { [IPAMD]: '' },
      reason: 'is empty',
    },
    {
      name: 'our agent could not copy the log',
      files: {},
      manifest: { 'ipamd-log': { status: 'error', reason: 'EACCES: permission denied' } },
      reason: 'EACCES',
    },
  ],
});
