/**
 * known-bad-versions: the VPC CNI or network policy agent version on the node has a known defect.
 *
 * Versions come from the version witness (ipamd's startup line, the aws-node and aws-eks-nodeagent image tags in
 * ctr container info / docker inspect / the pod list, the agent's v1.4+ startup line) or the manifest, and are
 * matched against the table in data/known-bad-versions.ts. Defects that bite only with network policy enabled or in
 * strict mode are checked against the node's settings; when those are unknown the finding says so.
 */
import {
  combineHandlers,
  containersFromContainerInfo,
  containersFromDockerInspect,
  containersFromPodList,
  createVersionWitness,
  VERSION_FILTERS,
  type VersionSighting,
} from '../engine/node-identity.ts';
import { defineRule, type FileRef, type RuleHandlers } from '../engine/rule.ts';
import type { Evidence, Fact, Severity } from '../report/model.ts';
import {
  type Component,
  type DefectCondition,
  KNOWN_BAD_VERSIONS,
  KNOWN_BAD_VERSIONS_REVIEWED,
  type KnownBadVersion,
} from './data/known-bad-versions.ts';
import { AGENT_MODE_MESSAGES } from './data/network-policy-agent-messages.ts';
import { NetworkPolicySettings, type NetworkPolicyState } from './data/network-policy-settings.ts';
import { describeRange, matchRange, parseVersion, type RangeMatch, type Version } from './data/versions.ts';

const COMPONENT_LABEL: Record<Component, string> = {
  'vpc-cni': 'VPC CNI',
  'network-policy-agent': 'network policy agent',
};
const MANIFEST_FIELD = { 'vpc-cni': 'vpcCniVersion', 'network-policy-agent': 'networkPolicyAgentVersion' } as const;
const SEVERITY_RANK: Record<Severity, number> = { critical: 3, warning: 2, info: 1 };
const LESS_SEVERE: Record<Severity, Severity> = { critical: 'warning', warning: 'info', info: 'info' };
/** Sample lines kept per symptom. */
const SYMPTOM_SAMPLES = 2;

const SYMPTOM_TEXTS = KNOWN_BAD_VERSIONS.flatMap((entry) => (entry.symptom ? [entry.symptom.text] : []));
const AGENT_FILTERS = [...VERSION_FILTERS['network-policy-agent-log'], ...AGENT_MODE_MESSAGES];

interface ResolvedVersion {
  version: Version;
  source: string;
  evidence: Evidence[];
}

interface Match {
  entry: KnownBadVersion;
  match: RangeMatch;
  severity: Severity;
  /** How the match was made when not from the component's own version. */
  via?: string;
  caveats: string[];
  evidence: Evidence[];
}

