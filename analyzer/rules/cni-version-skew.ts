/**
 * cni-version-skew: the VPC CNI was left behind the node upgrade cycle.
 *
 * EKS does not upgrade the VPC CNI when a cluster or its nodes move to a new Kubernetes minor; the operations guide
 * makes that the user's job and warns that skipping it leads to version mismatches. The rule puts the node's
 * Kubernetes minor (kubelet's "Kubelet version" journal line, the manifest, else the kube-proxy add-on image) against
 * data/cni-versions.ts: the oldest VPC CNI the project recommends for that minor and the add-on version EKS installs
 * on new clusters of it. A CNI below both was not upgraded with the node.
 */
import {
  combineHandlers,
  createVersionWitness,
  VERSION_FILTERS,
  type VersionSighting,
} from '../engine/node-identity.ts';
import { defineRule } from '../engine/rule.ts';
import type { Evidence, Fact } from '../report/model.ts';
import {
  CNI_VERSION_REFERENCES,
  CNI_VERSIONS,
  CNI_VERSIONS_AS_OF,
  cniFloorFor,
  latestListedFor,
} from './data/cni-versions.ts';
import { compareVersions, minorOf, parseVersion, type Version } from './data/versions.ts';

/** Minors behind the latest listed add-on at which the pass carries a reminder to upgrade. */
const BEHIND_LATEST_MINORS = 3;

interface Resolved {
  version: Version;
  source: string;
  evidence: Evidence[];
}

