/**
 * ip-forwarding-disabled: the kernel does not forward packets, so the node cannot route pod traffic.
 *
 * VPC CNI pods sit behind host-side veths; every packet between a pod and anything else is routed by the host. With
 * `net.ipv4.ip_forward = 0` that stops (the EKS node monitoring agent's NetworkSysctl check). Hardening baselines for
 * custom AMIs often turn it off. In IPv6 clusters the aws-vpc-cni-init container sets `net.ipv6.conf.all.forwarding = 1`
 * (cmd/aws-vpc-cni-init: when ENABLE_IPv6 is true), and something that resets it afterwards breaks IPv6 pods.
 *
 * Whether IPv6 is on comes from ENABLE_IPv6 in the aws-node container's environment, through the shared aws-node view
 * (shared/aws-node-config.ts: the runtime's `ctr container info` / `docker inspect` first, then the pod spec in the
 * node's pod list, then ipamd's introspection). Without any of them IPv6 forwarding is reported, not judged.
 */

import { defineRule } from '../engine/rule.ts';
import type { Evidence, Fact } from '../report/model.ts';
import {
  createAwsNodeConfigCollector,
  describeEnv,
  effectiveValue,
  envEvidence,
  isKnown,
  lookupEnv,
  parseGoBool,
  SOURCE_LABEL,
} from './shared/aws-node-config.ts';

interface SysctlReading {
  value: string;
  evidence: Evidence;
}