export default defineRule({
  meta: {
    id: 'known-bad-versions',
    title: 'VPC CNI or network policy agent version with a known defect',
    severity: 'warning',
    description:
      'Matches the VPC CNI and network policy agent versions found on the node against a referenced table of releases with known defects (IP leaks, the v1.16.3 busy loop at the ENI limit, network policy cleanup and strict-mode bugs, version pairings that break network policy).',
    needs: [
      {
        anyOf: [
          'ipamd-log',
          'cni-env-containerd',
          'cni-env-dockerd',
          'kubelet-pods',
          'network-policy-agent-log',
          'network-policy-agent-container-log',
        ],
      },
    ],
    uses: ['network-policy-ebpf-data'],
    filters: {
      'network-policy-ebpf-data': ['PinPath:'],
      'ipamd-log': [...VERSION_FILTERS['ipamd-log'], ...SYMPTOM_TEXTS],
      'network-policy-agent-log': AGENT_FILTERS,
      'network-policy-agent-container-log': AGENT_FILTERS,
    },
    messages: {
      defects: 'The node runs {{versions}}, which {{count}} known defect(s) affect: {{titles}}.',
      possible: 'The node runs {{versions}}; {{titles}} may affect it ({{why}}).',
      clean: 'No known defect affects {{versions}} ({{checked}} defects checked, table reviewed {{reviewed}}).',
    },
    remediation: [
      'Confirm the versions the cluster runs: `kubectl -n kube-system get daemonset aws-node -o jsonpath=\'{range .spec.template.spec.containers[*]}{.name}{"\\t"}{.image}{"\\n"}{end}\'`',
      'For the EKS managed add-on, list the versions available for the cluster and move to one outside the affected range: `aws eks describe-addon-versions --addon-name vpc-cni --kubernetes-version <minor> --query "addons[].addonVersions[].addonVersion"`, then `aws eks update-addon --cluster-name <cluster> --addon-name vpc-cni --addon-version <version> --resolve-conflicts PRESERVE`',
      'For a self-managed install, apply the release manifest or Helm chart of the fixed version (one minor version at a time) and watch the aws-node rollout: `kubectl -n kube-system rollout status daemonset aws-node`',
    ],
    references: [
      {
        title: 'Amazon EKS: update the Amazon VPC CNI (Amazon EKS add-on)',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/vpc-add-on-update.html',
      },
      { title: 'amazon-vpc-cni-k8s releases', url: 'https://github.com/aws/amazon-vpc-cni-k8s/releases' },
      { title: 'aws-network-policy-agent releases', url: 'https://github.com/aws/aws-network-policy-agent/releases' },
    ],
  },
  create(ctx) {
    const witness = createVersionWitness(['vpc-cni', 'network-policy-agent']);
    const settings = new NetworkPolicySettings();
    const symptoms = new Map<string, { count: number; samples: Evidence[] }>();

    const sawAgentMessage = (msg: string, file: FileRef, event: { line: number; raw: string }) => {
      if (AGENT_MODE_MESSAGES.some((text) => msg.includes(text))) {
        settings.sawAgentMessage(msg, ctx.evidence(file, event));
      }
    };

    const own: RuleHandlers = {
      'ipamd-log'(event, file) {
        if (event.kind !== 'entry') return;
        for (const text of SYMPTOM_TEXTS) {
          if (!event.msg.includes(text)) continue;
          const seen = symptoms.get(text) ?? { count: 0, samples: [] };
          seen.count++;
          if (seen.samples.length < SYMPTOM_SAMPLES) seen.samples.push(ctx.evidence(file, event, { highlight: true }));
          symptoms.set(text, seen);
        }
      },
      'network-policy-agent-log'(event, file) {
        if (event.kind === 'entry') sawAgentMessage(event.msg, file, event);
      },
      'network-policy-agent-container-log'(event, file) {
        if (event.kind !== 'entry') return;
        sawAgentMessage(typeof event.json?.msg === 'string' ? event.json.msg : event.message, file, event);
      },
      'network-policy-ebpf-data'(event, file) {
        if (event.text.startsWith('PinPath:')) settings.sawLoadedPrograms(ctx.evidence(file, event));
      },
      'cni-env-containerd'(event, file) {
        if (event.kind === 'document') settings.sawContainers(containersFromContainerInfo(event.value), file.path);
      },
      'cni-env-dockerd'(event, file) {
        if (event.kind === 'document') settings.sawContainers(containersFromDockerInspect(event.value), file.path);
      },
      'kubelet-pods'(event, file) {
        if (event.kind === 'document') settings.sawContainers(containersFromPodList(event.value), file.path);
      },
    };

    const resolve = (component: Component, hostname: string | undefined): ResolvedVersion | undefined => {
      const best = witness.best(component, hostname);
      const fromManifest = ctx.bundle.manifest?.node?.[MANIFEST_FIELD[component]];
      const sightingVersion = best ? parseVersion(best.version) : undefined;
      const manifestVersion = fromManifest ? parseVersion(fromManifest) : undefined;
      if (manifestVersion && !(sightingVersion && refines(sightingVersion, manifestVersion))) {
        return {
          version: manifestVersion,
          source: 'manifest',
          evidence: [{ path: 'manifest.json', text: `node.${MANIFEST_FIELD[component]}=${fromManifest}` }],
        };
      }
      if (!best || !sightingVersion) return undefined;
      return {
        version: sightingVersion,
        source: best.source,
        evidence: evidenceOf(witness.sightings(component), best),
      };
    };

    return combineHandlers(witness.handlers, own, {
      done() {
        const hostname = ctx.bundle.node.hostname;
        const versions: Partial<Record<Component, ResolvedVersion>> = {};
        for (const component of ['vpc-cni', 'network-policy-agent'] as const) {
          const resolved = resolve(component, hostname);
          if (resolved) versions[component] = resolved;
        }
        if (!versions['vpc-cni'] && !versions['network-policy-agent']) {
          ctx.notEvaluated(
            'no VPC CNI or network policy agent version in the bundle: no "Starting L-IPAMD" line in the ipamd log, no amazon-k8s-cni or aws-network-policy-agent image in the container or pod listings',
          );
          return;
        }
        const policy = settings.state(hostname);
        const matches: Match[] = [];
        for (const entry of KNOWN_BAD_VERSIONS) {
          const found = matchEntry(entry, versions, policy, symptoms);
          if (found) matches.push(found);
        }

        const versionText = (['vpc-cni', 'network-policy-agent'] as const)
          .flatMap((component) => {
            const resolved = versions[component];
            return resolved ? [`${COMPONENT_LABEL[component]} ${resolved.version.text}`] : [];
          })
          .join(' and ');
        const facts: Fact[] = [];
        for (const component of ['vpc-cni', 'network-policy-agent'] as const) {
          const resolved = versions[component];
          facts.push({
            label: `${COMPONENT_LABEL[component][0]?.toUpperCase()}${COMPONENT_LABEL[component].slice(1)} version`,
            value: resolved ? `${resolved.version.text} (${resolved.source})` : 'not found in the bundle',
          });
        }
        facts.push({ label: 'Network policy', value: describePolicy(policy) });
        facts.push({
          label: 'Defect table',
          value: `${KNOWN_BAD_VERSIONS.length} entries, reviewed ${KNOWN_BAD_VERSIONS_REVIEWED}`,
        });
        const versionEvidence = Object.values(versions).flatMap((resolved) => resolved.evidence);

        if (matches.length === 0) {
          ctx.pass(
            'clean',
            { versions: versionText, checked: KNOWN_BAD_VERSIONS.length, reviewed: KNOWN_BAD_VERSIONS_REVIEWED },
            { evidence: versionEvidence, facts },
          );
          return;
        }

        const evidence = [...versionEvidence, ...matches.flatMap((found) => found.evidence)];
        const policyEvidence = [policy.enabled?.evidence, policy.mode?.evidence].filter(
          (item): item is Evidence => item !== undefined,
        );
        evidence.push(...policyEvidence.filter((item) => !evidence.includes(item)));
        const outcome = {
          evidence,
          facts,
          severity: matches.map((found) => found.severity).sort((a, b) => SEVERITY_RANK[b] - SEVERITY_RANK[a])[0],
          caveats: [...new Set(matches.flatMap((found) => found.caveats))],
          remediation: matches.map(
            (found) =>
              `${found.entry.title}: ${found.entry.remedy} (${found.entry.references.map((reference) => reference.url).join(', ')})`,
          ),
          tables: [
            {
              caption: 'Known defects that match the node’s versions',
              columns: ['Defect', 'Component', 'Affected versions', 'Match', 'What goes wrong', 'Reference'],
              rows: matches.map((found) => [
                found.entry.title,
                COMPONENT_LABEL[found.entry.component],
                found.entry.requires
                  ? `${describeRange(found.entry.affected)} with ${COMPONENT_LABEL[found.entry.requires.component]} ${describeRange(found.entry.requires.affected)}`
                  : describeRange(found.entry.affected),
                found.via ? `${found.match} (${found.via})` : found.match,
                found.entry.summary,
                found.entry.references[0]?.url ?? '',
              ]),
            },
          ],
        };
        const definite = matches.filter((found) => found.match === 'affected');
        if (definite.length > 0) {
          ctx.fail(
            'defects',
            { versions: versionText, count: definite.length, titles: matches.map((f) => f.entry.title).join('; ') },
            outcome,
          );
          return;
        }
        ctx.fail(
          'possible',
          {
            versions: versionText,
            titles: matches.map((found) => found.entry.title).join('; '),
            why: matches.map((found) => found.via ?? 'the version is not precise enough').join('; '),
          },
          outcome,
        );
      },
    });
  },
});

