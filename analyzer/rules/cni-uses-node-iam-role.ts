/**
 * cni-uses-node-iam-role: aws-node gets no credentials of its own, neither IAM roles for service accounts (IRSA:
 * `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`, injected by the pod identity webhook when the `aws-node` service
 * account is annotated) nor EKS Pod Identity (`AWS_CONTAINER_CREDENTIALS_FULL_URI` +
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, injected for a pod identity association). The AWS SDK then falls back to
 * the instance profile: the CNI runs with the node role, which must carry AmazonEKS_CNI_Policy, and so does every pod
 * that can reach IMDS. The operations guide asks for a dedicated role on the aws-node service account.
 *
 * Reads the aws-node container's environment from the runtime (`ctr container info`, `docker inspect`) or the pod
 * spec (`kubelet/pods.json`), through the shared aws-node view.
 */
import { bundlePaths } from '../../contract/bundle.ts';
import { defineRule } from '../engine/rule.ts';
import type { Evidence } from '../report/model.ts';
import {
  AWS_NODE_ENV_ITEMS,
  createAwsNodeConfigCollector,
  describeEnv,
  type EnvLookup,
  envEvidence,
  hasEnvSource,
  isKnown,
  lookupEnv,
  missingConfigReason,
  SOURCE_LABEL,
  sourceFacts,
} from './shared/aws-node-config.ts';

/** Set to something: a value, or a reference the file cannot resolve (kubelet will). */
const present = (lookup: EnvLookup) => (lookup.state === 'set' && lookup.value !== '') || lookup.state === 'from-ref';