export default defineRule({
  meta: {
    id: 'ip-forwarding-disabled',
    title: 'IP forwarding disabled',
    severity: 'critical',
    description:
      'The host routes every packet between a pod and the rest of the VPC. With net.ipv4.ip_forward = 0 (often set by hardening baselines on custom AMIs), or net.ipv6.conf.all.forwarding = 0 in an IPv6 cluster, pod traffic stops at the node.',
    needs: ['sysctl-all'],
    uses: ['cni-env-containerd', 'cni-env-dockerd', 'kubelet-pods', 'ipamd-env', 'ipamd-networkutils-env'],
    filters: { 'sysctl-all': ['ip_forward', 'conf.all.forwarding', 'conf.all.disable_ipv6'] },
    messages: {
      ipv4Off:
        'IPv4 forwarding is off (net.ipv4.ip_forward = {{value}}): the node does not route packets to and from its pods.',
      ipv6Off:
        'IPv6 forwarding is off (net.ipv6.conf.all.forwarding = {{value}}) while the VPC CNI runs in IPv6 mode (ENABLE_IPv6=true per {{source}}): IPv6 pod traffic stops at the node.',
      on: 'IP forwarding is on: net.ipv4.ip_forward = 1{{ipv6}}.',
    },
    remediation: [
      'Turn forwarding back on now: `sudo sysctl -w net.ipv4.ip_forward=1` (IPv6 clusters also `sudo sysctl -w net.ipv6.conf.all.forwarding=1`).',
      'Find what turned it off, so it stays on after a reboot: `sudo grep -rn "forward" /etc/sysctl.conf /etc/sysctl.d/ /usr/lib/sysctl.d/ /run/sysctl.d/` (CIS-style hardening sets `net.ipv4.ip_forward = 0`); set it to 1 in a file that sorts last, e.g. `/etc/sysctl.d/99-zz-eks-forwarding.conf`, and rebuild the AMI.',
      'In IPv6 clusters the aws-vpc-cni-init container enables IPv6 forwarding at start; after fixing the cause, restart aws-node on the node: `kubectl -n kube-system delete pod <aws-node pod on the node>`.',
    ],
    references: [
      {
        title: 'EKS node monitoring agent: NetworkSysctl (net.ipv4.ip_forward)',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/node-health.html',
      },
      {
        title: 'Kubernetes: container runtime prerequisites, enable IPv4 packet forwarding',
        url: 'https://kubernetes.io/docs/setup/production-environment/container-runtimes/#prerequisite-ipv4-forwarding-optional',
      },
      {
        title: 'Amazon EKS: IPv6 addresses for clusters, pods and services',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/cni-ipv6.html',
      },
      {
        title: 'amazon-vpc-cni-k8s: aws-vpc-cni-init sets net.ipv6.conf.all.forwarding when ENABLE_IPv6=true',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/cmd/aws-vpc-cni-init/main.go',
      },
    ],
  },
  create(ctx) {
    const sysctls = new Map<string, SysctlReading>();
    const awsNode = createAwsNodeConfigCollector();

    return {
      'sysctl-all'(event, file) {
        if (event.kind !== 'value' || sysctls.has(event.key)) return;
        sysctls.set(event.key, { value: event.value, evidence: ctx.evidence(file, event) });
      },
      ...awsNode.handlers,
      done() {
        const ipv4 = sysctls.get('net.ipv4.ip_forward');
        if (!ipv4) {
          ctx.notEvaluated('sysctls/sysctl_all.txt has no net.ipv4.ip_forward line');
          return;
        }
        const ipv6 = sysctls.get('net.ipv6.conf.all.forwarding');
        const ipv6Disabled = sysctls.get('net.ipv6.conf.all.disable_ipv6')?.value === '1';
        const lookup = lookupEnv(awsNode.config(ctx.bundle), 'ENABLE_IPv6');
        const ipv6Mode = isKnown(lookup) ? parseGoBool(effectiveValue(lookup)) === true : undefined;
        const ipv6Source = lookup.state === 'unknown' ? '' : SOURCE_LABEL[lookup.source];
        const facts: Fact[] = [
          { label: 'net.ipv4.ip_forward', value: ipv4.value, path: ipv4.evidence.path, line: ipv4.evidence.line },
        ];
        if (ipv6) {
          facts.push({
            label: 'net.ipv6.conf.all.forwarding',
            value: ipv6.value,
            path: ipv6.evidence.path,
            line: ipv6.evidence.line,
          });
        }
        facts.push({
          label: 'VPC CNI IPv6 mode (ENABLE_IPv6)',
          value: ipv6Source
            ? `${describeEnv(lookup)}, from ${ipv6Source}`
            : 'unknown: the bundle does not show the aws-node environment',
          ...(lookup.state !== 'unknown' ? { path: lookup.evidence.path, line: lookup.evidence.line } : {}),
        });

        if (ipv4.value !== '1') {
          ctx.fail(
            'ipv4Off',
            { value: ipv4.value },
            { evidence: [{ ...ipv4.evidence, highlight: true }], facts, severity: 'critical' },
          );
          return;
        }
        if (ipv6Mode && ipv6 && ipv6.value !== '1') {
          ctx.fail(
            'ipv6Off',
            { value: ipv6.value, source: ipv6Source },
            {
              evidence: [{ ...ipv6.evidence, highlight: true }, ipv4.evidence, ...envEvidence(lookup)],
              facts,
              severity: 'critical',
            },
          );
          return;
        }

        const caveats: string[] = [];
        let ipv6Note = '';
        if (ipv6Mode && ipv6) ipv6Note = ', and net.ipv6.conf.all.forwarding = 1 for the IPv6 cluster';
        else if (ipv6Mode)
          caveats.push('The VPC CNI runs in IPv6 mode but sysctls hold no net.ipv6.conf.all.forwarding line.');
        else if (ipv6Mode === undefined && ipv6 && ipv6.value !== '1' && !ipv6Disabled) {
          caveats.push(
            `net.ipv6.conf.all.forwarding is ${ipv6.value}: fine for an IPv4 cluster, fatal for IPv6 pods; the bundle does not show whether the VPC CNI runs in IPv6 mode (ENABLE_IPv6).`,
          );
        }
        const evidence = [ipv4.evidence];
        if (ipv6Mode && ipv6) evidence.push(ipv6.evidence, ...envEvidence(lookup));
        ctx.pass('on', { ipv6: ipv6Note }, { evidence, facts, caveats });
      },
    };
  },
});