/** A sighting that says the same release as the manifest, more precisely (`v1.19.3` → `v1.19.3-eksbuild.1`). */
function refines(sighting: Version, manifest: Version): boolean {
  return (
    sighting.major === manifest.major &&
    sighting.minor === manifest.minor &&
    sighting.patch === manifest.patch &&
    sighting.build !== undefined &&
    manifest.build === undefined
  );
}

/** The chosen sighting first, then the other sources that agree or disagree with it (a few). */
function evidenceOf(all: readonly VersionSighting[], chosen: VersionSighting): Evidence[] {
  const others = all.filter((sighting) => sighting !== chosen).slice(0, 3);
  return [chosen, ...others].map((sighting) => {
    const evidence: Evidence = { path: sighting.path, text: sighting.text, note: sighting.source };
    if (sighting.line !== undefined) evidence.line = sighting.line;
    if (sighting === chosen) evidence.highlight = true;
    return evidence;
  });
}

function describePolicy(policy: NetworkPolicyState): string {
  const enabled = policy.enabled === undefined ? 'enabled: unknown' : policy.enabled.value ? 'enabled' : 'disabled';
  return policy.mode ? `${enabled}, ${policy.mode.value} mode` : enabled;
}

function conditionHolds(condition: DefectCondition, policy: NetworkPolicyState): boolean | undefined {
  if (condition === 'network-policy-enabled') return policy.enabled?.value;
  if (policy.mode) return policy.mode.value === 'strict';
  // Strict mode needs network policy on: a node with it off cannot be in strict mode.
  return policy.enabled?.value === false ? false : undefined;
}

