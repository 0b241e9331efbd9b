import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './eni-limit-reached.ts';

const IPAMD = 'var_log/aws-routed-eni/ipamd.log';
const METRICS = 'ipamd/metrics.json';
const ENIS = 'ipamd/enis.json';

const lines = (...all: string[]) => `${all.join('\n')}\n`;
const zap = (level: string, ts: string, caller: string, msg: string) =>
  JSON.stringify({ level, ts: `2025-03-04T${ts}Z`, caller, msg });

/** ipamd's exposition, in the order promhttp writes it (after cmd/cni-metrics-helper/metrics/cni_test1.data). */
const metrics = (v: { allocated: number; max: number; total: number; assigned: number; noAvailable?: number }) =>
  lines(
    '# HELP awscni_assigned_ip_addresses The number of IP addresses assigned to pods',
    '# TYPE awscni_assigned_ip_addresses gauge',
    `awscni_assigned_ip_addresses ${v.assigned}`,
    '# HELP awscni_eni_allocated The number of ENIs allocated',
    '# TYPE awscni_eni_allocated gauge',
    `awscni_eni_allocated ${v.allocated}`,
    '# HELP awscni_eni_max The maximum number of ENIs that can be attached to the instance, accounting for unmanaged ENIs',
    '# TYPE awscni_eni_max gauge',
    `awscni_eni_max ${v.max}`,
    '# HELP awscni_ip_max The maximum number of IP addresses that can be allocated to the instance',
    '# TYPE awscni_ip_max gauge',
    `awscni_ip_max ${v.max * 9}`,
    '# HELP awscni_no_available_ip_addresses The number of pod IP assignments that fail due to no available IP addresses',
    '# TYPE awscni_no_available_ip_addresses counter',
    `awscni_no_available_ip_addresses ${v.noAvailable ?? 0}`,
    '# HELP awscni_total_ip_addresses The total number of IP addresses',
    '# TYPE awscni_total_ip_addresses gauge',
    `awscni_total_ip_addresses ${v.total}`,
  );

const skipping = (ts: string) =>
  zap('debug', ts, 'ipamd/ipamd.go:811', 'Skipping ENI allocation as the max ENI limit is already reached');
const skippingOld = (ts: string) =>
  zap(
    'debug',
    ts,
    'ipamd/ipamd.go:680',
    "Skipping ENI allocation as the instance's max ENI limit of 3 is already reached (accounting for 0 unmanaged ENIs)",
  );
/** v1.7–v1.8 `/v1/enis`: three ENIs of 9 addresses each, all assigned (an older shape). */
const enisV17 = JSON.stringify({
  TotalIPs: 27,
  AssignedIPs: 27,
  ENIs: Object.fromEntries(
    [0, 1, 2].map((device) => [
      `eni-0${device}aa`,
      {
        ID: `eni-0${device}aa`,
        IsPrimary: device === 0,
        IsTrunk: false,
        DeviceNumber: device,
        IPv4Addresses: Object.fromEntries(
          Array.from({ length: 9 }, (_, i) => [
            `10.0.${device}.${10 + i}`,
            {
              Address: `10.0.${device}.${10 + i}`,
              IPAMKey: { networkName: 'aws-cni', containerID: `c${device}${i}`, ifName: 'eth0' },
              UnassignedTime: '0001-01-01T00:00:00Z',
            },
          ]),
        ),
      },
    ]),
  ),
});

ruleTester(rule, {
  pass: [
    {
      name: 'stock bundle metrics.json: 2 of 3 ENIs attached (cni_test1.data)',
      files: { [METRICS]: metrics({ allocated: 2, max: 3, total: 10, assigned: 1 }) },
      messageId: 'belowLimit',
      evidence: [`${METRICS}:6`, `${METRICS}:9`],
      check: (result) => expect(result.summary).toBe('2 of 3 ENIs are attached; 1 of 10 addresses are assigned.'),
    },
    {
      name: 'only the ipamd log, without limit messages: pass with a caveat',
      files: {
        [IPAMD]: lines(zap('info', '10:00:00.000', 'aws-k8s-agent/main.go:42', 'Starting L-IPAMD v1.19.2  ...')),
      },
      messageId: 'noLimitMessages',
      evidence: [`${IPAMD}:1`],
      check: (result) => expect(result.caveats.join(' ')).toMatch(/count against the limit is unknown/),
    },
  ],
  fail: [
    {
      name: 'at the limit with free addresses is worth knowing',
      files: { [METRICS]: metrics({ allocated: 3, max: 3, total: 27, assigned: 10 }) },
      messageId: 'atLimit',
      severity: 'info',
      evidence: [`${METRICS}:6`, `${METRICS}:9`],
      check: (result) => expect(result.summary).toContain('(3 of 3); 10 of 27 addresses are assigned'),
    },
    {
      name: 'at the limit while pods fail for lack of an address (v1.7–v1.8 enis shape)',
      files: {
        [METRICS]: metrics({ allocated: 3, max: 3, total: 27, assigned: 27, noAvailable: 5 }),
        [ENIS]: enisV17,
      },
      messageId: 'atLimit',
      severity: 'critical',
      evidence: [`${METRICS}:6`, `${METRICS}:9`, `${METRICS}:15`],
      check: (result) => {
        expect(result.summary).toContain('27 of 27 addresses are assigned');
        expect(result.summary).toContain('cannot hold more than 27 addresses');
        expect(result.tables[0]?.rows).toHaveLength(3);
      },
    },
    {
      name: 'ipamd skipped ENI allocation at the limit (both message forms) with a full pool',
      files: {
        [IPAMD]: lines(skippingOld('10:00:05.000'), skipping('10:00:10.000'), skipping('10:00:15.000')),
        [ENIS]: enisV17,
      },
      messageId: 'skipping',
      severity: 'critical',
      evidence: [`${IPAMD}:1`, `${IPAMD}:2`, `${IPAMD}:3`],
      check: (result) =>
        expect(result.summary).toContain('3 times from 2025-03-04T10:00:05.000Z to 2025-03-04T10:00:15.000Z'),
    },
    {
      name: 'AttachmentLimitExceeded from EC2 in an old seelog ipamd.log',
      files: {
        [IPAMD]: lines(
          '2019-06-13T18:02:55Z [INFO] Trying to allocate an ENI',
          '2019-06-13T18:02:56Z [ERROR] Failed to attach ENI eni-0fe2c4d8a1b3c5e7f: AttachmentLimitExceeded: Interface count 4 exceeds the limit for c5.large',
        ),
      },
      messageId: 'attachmentLimit',
      severity: 'warning',
      evidence: [`${IPAMD}:2`],
      check: (result) => expect(result.summary).toContain('AttachmentLimitExceeded once at 2019-06-13T18:02:56Z'),
    },
  ],
  notEvaluated: [
    {
      name: 'neither metrics nor the ipamd log (enis.json alone)',
      files: { [ENIS]: enisV17 },
      reason: 'ipamd/metrics.json',
    },
    {
      name: 'stock bundle where ipamd answered nothing',
      files: { [METRICS]: '', [IPAMD]: '' },
      reason: 'nothing to compare with the ENI limit',
    },
    {
      name: 'metrics file holding a curl error',
      files: { [METRICS]: 'curl: (28) Operation timed out after 3001 milliseconds with 0 bytes received\n' },
      reason: 'curl error',
    },
    {
      name: 'metrics collection disabled by --ignore_metrics and no log',
      files: { 'ipamd/ipam_metrics_ignore.txt': 'ignore metrics\n' },
      reason: 'none of ipamd/metrics.json, var_log/aws-routed-eni/ipamd.log',
    },
  ],
});
