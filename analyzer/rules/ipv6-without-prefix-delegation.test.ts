import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import { awsNodeContainerInfo, awsNodePod, podList as podListOf } from './data/fixtures.ts';
import rule from './ipv6-without-prefix-delegation.ts';

const CTR = 'cni/cni-configuration-variables-containerd.json';
const PODS = 'kubelet/pods.json';
const IPAMD = 'var_log/aws-routed-eni/ipamd.log';

const ctrInfo = (env: string[]) => awsNodeContainerInfo(env);

// An aws-node pod as `kubectl get pods -o json` lists it (config/master/aws-k8s-cni.yaml rendered).
const podList = (main: Record<string, string>, init: Record<string, string>) =>
  podListOf(
    awsNodePod({
      env: { AWS_VPC_K8S_CNI_VETHPREFIX: 'eni', WARM_PREFIX_TARGET: '1', ...main },
      initEnv: { DISABLE_TCP_EARLY_DEMUX: 'false', ...init },
    }),
  );

const ipamdLine = (ts: string, msg: string, level = 'error') =>
  JSON.stringify({ level, ts, caller: 'ipamd/ipamd.go:2316', msg });
const DUAL_STACK = 'IPv4 and IPv6 are both enabled. VPC CNI currently does not support dual stack mode';
const NO_PD =
  'IPv6 is supported only in Prefix Delegation mode. Custom Networking is not supported in IPv6 mode. Please set the env variables accordingly.';

ruleTester(rule, {
  pass: [
    {
      name: 'stock layout: IPv4 as the manifest sets it',
      files: {
        [CTR]: ctrInfo(['ENABLE_IPv4=true', 'ENABLE_IPv6=false', 'ENABLE_PREFIX_DELEGATION=false']),
        [IPAMD]: `${ipamdLine('2026-11-20T08:01:13.002Z', 'Starting L-IPAMD v1.19.2  ...', 'info')}\n`,
      },
      messageId: 'ipv4',
      evidence: [`${CTR}:`],
      check: (result) =>
        expect(result.summary).toBe('IPv4 mode, as the VPC CNI supports it: ENABLE_IPv4=true, ENABLE_IPv6=false.'),
    },
    {
      name: 'IPv6 cluster: both containers, IPv4 off, prefix delegation on',
      files: {
        [PODS]: podList(
          { ENABLE_IPv4: 'false', ENABLE_IPv6: 'true', ENABLE_PREFIX_DELEGATION: 'true' },
          { ENABLE_IPv6: 'true' },
        ),
      },
      messageId: 'ipv6',
      evidence: [`${PODS}:`],
      check: (result) => {
        expect(result.summary).toContain('aws-vpc-cni-init ENABLE_IPv6=true');
        expect(result.caveats).toEqual([]);
      },
    },
    {
      name: 'refusals left in ipamd.log from before the settings were fixed',
      files: {
        [CTR]: ctrInfo(['ENABLE_IPv4=false', 'ENABLE_IPv6=true', 'ENABLE_PREFIX_DELEGATION=true']),
        [IPAMD]: `${ipamdLine('2026-11-19T22:10:01.100Z', DUAL_STACK)}\n`,
      },
      messageId: 'ipv6',
      check: (result) => {
        expect(result.caveats.join('\n')).toContain('1 earlier refusal(s)');
        expect(result.caveats.join('\n')).toContain('kubelet/pods.json');
      },
    },
  ],
  fail: [
    {
      name: 'stock layout: IPv6 turned on without turning IPv4 off (dual-stack)',
      files: {
        [CTR]: ctrInfo(['ENABLE_IPv6=true', 'ENABLE_PREFIX_DELEGATION=true']),
        [IPAMD]: [
          ipamdLine('2026-11-20T08:01:13.002Z', 'Starting L-IPAMD v1.19.2  ...', 'info'),
          ipamdLine('2026-11-20T08:01:13.410Z', DUAL_STACK),
          '',
        ].join('\n'),
      },
      messageId: 'dualStack',
      severity: 'critical',
      evidence: [`${CTR}:`, `${IPAMD}:2`],
      check: (result) => expect(result.summary).toContain('ENABLE_IPv4 not set (default true), ENABLE_IPv6=true'),
    },
    {
      // The message ipamd logs (pkg/ipamd/ipamd.go isConfigValid) when prefix delegation is off in IPv6 mode.
      name: 'IPv6 without prefix delegation',
      files: {
        [PODS]: podList({ ENABLE_IPv4: 'false', ENABLE_IPv6: 'true' }, { ENABLE_IPv6: 'true' }),
        [IPAMD]: `${ipamdLine('2026-11-20T08:01:13.410Z', NO_PD)}\n`,
      },
      messageId: 'noPrefixDelegation',
      severity: 'critical',
      evidence: [`${PODS}:`, `${IPAMD}:1`],
      check: (result) =>
        expect(result.summary).toContain('prefix delegation is off (ENABLE_PREFIX_DELEGATION not set (default false))'),
    },
    {
      name: 'IPv6 node whose init container was left at ENABLE_IPv6=false',
      files: {
        [PODS]: podList(
          { ENABLE_IPv4: 'false', ENABLE_IPv6: 'true', ENABLE_PREFIX_DELEGATION: 'true' },
          { ENABLE_IPv6: 'false' },
        ),
      },
      messageId: 'initMismatch',
      severity: 'critical',
      evidence: [`${PODS}:`],
      check: (result) => expect(result.summary).toContain('net.ipv6.conf.all.forwarding=1'),
    },
    {
      name: 'IPv4 node whose init container enables IPv6 (half-applied change) is a warning',
      files: { [PODS]: podList({ ENABLE_IPv4: 'true', ENABLE_IPv6: 'false' }, { ENABLE_IPv6: 'true' }) },
      messageId: 'initMismatch',
      severity: 'warning',
      evidence: [`${PODS}:`],
    },
    {
      name: 'both families disabled ("False" read the way Go reads it)',
      files: { [CTR]: ctrInfo(['ENABLE_IPv4=false', 'ENABLE_IPv6=False']) },
      messageId: 'noneEnabled',
      severity: 'critical',
      evidence: [`${CTR}:`],
    },
    {
      name: 'stock bundle with only ipamd.log: the refusal is the evidence',
      files: {
        [IPAMD]: [
          ipamdLine('2026-11-20T08:01:13.410Z', DUAL_STACK),
          ipamdLine('2026-11-20T08:01:43.410Z', DUAL_STACK),
          '',
        ].join('\n'),
      },
      messageId: 'fromLogs',
      severity: 'critical',
      evidence: [`${IPAMD}:1`, `${IPAMD}:2`],
      check: (result) => {
        expect(result.summary).toContain('2 time(s)');
        expect(result.caveats.join('\n')).toContain(CTR);
      },
    },
  ],
  notEvaluated: [
    {
      name: 'ipamd.log without refusals and no environment',
      files: { [IPAMD]: `${ipamdLine('2026-11-20T08:01:13.002Z', 'Starting L-IPAMD v1.19.2  ...', 'info')}\n` },
      reason: "aws-node's IP family settings (ENABLE_IPv4, ENABLE_IPv6) are not known",
    },
    {
      name: 'nothing that tells',
      files: { 'kubelet/kubelet.log': '-- No entries --\n' },
      reason: IPAMD,
    },
  ],
});
