/**
 * addon-management: whether aws-node looks like the EKS managed add-on, and what that means for changes made to it.
 *
 * What a node can show: the pod of the managed add-on carries nothing of its own (EKS renders the same Helm chart it
 * uses for the default installation, so even `app.kubernetes.io/instance: aws-vpc-cni` is shared;
 * aws/amazon-vpc-cni-k8s#2763), and the DaemonSet's `managedFields` (manager `eks`), which would tell, are not in a
 * node bundle. The image tells who built it: EKS's builds carry an `-eksbuild.N` tag (`amazon-k8s-cni:v1.19.2-eksbuild.1`)
 * and are what the managed add-on and EKS's default installation deploy; the upstream manifest and chart use plain
 * tags. So the rule reports an EKS build as "managed add-on or EKS default" and a plain tag as self-managed.
 *
 * What it means (operations guide, "Managed Add-on Lifecycle and Configuration Drift"): EKS reconciles the image,
 * service account, liveness/readiness probes, labels, volumes and mounts every 15 minutes, overwriting edits made
 * through the Kubernetes API; WARM_ENI_TARGET, WARM_IP_TARGET and MINIMUM_IP_TARGET are not managed and persist.
 * The rule flags containers of the pod on different versions (a half-applied upgrade) and, on an EKS build, managed
 * fields that differ from the add-on's defaults (an edit EKS may revert).
 */
import { defineRule } from '../engine/rule.ts';
import type { Evidence, Fact } from '../report/model.ts';
import {
  AWS_NODE_ENV_ITEMS,
  type ContainerRole,
  type ContainerView,
  containerViews,
  createAwsNodeConfigCollector,
  describeEnv,
  type ImageRef,
  lookupEnv,
  missingConfigReason,
  parseImage,
  sourceFacts,
  versionAtLeast,
} from './shared/aws-node-config.ts';

const WARM_SETTINGS = ['WARM_ENI_TARGET', 'WARM_IP_TARGET', 'MINIMUM_IP_TARGET', 'WARM_PREFIX_TARGET'] as const;
/** Probe timeout of the add-on and manifests since v1.12 (config/master/aws-k8s-cni.yaml). */
const DEFAULT_PROBE_TIMEOUT_SECONDS = 10;

interface Image {
  role: ContainerRole;
  ref: ImageRef;
  evidence: Evidence;
}

const versionOf = (image: ImageRef) => image.tag?.replace(/^v/, '') ?? '(no tag)';

