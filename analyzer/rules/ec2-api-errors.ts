/**
 * ec2-api-errors: ipamd's calls to EC2 fail, grouped by API and error code.
 *
 * Evidence:
 * - metrics: `awscni_aws_api_error_count{api,error}` (every AWS API error by call and code, pkg/awsutils
 *   `awsAPIErrInc`) and `awscni_ec2api_error_count{fn}` (failed EC2 requests by call), against
 *   `awscni_ec2api_req_count{fn}`;
 * - ipamd.log: the errors ipamd logs with the SDK's text, `operation error EC2: AssignPrivateIpAddresses, https
 *   response error StatusCode: 403, ..., api error UnauthorizedOperation: ...` (SDK v2, v1.16+) or
 *   `UnauthorizedOperation: You are not authorized ...\n\tstatus code: 403, request id: ...` (SDK v1), in messages
 *   such as `Failed to allocate a private IP/Prefix addresses on ENI ...`, `Failed to CreateNetworkInterface ...`,
 *   `Failed to attach ENI ...` (pkg/awsutils/awsutils.go).
 *
 * Missing permissions (`UnauthorizedOperation`, `AccessDenied`) stop ipamd from adding addresses: critical.
 * Throttling (`RequestLimitExceeded`, `Throttling`) and capacity codes slow or stop it: warning. Anything else
 * (`InvalidNetworkInterfaceID.NotFound` while cleaning up, for instance) is worth knowing.
 */

import { defineRule, type FileRef } from '../engine/rule.ts';
import type { IpamdLogEvent } from '../parsers/ipamd-log.ts';
import type { PromTextEvent } from '../parsers/prom-text.ts';
import type { Evidence, Fact, FindingTable, Severity } from '../report/model.ts';

const IPAMD_FILTERS = [
  'RequestLimitExceeded',
  'Throttling',
  'UnauthorizedOperation',
  'AccessDenied',
  'api error ',
  'status code: ',
] as const;

