/**
 * The node script and the SSM document that carries it. `templates/eks-node-diag-node.sh` is the script's source; the
 * glibc launch check (agent/launch/check-glibc.sh) is pasted into it, and the result becomes the `runCommand` of the
 * schema 2.2 document `templates/eks-node-diag.ssm.json` (kept in the repository so it can be installed by hand or by
 * CloudFormation; a test keeps it equal to what `renderSsmDocument()` makes).
 *
 * The same script runs in two ways: as that document (SSM substitutes its parameters), or inline through
 * AWS-RunShellScript, where `inlineScript()` substitutes them here, checked against the same patterns.
 */
import { createHash } from 'node:crypto';
import { TOOL_VERSION } from '../../analyzer/engine/version.ts';
import documentText from '../../templates/eks-node-diag.ssm.json?raw';
import nodeScriptTemplate from '../../templates/eks-node-diag-node.sh?raw';
import { CHECK_GLIBC_SH } from '../launch/check-glibc.ts';

export const DOCUMENT_NAME = 'EKSNodeDiag-Collect';
export const RUN_SHELL_SCRIPT = 'AWS-RunShellScript';
/** The step name, which SSM reports as the plugin name of each invocation. */
export const STEP_NAME = 'collectAndUpload';

export interface ParameterSpec {
  description: string;
  allowedPattern: string;
  default?: string;
}

const URL_PATTERN = "^(https?://[^'\\s]+)?$";
const SHA256_PATTERN = '^([0-9a-f]{64})?$';

/** The parameters the node script takes, in the order the document lists them. */
export const NODE_SCRIPT_PARAMETERS = {
  AgentUrlX64: {
    description: 'Presigned GET URL of the x64 agent (empty: none for this architecture).',
    allowedPattern: URL_PATTERN,
    default: '',
  },
  AgentSha256X64: { description: 'sha256 of the x64 agent.', allowedPattern: SHA256_PATTERN, default: '' },
  AgentUrlArm64: {
    description: 'Presigned GET URL of the arm64 agent (empty: none for this architecture).',
    allowedPattern: URL_PATTERN,
    default: '',
  },
  AgentSha256Arm64: { description: 'sha256 of the arm64 agent.', allowedPattern: SHA256_PATTERN, default: '' },
  UploadFormUrl: {
    description: 'Presigned GET URL of the presigned POST form limited to <prefix>/<command-id>/.',
    allowedPattern: "^https?://[^'\\s]+$",
  },
  Since: { description: 'Journal window, e.g. 24h.', allowedPattern: '^[1-9][0-9]{0,5}(s|m|h|d)$', default: '24h' },
  Deadline: {
    description: 'Collection deadline, e.g. 5m.',
    allowedPattern: '^[1-9][0-9]{0,5}(s|m|h)$',
    default: '5m',
  },
  KeepOnNode: {
    description: 'true: keep the agent and the bundle on the node.',
    allowedPattern: '^(true|false)$',
    default: 'false',
  },
  executionTimeout: {
    description: 'Seconds the script may run before SSM stops it.',
    allowedPattern: '^([1-9][0-9]{0,4}|1[0-6][0-9]{4}|17[01][0-9]{3}|172[0-7][0-9]{2}|172800)$',
    default: '1200',
  },
} as const satisfies Record<string, ParameterSpec>;

export type NodeScriptParameter = keyof typeof NODE_SCRIPT_PARAMETERS;
export type NodeScriptValues = Record<NodeScriptParameter, string>;

const INCLUDE_MARKER = '# @include check-glibc.sh';

/** The node script with the glibc check pasted in, still holding SSM's `{{ Name }}` placeholders. */
export function renderNodeScript(template = nodeScriptTemplate, checkGlibc = CHECK_GLIBC_SH): string {
  if (!template.includes(INCLUDE_MARKER)) throw new Error(`the node script template lacks "${INCLUDE_MARKER}"`);
  return template.replace(INCLUDE_MARKER, checkGlibc.trimEnd());
}

