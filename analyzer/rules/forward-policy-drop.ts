/**
 * forward-policy-drop: the filter table's FORWARD chain policy is DROP.
 *
 * With the VPC CNI, traffic between a pod's veth and the node's ENIs is forwarded by the host, so a DROP policy
 * silently drops pod traffic that no earlier rule accepts. EKS-optimized AMIs set `iptables -P FORWARD ACCEPT` in
 * the kubelet unit's ExecStartPre; custom AMIs (and anything that installs Docker, which sets DROP) often do not.
 */

import { defineRule, type FileRef } from '../engine/rule.ts';
import type { Evidence, Fact } from '../report/model.ts';

/** `iptables -P FORWARD ACCEPT`, `iptables --policy FORWARD ACCEPT -w 5`, `/usr/sbin/iptables -w -P FORWARD ACCEPT`. */
const SETS_FORWARD_ACCEPT = /iptables(?:-nft|-legacy)?\b[^;&|]*\s(?:-P|--policy)\s+FORWARD\s+ACCEPT\b/;

interface PolicySighting {
  policy: string;
  packets?: number;
  bytes?: number;
  evidence: Evidence;
  source: 'iptables-save' | 'listing';
}

export default defineRule({
  meta: {
    id: 'forward-policy-drop',
    title: 'iptables FORWARD policy drops pod traffic',
    severity: 'critical',
    description:
      'Pod traffic crosses the host through the FORWARD chain. A DROP policy there (common on custom AMIs whose kubelet unit does not run `iptables -P FORWARD ACCEPT`) drops pod traffic that no rule accepts.',
    needs: [{ anyOf: ['iptables-save', 'iptables-list-filter', 'iptables-list'] }],
    uses: ['kubelet-unit', 'iptables-legacy-save'],
    messages: {
      drop: 'The filter table FORWARD policy is DROP{{counters}}; {{unit}}.',
      accept: 'The filter table FORWARD policy is {{policy}}{{unitNote}}.',
    },
    remediation: [
      'Restore forwarding on the affected node now (it is reset at the next reboot unless made permanent): `sudo iptables -P FORWARD ACCEPT -w 5`',
      'Make it permanent in the custom AMI: add `ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5` to the [Service] section of kubelet.service (as the EKS-optimized AMIs do), or build the AMI from the EKS-optimized AMI.',
      'If Docker is installed on the AMI, it sets the FORWARD policy to DROP when it starts; remove it or order the ACCEPT after it.',
    ],
    references: [
      {
        title: 'VPC CNI operations guide: custom AMI considerations',
        url: 'https://docs.aws.amazon.com/eks/latest/best-practices/vpc-cni.html',
      },
      {
        title: 'Amazon EKS AMI kubelet unit (ExecStartPre iptables -P FORWARD ACCEPT)',
        url: 'https://github.com/awslabs/amazon-eks-ami',
      },
    ],
  },
  create(ctx) {
    let fromSave: PolicySighting | undefined;
    let fromListing: PolicySighting | undefined;
    let unitAccept: Evidence | undefined;
    let unitFile: string | undefined;
    let unitSeen = false;
    let legacyWarning: Evidence | undefined;
    let legacyDrop: Evidence | undefined;

    const sawListingChain = (
      event: {
        kind: string;
        chain?: string;
        policy?: string | null;
        packets?: number;
        bytes?: number;
        line: number;
        raw: string;
      },
      file: FileRef,
    ) => {
      if (event.kind !== 'chain' || event.chain !== 'FORWARD' || !event.policy) return;
      fromListing ??= {
        policy: event.policy,
        packets: event.packets,
        bytes: event.bytes,
        evidence: ctx.evidence(file, event, { highlight: true }),
        source: 'listing',
      };
    };

    return {
      'iptables-save'(event, file) {
        if (event.kind === 'warning' && /legacy tables present/.test(event.text)) {
          legacyWarning ??= ctx.evidence(file, event);
        }
        if (event.kind === 'chain' && event.table === 'filter' && event.chain === 'FORWARD' && event.policy) {
          fromSave ??= {
            policy: event.policy,
            packets: event.packets,
            bytes: event.bytes,
            evidence: ctx.evidence(file, event, { highlight: true }),
            source: 'iptables-save',
          };
        }
      },
      'iptables-legacy-save'(event, file) {
        if (
          event.kind === 'chain' &&
          event.table === 'filter' &&
          event.chain === 'FORWARD' &&
          event.policy === 'DROP'
        ) {
          legacyDrop ??= ctx.evidence(file, event, { highlight: true });
        }
      },
      'iptables-list-filter': sawListingChain,
      'iptables-list': sawListingChain,
      'kubelet-unit'(event, file) {
        unitSeen = true;
        if (event.kind === 'file') unitFile ??= event.path;
        if (event.kind !== 'directive' || !event.key.startsWith('ExecStart')) return;
        if (SETS_FORWARD_ACCEPT.test(event.value)) unitAccept ??= ctx.evidence(file, event, { highlight: true });
      },
      done() {
        const sighting = fromSave ?? fromListing;
        if (!sighting) {
          ctx.notEvaluated('the iptables output in the bundle has no filter table FORWARD chain');
          return;
        }
        const facts: Fact[] = [
          {
            label: 'FORWARD policy',
            value: sighting.policy,
            path: sighting.evidence.path,
            line: sighting.evidence.line,
          },
        ];
        if (sighting.packets !== undefined) {
          facts.push({
            label: 'Packets / bytes counted by the policy',
            value: `${sighting.packets} / ${sighting.bytes ?? '?'}`,
          });
        }
        const evidence: Evidence[] = [sighting.evidence];
        const caveats: string[] = [];
        if (legacyWarning) {
          evidence.push({ ...legacyWarning, note: 'rules exist in both the nf_tables and the legacy backend' });
          facts.push({ label: 'iptables backends', value: 'nf_tables and legacy tables both present' });
          caveats.push(
            'Both iptables backends hold rules: the policy shown comes from the backend that iptables-save uses; the other backend filters packets too.',
          );
        }
        if (legacyDrop) evidence.push({ ...legacyDrop, note: 'legacy backend FORWARD policy' });
        const unitState = unitAccept
          ? 'the kubelet unit sets it to ACCEPT at start, so something changed it afterwards'
          : unitSeen
            ? `the kubelet unit${unitFile ? ` (${unitFile})` : ''} does not run \`iptables -P FORWARD ACCEPT\`, as custom AMIs often omit`
            : 'the kubelet unit is not in the bundle, so whether it sets ACCEPT is unknown';
        if (unitAccept) evidence.push(unitAccept);
        else if (unitSeen)
          facts.push({ label: 'kubelet unit', value: 'no ExecStartPre setting iptables -P FORWARD ACCEPT' });

        if (sighting.policy === 'DROP' || legacyDrop) {
          const counted = sighting.packets !== undefined;
          ctx.fail(
            'drop',
            {
              counters: counted
                ? ` and it has dropped ${sighting.packets} packets (${sighting.bytes ?? '?'} bytes)`
                : '',
              unit: unitState,
            },
            {
              evidence,
              facts,
              caveats,
              // With counters at zero nothing has been dropped yet: the node is exposed, not yet broken.
              severity: counted && sighting.packets === 0 ? 'warning' : 'critical',
            },
          );
          return;
        }
        if (!unitAccept && unitSeen) {
          caveats.push(
            'The kubelet unit does not set the FORWARD policy: if anything sets it to DROP later (Docker, a firewall service, a reboot of a custom AMI), pod traffic stops.',
          );
        }
        ctx.pass(
          'accept',
          { policy: sighting.policy, unitNote: unitAccept ? ', and the kubelet unit sets ACCEPT at start' : '' },
          { evidence, facts, caveats },
        );
      },
    };
  },
});
