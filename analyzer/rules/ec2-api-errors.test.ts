import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './ec2-api-errors.ts';

const IPAMD = 'var_log/aws-routed-eni/ipamd.log';
const METRICS = 'ipamd/metrics.json';

const lines = (...all: string[]) => `${all.join('\n')}\n`;
const zap = (level: string, ts: string, caller: string, msg: string) =>
  JSON.stringify({ level, ts: `2025-05-06T${ts}Z`, caller, msg });

const requests = [
  '# HELP awscni_ec2api_req_count The number of requests made to EC2 APIs by CNI',
  '# TYPE awscni_ec2api_req_count counter',
  'awscni_ec2api_req_count{fn="AssignPrivateIpAddresses"} 31',
  'awscni_ec2api_req_count{fn="DescribeNetworkInterfaces"} 13',
];
const apiErrors = (...series: string[]) => [
  '# HELP awscni_aws_api_error_count The number of times AWS API returns an error',
  '# TYPE awscni_aws_api_error_count counter',
  ...series,
];
const ec2Errors = (...series: string[]) => [
  '# HELP awscni_ec2api_error_count The number of failed EC2 APIs requests',
  '# TYPE awscni_ec2api_error_count counter',
  ...series,
];

// ipamd v1.16+ (aws-sdk-go-v2) on a node role without AmazonEKS_CNI_Policy (pkg/awsutils/awsutils.go AllocIPAddresses).
const unauthorized = (ts: string) =>
  zap(
    'error',
    ts,
    'awsutils/awsutils.go:1031',
    'Failed to allocate a private IP/Prefix addresses on ENI eni-0a1b2c3d4e5f60718: operation error EC2: AssignPrivateIpAddresses, https response error StatusCode: 403, RequestID: 1f2e3d4c-5b6a-4789-8a9b-0c1d2e3f4a5b, api error UnauthorizedOperation: You are not authorized to perform this operation. User: arn:aws:sts::111122223333:assumed-role/eks-node-role/i-0abc is not authorized to perform: ec2:AssignPrivateIpAddresses on resource: arn:aws:ec2:us-east-1:111122223333:network-interface/eni-0a1b2c3d4e5f60718 because no identity-based policy allows the ec2:AssignPrivateIpAddresses action.',
  );
// An older ipamd (aws-sdk-go v1 error text) throttled while describing ENIs.
const throttled = (ts: string) =>
  zap(
    'error',
    ts,
    'awsutils/awsutils.go:1288',
    'Failed to get ENI eni-0a1b2c3d4e5f60718 information from EC2 control plane RequestLimitExceeded: Request limit exceeded.\n\tstatus code: 503, request id: 9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b',
  );
const benignDebug = zap(
  'debug',
  '10:00:03.000',
  'awsutils/awsutils.go:1190',
  "Not able to delete ENI: InvalidNetworkInterfaceID.NotFound: The networkInterface ID 'eni-0dead' does not exist\n\tstatus code: 400, request id: 0a1b",
);
const start = zap('info', '10:00:00.000', 'aws-k8s-agent/main.go:42', 'Starting L-IPAMD v1.19.2  ...');

ruleTester(rule, {
  pass: [
    {
      name: 'stock bundle metrics.json: requests counted, no error series',
      files: { [METRICS]: lines(...requests, '# TYPE awscni_eni_max gauge', 'awscni_eni_max 3') },
      messageId: 'none',
      evidence: [`${METRICS}:3`, `${METRICS}:4`],
      check: (result) => expect(result.summary).toContain('44 EC2 requests and no AWS API error'),
    },
    {
      name: 'only the log; a debug-level benign error is not counted',
      files: { [IPAMD]: lines(start, benignDebug) },
      messageId: 'none',
      evidence: [`${IPAMD}:2`],
      check: (result) => expect(result.caveats.join(' ')).toMatch(/Only the log was read/),
    },
  ],
  fail: [
    {
      name: 'UnauthorizedOperation on AssignPrivateIpAddresses, in the log and the counters',
      files: {
        [IPAMD]: lines(start, unauthorized('10:01:00.000'), unauthorized('10:01:05.000'), unauthorized('10:01:10.000')),
        [METRICS]: lines(
          ...apiErrors('awscni_aws_api_error_count{api="AssignPrivateIpAddresses",error="UnauthorizedOperation"} 14'),
          ...requests,
        ),
      },
      messageId: 'unauthorized',
      severity: 'critical',
      evidence: [`${METRICS}:3`, `${IPAMD}:2`, `${IPAMD}:4`],
      check: (result) => {
        expect(result.summary).toContain('not allowed to call AssignPrivateIpAddresses: 14 UnauthorizedOperation');
        expect(result.tables[0]?.rows[0]).toEqual([
          'AssignPrivateIpAddresses',
          'UnauthorizedOperation',
          'auth',
          '14',
          '3',
          '2025-05-06T10:01:00.000Z',
          '2025-05-06T10:01:10.000Z',
        ]);
      },
    },
    {
      name: 'RequestLimitExceeded from an SDK v1 ipamd, with other errors listed too',
      files: {
        [IPAMD]: lines(start, throttled('10:02:00.000'), throttled('10:02:30.000')),
        [METRICS]: lines(
          ...apiErrors(
            'awscni_aws_api_error_count{api="DeleteNetworkInterface",error="InvalidParameterValue"} 14',
            'awscni_aws_api_error_count{api="DescribeNetworkInterfaces",error="RequestLimitExceeded"} 12',
          ),
        ),
      },
      messageId: 'throttled',
      severity: 'warning',
      evidence: [`${METRICS}:4`, `${IPAMD}:2`],
      check: (result) => {
        expect(result.summary).toBe(
          'EC2 throttled ipamd: 12 RequestLimitExceeded errors on DescribeNetworkInterfaces; also DeleteNetworkInterface InvalidParameterValue ×14.',
        );
      },
    },
    {
      name: 'other errors only are worth knowing (cmd/cni-metrics-helper/metrics/cni_test1.data)',
      files: {
        [METRICS]: lines(
          ...apiErrors('awscni_aws_api_error_count{api="DeleteNetworkInterface",error="InvalidParameterValue"} 14'),
          ...requests,
        ),
      },
      messageId: 'errors',
      severity: 'info',
      evidence: [`${METRICS}:3`],
      check: (result) => expect(result.summary).toContain('DeleteNetworkInterface InvalidParameterValue ×14'),
    },
    {
      name: 'failed EC2 requests without an error code (awscni_ec2api_error_count only)',
      files: {
        [METRICS]: lines(...ec2Errors('awscni_ec2api_error_count{fn="AttachNetworkInterface"} 2'), ...requests),
      },
      messageId: 'errors',
      severity: 'info',
      evidence: [`${METRICS}:3`],
      check: (result) => expect(result.summary).toContain('AttachNetworkInterface unspecified error ×2'),
    },
  ],
  notEvaluated: [
    {
      name: 'neither the metrics nor the ipamd log',
      files: { 'ipamd/enis.json': '{"TotalIPs":0,"AssignedIPs":0,"ENIs":{}}' },
      reason: 'none of ipamd/metrics.json, var_log/aws-routed-eni/ipamd.log',
    },
    {
      name: 'stock bundle where ipamd answered nothing and the log is empty',
      files: { [METRICS]: '', [IPAMD]: '' },
      reason: 'nothing to judge AWS API errors on',
    },
    {
      name: 'metrics file holding a curl error',
      files: { [METRICS]: 'curl: (7) Failed to connect to localhost port 61678: Connection refused\n' },
      reason: 'curl error',
    },
  ],
});
