/**
 * aws-node-privileges: the aws-node pod as the operations guide describes it (Table 1), and what breaks when a policy
 * engine (Kyverno, Gatekeeper, Pod Security admission) or a hand edit strips part of it:
 * - `hostNetwork: true`: aws-node programs the node's own routes, policy rules and iptables, and ipamd's gRPC and
 *   introspection listen on the node's loopback;
 * - a privileged init container (aws-vpc-cni-init, v1.7+): it writes /proc/sys (rp_filter loose mode on the primary
 *   ENI, tcp_early_demux, IPv6 forwarding; cmd/aws-vpc-cni-init/main.go) before aws-node starts;
 * - `NET_ADMIN` on the aws-node container (it was privileged before v1.7): routes, rules, NAT and SNAT;
 * - the `aws-node` service account, which the ClusterRole binding and the IRSA or Pod Identity role are made for;
 * - the CRI socket, which the guide names for the privileged init container: before v1.12 the aws-node container
 *   mounted it (dockershim.sock, or cri.sock) to rebuild its IP allocations on restart; since v1.12 ipamd keeps them
 *   in /var/run/aws-node/ipam.json and no container mounts it (aws/amazon-vpc-cni-k8s#1352, #2316).
 *
 * Reads the pod spec from `kubelet/pods.json` and what the runtime shows of the running container (its network
 * namespace and capabilities in `ctr container info`, `CapAdd` in `docker inspect`), through the shared aws-node view.
 */
import { bundlePaths } from '../../contract/bundle.ts';
import { defineRule } from '../engine/rule.ts';
import type { Evidence, Fact, Severity } from '../report/model.ts';
import {
  AWS_NODE_ENV_ITEMS,
  containerViews,
  createAwsNodeConfigCollector,
  missingConfigReason,
  parseImage,
  sourceFacts,
  specContainerOf,
  uniqueEvidence,
  versionAtLeast,
} from './shared/aws-node-config.ts';

const CRI_SOCKET = /(?:dockershim|cri|containerd|crio|docker)\.sock$|^\/(?:var\/)?run\/containerd\/?$/;
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

interface Check {
  requirement: string;
  state: 'ok' | 'stripped' | 'unknown' | 'not-needed';
  observed: string;
  severity: Severity;
  breaks: string;
  evidence: Evidence[];
}

const BREAKS = {
  hostNetwork:
    "in a network namespace of its own aws-node sets up routes, rules and iptables there instead of on the node, and pods' traffic is not routed: every pod on the node loses networking",
  netAdmin:
    'without NET_ADMIN aws-node cannot add routes, policy rules or NAT and SNAT rules ("operation not permitted"), so pods get addresses nothing routes',
  initPrivileged:
    'unprivileged, the init container cannot write /proc/sys (rp_filter loose mode on the primary ENI, tcp_early_demux, IPv6 forwarding) and exits, so aws-node never starts',
  serviceAccount:
    'the aws-node ClusterRole binding and the IRSA or Pod Identity role are made for the aws-node service account; under another one ipamd is refused the API calls it needs unless the same RBAC and role were given to it',
  criSocket:
    'before v1.12 ipamd rebuilt its IP allocations from the CRI socket when it restarted; without the mount it cannot, and may hand out addresses still in use',
};