export default defineRule({
  meta: {
    id: 'cni-uses-node-iam-role',
    title: 'VPC CNI runs with the node IAM role',
    severity: 'warning',
    description:
      "Without IRSA or EKS Pod Identity, aws-node inherits the node's instance role, so the node role must hold AmazonEKS_CNI_Policy (ENI and IP management) and every pod that can reach the instance metadata service gets those permissions too. The guide's remedy is a dedicated role on the aws-node service account.",
    needs: [{ anyOf: [...AWS_NODE_ENV_ITEMS] }],
    messages: {
      nodeRole:
        'aws-node has no credentials of its own: {{checked}} (per {{source}}). It uses the node IAM role, so the node role must carry AmazonEKS_CNI_Policy and any pod that reaches IMDS can use it{{partial}}.',
      staticKeys:
        'aws-node authenticates with long-lived access keys ({{keys}}, per {{source}}) instead of a role: keys do not rotate and leak with the pod spec or node.',
      irsa: 'aws-node uses IAM roles for service accounts: {{role}} with {{token}} ({{source}}).',
      podIdentity: 'aws-node uses EKS Pod Identity: {{uri}} with {{token}} ({{source}}).',
    },
    remediation: [
      'Create a role for the CNI with the AWS managed policy AmazonEKS_CNI_Policy (AmazonEKS_CNI_IPv6_Policy for IPv6 clusters) and bind it to the `aws-node` service account, e.g. `eksctl create iamserviceaccount --cluster <cluster> --namespace kube-system --name aws-node --role-name AmazonEKSVPCCNIRole --attach-policy-arn arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy --override-existing-serviceaccounts --approve`.',
      'Or use EKS Pod Identity: `aws eks create-pod-identity-association --cluster-name <cluster> --namespace kube-system --service-account aws-node --role-arn <role-arn>` (the eks-pod-identity-agent add-on must run on the nodes).',
      'For the managed add-on, set the role on the add-on instead: `aws eks update-addon --cluster-name <cluster> --addon-name vpc-cni --service-account-role-arn <role-arn>`.',
      'Restart aws-node so the webhook injects the credentials: `kubectl -n kube-system rollout restart daemonset aws-node`, then check `kubectl -n kube-system exec <aws-node pod> -c aws-node -- env | grep -E "AWS_ROLE_ARN|AWS_CONTAINER_CREDENTIALS"`.',
      'Once every node runs aws-node with the new role, detach AmazonEKS_CNI_Policy from the node role, and keep other pods off the instance role by requiring IMDSv2 with a hop limit of 1.',
    ],
    references: [
      {
        title: 'Amazon EKS: configure the Amazon VPC CNI plugin to use IRSA',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/cni-iam-role.html',
      },
      {
        title: 'Amazon EKS best practices: VPC CNI (use separate IAM role for CNI)',
        url: 'https://docs.aws.amazon.com/eks/latest/best-practices/vpc-cni.html',
      },
      { title: 'Amazon EKS Pod Identity', url: 'https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html' },
      {
        title: 'AWS managed policy: AmazonEKS_CNI_Policy',
        url: 'https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEKS_CNI_Policy.html',
      },
    ],
  },
  create(ctx) {
    const collector = createAwsNodeConfigCollector();
    return {
      ...collector.handlers,
      done() {
        const config = collector.config(ctx.bundle);
        if (!hasEnvSource(config)) {
          ctx.notEvaluated(missingConfigReason(config));
          return;
        }
        const roleArn = lookupEnv(config, 'AWS_ROLE_ARN');
        const tokenFile = lookupEnv(config, 'AWS_WEB_IDENTITY_TOKEN_FILE');
        const uri = lookupEnv(config, 'AWS_CONTAINER_CREDENTIALS_FULL_URI');
        const authToken = lookupEnv(config, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE');
        const accessKey = lookupEnv(config, 'AWS_ACCESS_KEY_ID');
        const secretKey = lookupEnv(config, 'AWS_SECRET_ACCESS_KEY');
        const facts = sourceFacts(config);
        const sourceOf = (lookups: EnvLookup[]) => {
          const sources = new Set(
            lookups.flatMap((lookup) => (lookup.state === 'unknown' ? [] : [SOURCE_LABEL[lookup.source]])),
          );
          return [...sources].join(' and ') || 'the aws-node environment';
        };
        const evidenceOf = (lookups: EnvLookup[]): Evidence[] => lookups.flatMap(envEvidence);

        if (present(roleArn) && present(tokenFile)) {
          ctx.pass(
            'irsa',
            { role: describeEnv(roleArn), token: describeEnv(tokenFile), source: sourceOf([roleArn, tokenFile]) },
            { evidence: evidenceOf([roleArn, tokenFile]), facts },
          );
          return;
        }
        if (present(uri) && present(authToken)) {
          ctx.pass(
            'podIdentity',
            { uri: describeEnv(uri), token: describeEnv(authToken), source: sourceOf([uri, authToken]) },
            { evidence: evidenceOf([uri, authToken]), facts },
          );
          return;
        }
        if (present(accessKey)) {
          ctx.fail(
            'staticKeys',
            {
              keys: [accessKey, secretKey]
                .filter(present)
                .map((lookup) => (lookup.state === 'from-ref' ? describeEnv(lookup) : `${lookup.name} set`))
                .join(', '),
              source: sourceOf([accessKey]),
            },
            {
              // The key itself is not shown: only where it comes from.
              evidence: [accessKey, secretKey]
                .filter(present)
                .flatMap((lookup) =>
                  lookup.state === 'unknown'
                    ? []
                    : [{ path: lookup.evidence.path, text: `${lookup.name}=<redacted>`, note: lookup.evidence.note }],
                ),
              facts,
            },
          );
          return;
        }
        const checked = [roleArn, tokenFile, uri, authToken];
        if (!checked.every(isKnown) && !checked.some(present)) {
          const hidden = checked.filter((lookup) => !isKnown(lookup)).map((lookup) => lookup.name);
          const envFrom = config.pod?.containers.find((container) => container.role === 'aws-node')?.envFrom ?? [];
          ctx.notEvaluated(
            `${hidden.join(', ')} cannot be told from the bundle: the aws-node pod spec takes variables from ${envFrom.join(', ') || 'envFrom'}, and neither ${bundlePaths['cni-env-containerd']} nor ${bundlePaths['cni-env-dockerd']} shows the resolved environment`,
          );
          return;
        }
        const halves = checked.filter(present);
        ctx.fail(
          'nodeRole',
          {
            checked: `${checked
              .filter((lookup) => !present(lookup))
              .map((lookup) => lookup.name)
              .join(', ')} ${halves.length === 3 ? 'is' : 'are'} not set`,
            source: sourceOf(checked),
            partial:
              halves.length > 0
                ? `. Only ${halves.map((lookup) => lookup.name).join(', ')} is set: the SDK needs both variables of a pair and falls back to the instance profile without them`
                : '',
          },
          { evidence: evidenceOf(halves.length > 0 ? halves : [roleArn, uri]), facts },
        );
      },
    };
  },
});