export default defineRule({
  meta: {
    id: 'cni-version-skew',
    title: 'VPC CNI left behind the node’s Kubernetes version',
    severity: 'warning',
    description:
      'EKS does not upgrade the VPC CNI when nodes move to a new Kubernetes minor. Compares the VPC CNI version with the oldest version recommended for the kubelet’s minor (VPC CNI project) and the add-on version EKS installs on new clusters of that minor.',
    needs: [
      { anyOf: ['ipamd-log', 'cni-env-containerd', 'cni-env-dockerd', 'kubelet-pods'] },
      { anyOf: ['kubelet-log', 'kubelet-pods'] },
    ],
    filters: { 'kubelet-log': VERSION_FILTERS['kubelet-log'], 'ipamd-log': VERSION_FILTERS['ipamd-log'] },
    messages: {
      behind:
        'VPC CNI {{cni}} is older than {{floor}}, the {{basis}}, while the node runs Kubernetes {{minor}} ({{kubernetesSource}} {{kubernetes}}): the CNI was not upgraded with the node.',
      current:
        'VPC CNI {{cni}} is at or above {{floor}}, the {{basis}}, for the node’s Kubernetes {{minor}} ({{kubernetesSource}} {{kubernetes}}).',
    },
    remediation: [
      'See which add-on versions the cluster can take and which is the default: `aws eks describe-addon-versions --addon-name vpc-cni --kubernetes-version <minor> --query "addons[].addonVersions[].[addonVersion, compatibilities[0].defaultVersion]" --output text`',
      'Upgrade the add-on one minor version at a time, keeping your settings: `aws eks update-addon --cluster-name <cluster> --addon-name vpc-cni --addon-version <version> --resolve-conflicts PRESERVE` (self-managed: apply the release manifest or Helm chart of that version).',
      'Make the VPC CNI upgrade part of every cluster and node group upgrade runbook, after the control plane and before or with the nodes.',
    ],
    references: [
      ...CNI_VERSION_REFERENCES,
      {
        title: 'VPC CNI operations guide: lifecycle management (upgrade the CNI with the node upgrade cycle)',
        url: 'https://docs.aws.amazon.com/eks/latest/best-practices/vpc-cni.html',
      },
    ],
  },
  create(ctx) {
    const witness = createVersionWitness(['vpc-cni', 'kubelet', 'kube-proxy']);

    const fromSighting = (best: VersionSighting | undefined, all: readonly VersionSighting[]) => {
      const version = best ? parseVersion(best.version) : undefined;
      if (!best || !version) return undefined;
      const others = all.filter((sighting) => sighting !== best).slice(0, 2);
      const evidence = [best, ...others].map((sighting) => {
        const item: Evidence = { path: sighting.path, text: sighting.text, note: sighting.source };
        if (sighting.line !== undefined) item.line = sighting.line;
        if (sighting === best) item.highlight = true;
        return item;
      });
      return { version, source: best.source, evidence } satisfies Resolved;
    };

    const fromManifest = (field: 'vpcCniVersion' | 'kubeletVersion'): Resolved | undefined => {
      const text = ctx.bundle.manifest?.node?.[field];
      const version = text ? parseVersion(text) : undefined;
      if (!text || !version) return undefined;
      return { version, source: 'manifest', evidence: [{ path: 'manifest.json', text: `node.${field}=${text}` }] };
    };

    return combineHandlers(witness.handlers, {
      done() {
        const hostname = ctx.bundle.node.hostname;
        const fileCni = fromSighting(witness.best('vpc-cni', hostname), witness.sightings('vpc-cni'));
        const manifestCni = fromManifest('vpcCniVersion');
        const cni =
          manifestCni && !(fileCni && sameRelease(fileCni.version, manifestCni.version) && fileCni.version.build)
            ? manifestCni
            : fileCni;
        if (!cni) {
          ctx.notEvaluated(
            'no VPC CNI version in the bundle: no "Starting L-IPAMD" line in the ipamd log and no amazon-k8s-cni image in the container or pod listings',
          );
          return;
        }

        const caveats: string[] = [];
        let kubernetes =
          fromManifest('kubeletVersion') ?? fromSighting(witness.best('kubelet'), witness.sightings('kubelet'));
        let kubernetesSource = 'kubelet';
        if (!kubernetes) {
          kubernetes = fromSighting(witness.best('kube-proxy', hostname), witness.sightings('kube-proxy'));
          kubernetesSource = 'kube-proxy';
          if (kubernetes) {
            caveats.push(
              'The kubelet version was not found; the Kubernetes minor is the kube-proxy add-on’s, which follows the cluster (a node may run up to three minors behind it).',
            );
          }
        }
        if (!kubernetes) {
          ctx.notEvaluated(
            'no Kubernetes version in the bundle: no "Kubelet version" line in the kubelet journal and no kube-proxy image in the pod list',
          );
          return;
        }

        const minor = minorOf(kubernetes.version);
        const floor = cniFloorFor(minor);
        if (!floor) {
          ctx.notEvaluated(
            `no recommended VPC CNI version is recorded for Kubernetes ${minor} (the table starts at ${CNI_VERSIONS[0]?.kubernetes})`,
          );
          return;
        }
        const floorVersion = parseVersion(floor.version) as Version;
        if (!floor.exact) {
          caveats.push(
            `The version table (as of ${CNI_VERSIONS_AS_OF}) records no floor for Kubernetes ${minor}; the floor of Kubernetes ${floor.fromKubernetes} is used, since a newer minor never needs an older CNI.`,
          );
        }
        const latest = latestListedFor(minor);
        const facts: Fact[] = [
          { label: 'VPC CNI version', value: `${cni.version.text} (${cni.source})` },
          { label: 'Kubernetes version', value: `${kubernetes.version.text} (${kubernetes.source})` },
          { label: 'Oldest VPC CNI for this minor', value: `${floor.version}: ${floor.basis}` },
        ];
        if (latest) {
          facts.push({
            label: 'Latest add-on listed by EKS',
            value: `${latest.version} for Kubernetes ${latest.fromKubernetes} (EKS User Guide, ${CNI_VERSIONS_AS_OF})`,
          });
        }
        const data = {
          cni: cni.version.text,
          floor: floor.version,
          basis: floor.basis,
          minor,
          kubernetes: kubernetes.version.text,
          kubernetesSource,
        };
        const evidence = [...cni.evidence, ...kubernetes.evidence];

        const order = compareVersions(cni.version, floorVersion);
        if (order !== undefined && order < 0) {
          ctx.fail('behind', data, { evidence, facts, caveats });
          return;
        }
        if (order === undefined) {
          caveats.push(
            `The VPC CNI version names no EKS build, so it cannot be told apart from ${floor.version}; the release is the same.`,
          );
        }
        const latestVersion = latest ? parseVersion(latest.version) : undefined;
        if (
          latestVersion &&
          latestVersion.major === cni.version.major &&
          latestVersion.minor - cni.version.minor >= BEHIND_LATEST_MINORS
        ) {
          caveats.push(
            `VPC CNI ${cni.version.text} is ${latestVersion.minor - cni.version.minor} minor versions behind ${latest?.version}, the latest add-on EKS listed; EKS recommends running the latest version.`,
          );
        }
        ctx.pass('current', data, { evidence, facts, caveats });
      },
    });
  },
});

function sameRelease(a: Version, b: Version): boolean {
  return a.major === b.major && a.minor === b.minor && a.patch === b.patch;
}