const AUTH_CODES = new Set([
  'UnauthorizedOperation',
  'AccessDenied',
  'AccessDeniedException',
  'AuthFailure',
  'Blocked',
  'OptInRequired',
  'InvalidClientTokenId',
  'ExpiredToken',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
]);
const THROTTLE_CODES = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'EC2ThrottledException',
]);
const CAPACITY_CODES = new Set([
  'InsufficientCidrBlocks',
  'InsufficientFreeAddressesInSubnet',
  'AttachmentLimitExceeded',
  'PrivateIpAddressLimitExceeded',
  'NetworkInterfaceLimitExceeded',
  'InsufficientFreeAddressesInSubnetIpv6',
]);
const KNOWN_CODE = new RegExp(
  `\\b(${[...AUTH_CODES, ...THROTTLE_CODES, ...CAPACITY_CODES].sort((a, b) => b.length - a.length).join('|')})\\b`,
);
/** SDK v2: `api error UnauthorizedOperation: ...`. */
const SDK_V2_CODE = /\bapi error ([A-Za-z][\w.]*):/;
/** SDK v1: `Code: message\n\tstatus code: 400, request id: ...`. */
const SDK_V1_CODE = /\b([A-Z][A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*): [\s\S]*?status code: \d{3}/;
const SDK_V2_API = /operation error EC2: (\w+)/;
const EC2_APIS =
  /\b(AssignPrivateIpAddresses|UnassignPrivateIpAddresses|AssignIpv6Addresses|UnassignIpv6Addresses|CreateNetworkInterface|AttachNetworkInterface|DetachNetworkInterface|DeleteNetworkInterface|DescribeNetworkInterfaces|DescribeInstances|DescribeInstanceTypes|DescribeSubnets|CreateTags|ModifyNetworkInterfaceAttribute)\b/;
/** ipamd messages that name the call only in words (pkg/awsutils/awsutils.go, pkg/ipamd/ipamd.go). */
const API_BY_MESSAGE: readonly [RegExp, string][] = [
  [/Failed to allocate a private IP/i, 'AssignPrivateIpAddresses'],
  [/Failed to attach ENI/i, 'AttachNetworkInterface'],
  [/Failed to detach ENI/i, 'DetachNetworkInterface'],
  [/delete ENI/i, 'DeleteNetworkInterface'],
  [/from EC2 control plane|describe network interface/i, 'DescribeNetworkInterfaces'],
  [/awsGetFreeDeviceNumber|retrieve instance data/i, 'DescribeInstances'],
  [/Failed to tag/i, 'CreateTags'],
  [/unable to update the ENI .* SG/i, 'ModifyNetworkInterfaceAttribute'],
  [/\bec2:(\w+)/, '$1'],
];

const MAX_GROUPS_IN_SUMMARY = 3;
const SAMPLES_PER_GROUP = 1;

type ErrorClass = 'auth' | 'throttle' | 'capacity' | 'other';

interface Group {
  api: string;
  error: string;
  cls: ErrorClass;
  /** From awscni_aws_api_error_count / awscni_ec2api_error_count (since ipamd started). */
  metricCount: number;
  /** Log lines naming this error. */
  logLines: number;
  firstTime?: string;
  lastTime?: string;
  /** The counter's line, when the metrics have one. */
  metricEvidence?: Evidence;
  /** First log lines, and the last one when there are more. */
  samples: Evidence[];
  last?: Evidence;
}

function classify(code: string): ErrorClass {
  if (AUTH_CODES.has(code)) return 'auth';
  if (THROTTLE_CODES.has(code)) return 'throttle';
  if (CAPACITY_CODES.has(code)) return 'capacity';
  return 'other';
}

function errorCodeOf(text: string): string | undefined {
  return SDK_V2_CODE.exec(text)?.[1] ?? KNOWN_CODE.exec(text)?.[1] ?? SDK_V1_CODE.exec(text)?.[1];
}

function apiOf(text: string): string {
  const v2 = SDK_V2_API.exec(text)?.[1];
  if (v2) return v2;
  const named = EC2_APIS.exec(text)?.[1];
  if (named) return named;
  for (const [pattern, api] of API_BY_MESSAGE) {
    const match = pattern.exec(text);
    if (match) return api === '$1' ? (match[1] as string) : api;
  }
  return 'unknown call';
}

const CLASS_RANK: Record<ErrorClass, number> = { auth: 0, throttle: 1, capacity: 2, other: 3 };

export default defineRule({
  meta: {
    id: 'ec2-api-errors',
    title: 'EC2 API errors from ipamd',
    severity: 'warning',
    description:
      'ipamd calls EC2 to create and attach ENIs and to assign addresses. Missing IAM permissions stop it from adding addresses for new pods; throttling delays every allocation and can leave pods waiting.',
    needs: [{ anyOf: ['ipamd-metrics', 'ipamd-log'] }],
    filters: { 'ipamd-log': IPAMD_FILTERS },
    messages: {
      unauthorized:
        'ipamd is not allowed to call {{apis}}: {{count}} UnauthorizedOperation/AccessDenied errors. Its IAM role lacks the VPC CNI permissions (AmazonEKS_CNI_Policy){{others}}.',
      throttled: 'EC2 throttled ipamd: {{count}} {{codes}} errors on {{apis}}{{others}}.',
      errors: "ipamd's AWS API calls failed: {{groups}}.",
      none: 'No AWS API errors from ipamd: {{observed}}.',
    },
    remediation: [
      'See the failing calls in the node\'s ipamd log: `grep -E "UnauthorizedOperation|RequestLimitExceeded|Throttling|api error" /var/log/aws-routed-eni/ipamd.log | tail`.',
      'For UnauthorizedOperation: attach `AmazonEKS_CNI_Policy` (IPv4) or the VPC CNI IPv6 policy to the role aws-node uses (its IRSA or Pod Identity role, else the node role): `aws iam attach-role-policy --role-name <role> --policy-arn arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy`; check SCPs and permission boundaries that deny `ec2:*NetworkInterface*`, and decode an encoded failure message with `aws sts decode-authorization-message --encoded-message <message>`.',
      'For throttling: find who else calls EC2 in the account and region (CloudTrail, `eventSource=ec2.amazonaws.com`), avoid very small `WARM_IP_TARGET` values that make ipamd allocate and release constantly, prefer prefix delegation (fewer calls), and request a higher EC2 API rate limit if the load is legitimate.',
    ],
    references: [
      {
        title: 'VPC CNI: IAM policy the plugin needs',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/iam-policy.md',
      },
      {
        title: 'EKS: configure the Amazon VPC CNI plugin to use IRSA',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/cni-iam-role.html',
      },
      {
        title: 'Request throttling for the Amazon EC2 API',
        url: 'https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html',
      },
    ],
  },
  create(ctx) {
    const groups = new Map<string, Group>();
    /** Failed EC2 requests by call, from awscni_ec2api_error_count (no error code). */
    const ec2Errors = new Map<string, { value: number; evidence: Evidence }>();
    const ec2Requests = new Map<string, number>();
    const requestEvidence: Evidence[] = [];
    let awscniSamples = 0;
    let fetchError: string | undefined;

    const groupFor = (api: string, error: string): Group => {
      const key = `${api}|${error}`;
      let group = groups.get(key);
      if (!group) {
        group = { api, error, cls: classify(error), metricCount: 0, logLines: 0, samples: [] };
        groups.set(key, group);
      }
      return group;
    };

    return {
      'ipamd-log'(event: IpamdLogEvent, file: FileRef) {
        if (event.kind !== 'entry') return;
        const text =
          Object.keys(event.fields).length === 0 ? event.msg : `${event.msg} ${JSON.stringify(event.fields)}`;
        const code = errorCodeOf(text);
        if (!code) return;
        const cls = classify(code);
        // Debug lines repeat errors logged once at error level (retries, "Not able to delete ENI"); keep them only
        // for the codes that matter whatever the level.
        if (event.level === 'debug' && cls !== 'auth' && cls !== 'throttle') return;
        const group = groupFor(apiOf(text), code);
        group.logLines++;
        const evidence = ctx.evidence(file, event, { time: event.ts, highlight: true });
        group.firstTime ??= event.ts;
        if (event.ts) group.lastTime = event.ts;
        if (group.samples.length < SAMPLES_PER_GROUP) group.samples.push(evidence);
        else group.last = evidence;
      },
      'ipamd-metrics'(event: PromTextEvent, file) {
        if (event.kind === 'fetch-error') fetchError ??= event.message;
        if (event.kind !== 'sample' || !event.name.startsWith('awscni_')) return;
        awscniSamples++;
        if (!(event.value > 0)) return;
        if (event.name === 'awscni_aws_api_error_count') {
          const group = groupFor(event.labels.api || 'unknown call', event.labels.error || 'unknown error');
          group.metricCount += event.value;
          group.metricEvidence ??= ctx.evidence(file, event, { highlight: true });
        } else if (event.name === 'awscni_ec2api_error_count') {
          const api = event.labels.fn || 'unknown call';
          ec2Errors.set(api, {
            value: (ec2Errors.get(api)?.value ?? 0) + event.value,
            evidence: ctx.evidence(file, event),
          });
        } else if (event.name === 'awscni_ec2api_req_count') {
          const api = event.labels.fn || 'unknown call';
          ec2Requests.set(api, (ec2Requests.get(api) ?? 0) + event.value);
          if (requestEvidence.length < 3) requestEvidence.push(ctx.evidence(file, event));
        }
      },
      done() {
        // Failed EC2 calls the error-code counter does not explain (older ipamd, or errors without an API code).
        for (const [api, failed] of ec2Errors) {
          const explained = [...groups.values()]
            .filter((group) => group.api === api)
            .reduce((sum, group) => sum + group.metricCount, 0);
          if (failed.value > explained) {
            const group = groupFor(api, 'unspecified error');
            group.metricCount += failed.value - explained;
            group.metricEvidence ??= { ...failed.evidence, highlight: true };
          }
        }
        const requests = [...ec2Requests.values()].reduce((sum, n) => sum + n, 0);
        const list = [...groups.values()]
          .filter((group) => group.metricCount > 0 || group.logLines > 0)
          .sort(
            (a, b) =>
              CLASS_RANK[a.cls] - CLASS_RANK[b.cls] ||
              Math.max(b.metricCount, b.logLines) - Math.max(a.metricCount, a.logLines),
          );
        const log = ctx.bundle.item('ipamd-log');
        const logLines = log.files.reduce((sum, file) => sum + file.lines, 0);
        const facts: Fact[] = [];
        if (requests > 0) facts.push({ label: 'EC2 requests by ipamd since it started', value: String(requests) });

        if (list.length > 0) {
          const count = (group: Group) => Math.max(group.metricCount, group.logLines);
          const describe = (group: Group) => `${group.api} ${group.error} ×${count(group)}`;
          const table: FindingTable = {
            caption: 'AWS API errors by call and error code',
            columns: ['API', 'Error', 'Class', 'Count (metrics)', 'Log lines', 'First seen', 'Last seen'],
            rows: list.map((group) => [
              group.api,
              group.error,
              group.cls,
              group.metricCount > 0 ? String(group.metricCount) : '',
              group.logLines > 0 ? String(group.logLines) : '',
              group.firstTime ?? '',
              group.lastTime ?? '',
            ]),
          };
          const evidence: Evidence[] = [];
          for (const group of list) {
            if (group.metricEvidence) evidence.push(group.metricEvidence);
            evidence.push(...group.samples);
            if (group.last) evidence.push({ ...group.last, note: `last of ${group.logLines} log lines` });
          }
          const auth = list.filter((group) => group.cls === 'auth');
          const throttle = list.filter((group) => group.cls === 'throttle');
          const rest = (shown: Group[]) => {
            const others = list.filter((group) => !shown.includes(group));
            return others.length === 0
              ? ''
              : `; also ${others.slice(0, MAX_GROUPS_IN_SUMMARY).map(describe).join(', ')}${others.length > MAX_GROUPS_IN_SUMMARY ? ` and ${others.length - MAX_GROUPS_IN_SUMMARY} more` : ''}`;
          };
          const apis = (shown: Group[]) => [...new Set(shown.map((group) => group.api))].join(', ');
          const total = (shown: Group[]) => shown.reduce((sum, group) => sum + count(group), 0);
          const severity: Severity =
            auth.length > 0
              ? 'critical'
              : list.some((g) => g.cls === 'throttle' || g.cls === 'capacity')
                ? 'warning'
                : 'info';
          const outcome = { severity, evidence, facts, tables: [table] };
          if (auth.length > 0) {
            ctx.fail('unauthorized', { apis: apis(auth), count: total(auth), others: rest(auth) }, outcome);
          } else if (throttle.length > 0) {
            ctx.fail(
              'throttled',
              {
                count: total(throttle),
                codes: [...new Set(throttle.map((group) => group.error))].join('/'),
                apis: apis(throttle),
                others: rest(throttle),
              },
              outcome,
            );
          } else {
            ctx.fail(
              'errors',
              {
                groups: `${list.slice(0, MAX_GROUPS_IN_SUMMARY).map(describe).join(', ')}${list.length > MAX_GROUPS_IN_SUMMARY ? ` and ${list.length - MAX_GROUPS_IN_SUMMARY} more` : ''}`,
              },
              outcome,
            );
          }
          return;
        }

        const observed: string[] = [];
        const evidence: Evidence[] = [];
        if (awscniSamples > 0) {
          observed.push(
            requests > 0
              ? `the metrics count ${requests} EC2 requests and no AWS API error`
              : 'the metrics hold no awscni_aws_api_error_count series',
          );
          facts.push({ label: 'awscni_aws_api_error_count series', value: 'none (no error since ipamd started)' });
          evidence.push(...requestEvidence);
        }
        if (logLines > 0) {
          observed.push(`no AWS API error in ${logLines.toLocaleString('en-US')} lines of ${log.paths.join(', ')}`);
          for (const file of log.files) {
            if (file.lastLine)
              evidence.push({ path: file.path, line: file.lines, text: file.lastLine, note: 'last line' });
          }
        }
        if (observed.length === 0) {
          const why: string[] = [];
          if (log.present) why.push(`${log.paths.join(', ')} is empty`);
          if (ctx.bundle.item('ipamd-metrics').present) {
            why.push(
              fetchError
                ? `the metrics file holds a curl error (${fetchError})`
                : 'the metrics file holds no awscni metrics',
            );
          }
          ctx.notEvaluated(`nothing to judge AWS API errors on: ${why.join('; ')}`);
          return;
        }
        const caveats =
          awscniSamples === 0
            ? ["Only the log was read: errors count where ipamd logged them with the SDK's error text."]
            : logLines === 0
              ? ['The counters cover the time since ipamd last started.']
              : [];
        ctx.pass('none', { observed: observed.join('; ') }, { evidence, facts, caveats });
      },
    };
  },
});