export default defineRule({
  meta: {
    id: 'aws-node-privileges',
    title: 'aws-node pod privileges (hostNetwork, privileged init, NET_ADMIN, service account)',
    severity: 'critical',
    description:
      'The VPC CNI needs host networking, a privileged init container, NET_ADMIN on the aws-node container and the aws-node service account; a policy engine or hand edit that strips any of them leaves pods on the node without working networking or leaves ipamd without API access.',
    needs: [{ anyOf: [...AWS_NODE_ENV_ITEMS] }],
    messages: {
      stripped: 'aws-node lacks {{missing}}: {{breaks}}{{more}}.',
      asDesigned: 'aws-node has what the VPC CNI needs: {{observed}}{{unknown}}.',
    },
    remediation: [
      'Restore the DaemonSet from the release it came from (the managed add-on does this itself within 15 minutes; for a self-managed install re-apply the manifest or chart), and compare with `kubectl -n kube-system get daemonset aws-node -o yaml`.',
      'Find the policy that changed it: `kubectl get clusterpolicies,policies -A` (Kyverno), `kubectl get constraints` (Gatekeeper), and the `pod-security.kubernetes.io/enforce` label on kube-system (`kubectl get ns kube-system --show-labels`); exempt kube-system/aws-node, which needs hostNetwork, a privileged init container and NET_ADMIN by design.',
      'Then restart it: `kubectl -n kube-system rollout restart daemonset aws-node`.',
    ],
    references: [
      {
        title: 'Amazon EKS best practices: VPC CNI (aws-node privileges)',
        url: 'https://docs.aws.amazon.com/eks/latest/best-practices/vpc-cni.html',
      },
      {
        title: 'Amazon VPC CNI manifest (config/master/aws-k8s-cni.yaml)',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/config/master/aws-k8s-cni.yaml',
      },
      {
        title: 'aws/amazon-vpc-cni-k8s#1352: ipamd stops reading the CRI socket (checkpoint file)',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/pull/1352',
      },
    ],
  },
  create(ctx) {
    const collector = createAwsNodeConfigCollector();
    return {
      ...collector.handlers,
      done() {
        const config = collector.config(ctx.bundle);
        const pod = config.pod;
        const mains = containerViews(config, 'aws-node');
        const runtime = mains.find((view) => view.source !== 'pod-spec');
        const spec = specContainerOf(config, 'aws-node');
        const init = specContainerOf(config, 'aws-vpc-cni-init') ?? containerViews(config, 'aws-vpc-cni-init')[0];
        if (mains.length === 0 && !pod) {
          ctx.notEvaluated(missingConfigReason(config, "The aws-node pod's spec and runtime settings", true));
          return;
        }
        const image = mains.find((view) => view.image)?.image;
        const imageRef = image ? parseImage(image) : undefined;
        const checks: Check[] = [];

        // hostNetwork: the pod spec says it; containerd shows it as the missing network namespace.
        if (pod) {
          checks.push({
            requirement: 'hostNetwork',
            state: pod.hostNetwork ? 'ok' : 'stripped',
            observed: `${pod.hostNetwork} in the pod spec`,
            severity: 'critical',
            breaks: BREAKS.hostNetwork,
            evidence: [
              { path: pod.path, text: `"hostNetwork": ${pod.hostNetwork}`, note: `pod ${pod.namespace}/${pod.name}` },
            ],
          });
        } else if (runtime?.hostNetwork !== undefined && runtime.hostNetworkEvidence) {
          checks.push({
            requirement: 'hostNetwork',
            state: runtime.hostNetwork ? 'ok' : 'stripped',
            observed: runtime.hostNetwork
              ? 'no network namespace of its own (ctr container info)'
              : 'a network namespace of its own (ctr container info)',
            severity: 'critical',
            breaks: BREAKS.hostNetwork,
            evidence: [runtime.hostNetworkEvidence],
          });
        } else {
          checks.push(unknown('hostNetwork', BREAKS.hostNetwork));
        }

        // NET_ADMIN on the aws-node container (privileged before v1.7).
        const capabilityView = spec ?? runtime;
        if (capabilityView?.securityEvidence) {
          const caps = capabilityView.capabilities ?? capabilityView.capabilitiesAdd ?? [];
          const ok = caps.includes('NET_ADMIN') || capabilityView.privileged === true;
          checks.push({
            requirement: 'NET_ADMIN on the aws-node container',
            state: ok ? 'ok' : 'stripped',
            observed: capabilityView.privileged
              ? 'privileged'
              : caps.length > 0
                ? `capabilities ${caps.join(', ')}`
                : 'no added capabilities',
            severity: 'critical',
            breaks: BREAKS.netAdmin,
            evidence: [capabilityView.securityEvidence],
          });
        } else {
          checks.push(unknown('NET_ADMIN on the aws-node container', BREAKS.netAdmin));
        }

        // The privileged init container (v1.7+).
        const needsInit = versionAtLeast(imageRef, 1, 7) !== false;
        if (init?.securityEvidence && init.privileged !== undefined) {
          checks.push({
            requirement: 'privileged aws-vpc-cni-init container',
            state: init.privileged ? 'ok' : 'stripped',
            observed: init.privileged ? 'privileged' : 'not privileged',
            severity: 'critical',
            breaks: BREAKS.initPrivileged,
            evidence: [init.securityEvidence],
          });
        } else if (pod && !init && needsInit) {
          checks.push({
            requirement: 'privileged aws-vpc-cni-init container',
            state: 'stripped',
            observed: 'no init container in the pod spec',
            severity: 'critical',
            breaks: BREAKS.initPrivileged.replace(
              'unprivileged, the init container',
              'without the init container, nothing',
            ),
            evidence: [pod.evidence],
          });
        } else if (!needsInit) {
          checks.push({
            requirement: 'privileged aws-vpc-cni-init container',
            state: 'not-needed',
            observed: `${image} predates the init container (v1.7)`,
            severity: 'info',
            breaks: '',
            evidence: [],
          });
        } else {
          checks.push(unknown('privileged aws-vpc-cni-init container', BREAKS.initPrivileged));
        }

        // The aws-node service account (pod spec only).
        if (pod?.serviceAccountName !== undefined) {
          checks.push({
            requirement: 'aws-node service account',
            state: pod.serviceAccountName === 'aws-node' ? 'ok' : 'stripped',
            observed: `serviceAccountName ${pod.serviceAccountName}`,
            severity: 'warning',
            breaks: BREAKS.serviceAccount,
            evidence: [
              {
                path: pod.path,
                text: `"serviceAccountName": "${pod.serviceAccountName}"`,
                note: `pod ${pod.namespace}/${pod.name}`,
              },
            ],
          });
        } else {
          checks.push(unknown('aws-node service account', BREAKS.serviceAccount));
        }

        // The CRI socket: needed by the aws-node container before v1.12 only.
        const socketView = spec ?? runtime;
        const socketMount = socketView?.mounts.find(
          (mount) =>
            CRI_SOCKET.test(mount.mountPath) || (mount.hostPath !== undefined && CRI_SOCKET.test(mount.hostPath)),
        );
        const modern = versionAtLeast(imageRef, 1, 12);
        if (modern === true) {
          checks.push({
            requirement: 'CRI socket mount',
            state: 'not-needed',
            observed: socketMount
              ? `${socketMount.mountPath} still mounted, unused since v1.12`
              : 'none; since v1.12 ipamd keeps its allocations in /var/run/aws-node/ipam.json',
            severity: 'info',
            breaks: '',
            evidence: [],
          });
        } else if (modern === false && socketView) {
          checks.push({
            requirement: 'CRI socket mount (before v1.12)',
            state: socketMount ? 'ok' : 'stripped',
            observed: socketMount
              ? `${socketMount.mountPath} from ${socketMount.hostPath ?? '?'}`
              : 'no CRI socket mounted',
            severity: 'warning',
            breaks: BREAKS.criSocket,
            evidence: [socketView.evidence],
          });
        }

        const facts: Fact[] = [...sourceFacts(config), ...(image ? [{ label: 'aws-node image', value: image }] : [])];
        const table = {
          caption: 'aws-node privileges',
          columns: ['Requirement', 'Observed', 'Status', 'What breaks without it'],
          rows: checks.map((check) => [check.requirement, check.observed, check.state, check.breaks]),
        };
        const stripped = checks
          .filter((check) => check.state === 'stripped')
          .sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
        const unknowns = checks.filter((check) => check.state === 'unknown');
        const caveats =
          unknowns.length > 0
            ? [
                `not judged: ${unknowns.map((check) => check.requirement).join(', ')} (${bundlePaths['kubelet-pods']} holds the pod spec)`,
              ]
            : [];
        if (stripped.length > 0) {
          const [first, ...rest] = stripped as [Check, ...Check[]];
          ctx.fail(
            'stripped',
            {
              missing: stripped.map((check) => `${check.requirement} (${check.observed})`).join(', '),
              breaks: first.breaks,
              more:
                rest.length > 0 ? `; ${rest.map((check) => `${check.requirement}: ${check.breaks}`).join('; ')}` : '',
            },
            {
              severity: first.severity,
              evidence: uniqueEvidence(
                stripped.flatMap((check) => check.evidence.map((e) => ({ ...e, highlight: true }))),
              ),
              facts,
              tables: [table],
              caveats,
            },
          );
          return;
        }
        const judged = checks.filter((check) => check.state === 'ok');
        if (judged.length === 0) {
          ctx.notEvaluated(
            `none of hostNetwork, NET_ADMIN, the privileged init container or the service account could be read (${missingConfigReason(config)})`,
          );
          return;
        }
        ctx.pass(
          'asDesigned',
          {
            observed: judged.map((check) => `${check.requirement}: ${check.observed}`).join('; '),
            unknown:
              unknowns.length > 0
                ? `; not in the bundle: ${unknowns.map((check) => check.requirement).join(', ')}`
                : '',
          },
          { evidence: uniqueEvidence(judged.flatMap((check) => check.evidence)), facts, tables: [table], caveats },
        );
      },
    };
  },
});

function unknown(requirement: string, breaks: string): Check {
  return { requirement, state: 'unknown', observed: 'not in the bundle', severity: 'info', breaks, evidence: [] };
}