const CONDITION_WORDS: Record<DefectCondition, string> = {
  'network-policy-enabled': 'network policy is enabled',
  'strict-mode': 'network policy runs in strict mode',
};

function matchEntry(
  entry: KnownBadVersion,
  versions: Partial<Record<Component, ResolvedVersion>>,
  policy: NetworkPolicyState,
  symptoms: ReadonlyMap<string, { count: number; samples: Evidence[] }>,
): Match | undefined {
  const caveats: string[] = [];
  let via: string | undefined;
  let match: RangeMatch;
  const own = versions[entry.component];
  if (own) {
    match = matchRange(own.version, entry.affected);
  } else if (entry.bundledWith && versions[entry.bundledWith.component]) {
    const other = versions[entry.bundledWith.component] as ResolvedVersion;
    match = matchRange(other.version, entry.bundledWith.affected);
    via = `${COMPONENT_LABEL[entry.component]} version not found; judged from the ${COMPONENT_LABEL[entry.bundledWith.component]} ${other.version.text} release that bundles an affected agent`;
  } else {
    return undefined;
  }
  if (match === 'unaffected') return undefined;
  if (match === 'possible' && !via) {
    via = `${own?.version.text} names no EKS build; only ${describeRange(entry.affected)} is affected`;
  }

  if (entry.requires) {
    const other = versions[entry.requires.component];
    if (other) {
      const paired = matchRange(other.version, entry.requires.affected);
      if (paired === 'unaffected') return undefined;
      if (paired === 'possible') match = 'possible';
    } else {
      match = 'possible';
      via = `${COMPONENT_LABEL[entry.requires.component]} version not found; the defect needs it ${describeRange(entry.requires.affected)}`;
    }
  }

  let conditionUnknown = false;
  if (entry.condition) {
    const holds = conditionHolds(entry.condition, policy);
    if (holds === false) return undefined;
    if (holds === undefined) {
      conditionUnknown = true;
      caveats.push(
        `${entry.title}: applies only when ${CONDITION_WORDS[entry.condition]}, which the bundle does not show either way; the finding is one level less severe for that.`,
      );
    }
  }

  const evidence: Evidence[] = [];
  if (entry.symptom) {
    const seen = symptoms.get(entry.symptom.text);
    if (seen && seen.count > 0) {
      const [first, ...rest] = seen.samples;
      if (first) evidence.push({ ...first, note: `${seen.count} line(s) like this: the defect at work` });
      evidence.push(...rest);
    }
  }
  return {
    entry,
    match,
    severity: match !== 'affected' ? 'info' : conditionUnknown ? LESS_SEVERE[entry.severity] : entry.severity,
    ...(via ? { via } : {}),
    caveats,
    evidence,
  };
}