export default defineRule({
  meta: {
    id: 'addon-management',
    title: 'EKS managed add-on and configuration drift',
    severity: 'info',
    description:
      'As an EKS managed add-on, aws-node has its image, service account, probes, labels, volumes and mounts put back every 15 minutes, so kubectl edits to them do not last, while the WARM_* settings persist; a self-managed aws-node is never reconciled, and its upgrades are the operator’s job.',
    needs: [{ anyOf: [...AWS_NODE_ENV_ITEMS] }],
    messages: {
      versionMismatch:
        'The aws-node pod runs containers of different versions: {{versions}}. Containers of one pod on different versions are a half-applied upgrade (the init container installs the CNI binaries the aws-node container works with){{managed}}.',
      managedFieldsChanged:
        'aws-node runs the EKS build {{image}}, and {{changes}} differ from the add-on defaults: if aws-node is the EKS managed add-on and these were edited with kubectl, EKS resets them within 15 minutes (image, service account, probes, labels, volumes and mounts are managed fields); set them through the add-on configuration values instead. The WARM_* settings ({{warm}}) are not managed and persist.',
      eksBuild:
        'aws-node runs the EKS build {{image}} (-eksbuild tag), as the EKS managed add-on or EKS’s default installation deploy it. As a managed add-on, its image, service account, probes, labels, volumes and mounts are reconciled every 15 minutes while the WARM_* settings ({{warm}}) persist across updates; either way, upgrading it in step with the nodes stays the operator’s job.',
      upstream:
        'aws-node runs {{image}}, an image without EKS’s -eksbuild tag: installed from the upstream manifest or Helm chart, so it is self-managed. EKS does not reconcile it, and upgrading it in step with the cluster and the nodes is the operator’s job (WARM_* settings: {{warm}}).',
    },
    remediation: [
      'Find out whether vpc-cni is a managed add-on: `aws eks describe-addon --cluster-name <cluster> --addon-name vpc-cni` (ResourceNotFoundException means self-managed), and which fields EKS owns: `kubectl -n kube-system get daemonset aws-node -o yaml --show-managed-fields | grep -A3 "manager: eks"`.',
      'For the managed add-on, change managed fields through its configuration values, not kubectl: `aws eks describe-addon-configuration --addon-name vpc-cni --addon-version <version>` lists them, and `aws eks update-addon --cluster-name <cluster> --addon-name vpc-cni --configuration-values file://values.json` applies them.',
      'Bring the containers to one version: `aws eks update-addon --cluster-name <cluster> --addon-name vpc-cni --addon-version <version> --resolve-conflicts OVERWRITE` for the add-on, or re-apply one release of the manifest or chart for a self-managed install.',
      'Upgrade the VPC CNI as part of every cluster and node upgrade, testing the new version outside production first.',
    ],
    references: [
      {
        title: 'Amazon EKS: manage the Amazon VPC CNI add-on',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.html',
      },
      {
        title: 'Amazon EKS: fields you can customize for Amazon EKS add-ons',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-field-management.html',
      },
      {
        title: 'aws/amazon-vpc-cni-k8s#2763: the preinstalled VPC CNI cannot be told apart from a Helm install',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/issues/2763',
      },
    ],
  },
  create(ctx) {
    const collector = createAwsNodeConfigCollector();
    return {
      ...collector.handlers,
      done() {
        const config = collector.config(ctx.bundle);
        const images: Image[] = [];
        for (const role of ['aws-node', 'aws-vpc-cni-init'] as const) {
          const view = containerViews(config, role).find((candidate: ContainerView) => candidate.image);
          if (view?.image)
            images.push({ role, ref: parseImage(view.image), evidence: { ...view.evidence, highlight: true } });
        }
        const main = images.find((image) => image.role === 'aws-node');
        if (!main) {
          ctx.notEvaluated(missingConfigReason(config, "aws-node's image"));
          return;
        }
        const facts: Fact[] = [
          ...sourceFacts(config),
          ...images.map((image) => ({ label: `${image.role} image`, value: image.ref.ref, path: image.evidence.path })),
        ];
        const warmLookups = WARM_SETTINGS.map((name) => lookupEnv(config, name));
        const warmSet = warmLookups.filter((lookup) => lookup.state === 'set');
        const warm =
          warmSet.length > 0
            ? warmSet.map(describeEnv).join(', ')
            : warmLookups.some((lookup) => lookup.state === 'unknown')
              ? 'not in the bundle'
              : 'none set, defaults apply';
        const imageText = main.ref.ref;
        const pod = config.pod;
        if (pod?.labels['app.kubernetes.io/instance']) {
          facts.push({
            label: 'Pod label app.kubernetes.io/instance',
            value: pod.labels['app.kubernetes.io/instance'],
            path: pod.path,
          });
        }

        const init = images.find((image) => image.role === 'aws-vpc-cni-init');
        if (init && versionOf(init.ref) !== versionOf(main.ref)) {
          ctx.fail(
            'versionMismatch',
            {
              versions: `aws-node ${versionOf(main.ref)}, aws-vpc-cni-init ${versionOf(init.ref)}`,
              managed: main.ref.eksBuild
                ? '; if aws-node is the managed add-on, EKS puts the add-on version’s images back within 15 minutes'
                : '',
            },
            { severity: 'warning', evidence: [main.evidence, init.evidence], facts },
          );
          return;
        }

        if (main.ref.eksBuild) {
          const changes: string[] = [];
          const evidence: Evidence[] = [main.evidence];
          if (pod?.serviceAccountName !== undefined && pod.serviceAccountName !== 'aws-node') {
            changes.push(`the service account (${pod.serviceAccountName})`);
            evidence.push({
              path: pod.path,
              text: `"serviceAccountName": "${pod.serviceAccountName}"`,
              note: `pod ${pod.namespace}/${pod.name}`,
            });
          }
          const spec = pod?.containers.find((container) => container.role === 'aws-node');
          if (spec && versionAtLeast(main.ref, 1, 12)) {
            for (const probe of spec.probes) {
              if (probe.kind === 'startup' || probe.timeoutSeconds === DEFAULT_PROBE_TIMEOUT_SECONDS) continue;
              changes.push(
                `the ${probe.kind} probe timeout (${probe.timeoutSeconds ?? 'unset, 1'} s, default ${DEFAULT_PROBE_TIMEOUT_SECONDS} s)`,
              );
              evidence.push(probe.evidence);
            }
          }
          if (changes.length > 0) {
            ctx.fail(
              'managedFieldsChanged',
              { image: imageText, changes: changes.join(' and '), warm },
              { evidence, facts },
            );
            return;
          }
          ctx.pass('eksBuild', { image: imageText, warm }, { evidence: [main.evidence], facts });
          return;
        }
        ctx.pass('upstream', { image: imageText, warm }, { evidence: [main.evidence], facts });
      },
    };
  },
});