/** The schema 2.2 document, as the JSON text kept in templates/ (two-space indent, trailing newline). */
export function renderSsmDocument(script = renderNodeScript()): string {
  const parameters = Object.fromEntries(
    Object.entries(NODE_SCRIPT_PARAMETERS).map(([name, spec]) => [
      name,
      {
        type: 'String',
        description: spec.description,
        ...('default' in spec ? { default: spec.default } : {}),
        allowedPattern: spec.allowedPattern,
      },
    ]),
  );
  const document = {
    schemaVersion: '2.2',
    description:
      'eks-node-diag: download the agent for this node (presigned URL, sha256-checked), collect an EKS networking ' +
      'diagnostic bundle at low priority and upload it with a presigned POST form. Installed by `eks-node-diag ' +
      'dispatch --install-document`; the node needs only AmazonSSMManagedInstanceCore.',
    parameters,
    mainSteps: [
      {
        action: 'aws:runShellScript',
        name: STEP_NAME,
        precondition: { StringEquals: ['platformType', 'Linux'] },
        inputs: {
          timeoutSeconds: '{{ executionTimeout }}',
          runCommand: script.replace(/\n$/, '').split('\n'),
        },
      },
    ],
  };
  return `${formatJson(document)}\n`;
}

/**
 * JSON as the repository's formatter (Biome) writes it, so the committed document passes `biome check`: two-space
 * indent, objects expanded, arrays of plain values on one line when they fit in 120 columns.
 */
export function formatJson(value: unknown, indent = '', prefixLength = 0): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const plain = value.every((item) => item === null || typeof item !== 'object');
    const inline = `[${value.map((item) => JSON.stringify(item)).join(', ')}]`;
    if (plain && indent.length + prefixLength + inline.length + 1 <= 120) return inline;
    const inner = `${indent}  `;
    return `[\n${value.map((item) => `${inner}${formatJson(item, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    const lines = entries.map(([key, item]) => {
      const label = `${JSON.stringify(key)}: `;
      return `${inner}${label}${formatJson(item, inner, label.length)}`;
    });
    return `{\n${lines.join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** The document text shipped with this build (templates/eks-node-diag.ssm.json). */
export const SSM_DOCUMENT: string = documentText;

/** SSM's document hash: SHA-256 of the content, hex. */
export function documentHash(content = SSM_DOCUMENT): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Problems with parameter values, named as the document would refuse them. */
export function parameterProblems(values: Partial<NodeScriptValues>): string[] {
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(NODE_SCRIPT_PARAMETERS) as [NodeScriptParameter, ParameterSpec][]) {
    const value = values[name] ?? spec.default;
    if (value === undefined) problems.push(`parameter ${name} is required`);
    else if (!new RegExp(spec.allowedPattern).test(value))
      problems.push(`parameter ${name} does not match ${spec.allowedPattern}`);
  }
  return problems;
}

/** SendCommand parameters for the document: each value a one-element list, as SSM takes them. */
export function documentParameters(values: NodeScriptValues): Record<string, string[]> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, [value]]));
}

/** The script as AWS-RunShellScript's `commands`, with the parameters substituted here instead of by SSM. */
export function inlineScript(values: NodeScriptValues, content = SSM_DOCUMENT): string[] {
  const problems = parameterProblems(values);
  if (problems.length > 0) throw new Error(`cannot build the node script: ${problems.join('; ')}`);
  const document = JSON.parse(content) as { mainSteps: { inputs: { runCommand: string[] } }[] };
  const lines = document.mainSteps[0]?.inputs.runCommand ?? [];
  return lines.map((line) =>
    line.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (placeholder, name: string) => {
      if (!(name in values)) throw new Error(`the node script uses an unknown parameter ${placeholder}`);
      return values[name as NodeScriptParameter];
    }),
  );
}

/** Comment for SendCommand (at most 100 characters). */
export function commandComment(): string {
  return `eks-node-diag ${TOOL_VERSION} dispatch`.slice(0, 100);
}
