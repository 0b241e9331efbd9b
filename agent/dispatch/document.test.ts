import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateCommandDocument } from '../../test/support/ssm-server.ts';
import { CHECK_GLIBC_SH } from '../launch/check-glibc.ts';
import {
  documentHash,
  formatJson,
  inlineScript,
  NODE_SCRIPT_PARAMETERS,
  type NodeScriptValues,
  parameterProblems,
  renderNodeScript,
  renderSsmDocument,
  SSM_DOCUMENT,
  STEP_NAME,
} from './document.ts';

const DOCUMENT_FILE = join(import.meta.dirname, '..', '..', 'templates', 'eks-node-diag.ssm.json');

const values: NodeScriptValues = {
  AgentUrlX64: 'https://diag.s3.us-east-1.amazonaws.com/eks-node-diag/agents/x64?X-Amz-Signature=abc&X-Amz-Date=1',
  AgentSha256X64: 'a'.repeat(64),
  AgentUrlArm64: '',
  AgentSha256Arm64: '',
  UploadFormUrl: 'https://diag.s3.us-east-1.amazonaws.com/eks-node-diag/forms/x.json?X-Amz-Signature=def',
  Since: '24h',
  Deadline: '5m',
  KeepOnNode: 'false',
  executionTimeout: '900',
};

describe('the SSM document in templates/', () => {
  it('is what renderSsmDocument() makes from the node script (EKSDIAG_WRITE_TEMPLATES=1 rewrites it)', () => {
    const rendered = renderSsmDocument();
    if (process.env.EKSDIAG_WRITE_TEMPLATES === '1') writeFileSync(DOCUMENT_FILE, rendered);
    expect(readFileSync(DOCUMENT_FILE, 'utf8')).toBe(rendered);
    expect(SSM_DOCUMENT).toBe(rendered);
  });

  it('is a valid schema 2.2 Command document with one aws:runShellScript step and every parameter declared', () => {
    expect(validateCommandDocument(SSM_DOCUMENT)).toEqual([]);
    const document = JSON.parse(SSM_DOCUMENT);
    expect(document.schemaVersion).toBe('2.2');
    expect(document.mainSteps).toHaveLength(1);
    expect(document.mainSteps[0]).toMatchObject({
      action: 'aws:runShellScript',
      name: STEP_NAME,
      inputs: { timeoutSeconds: '{{ executionTimeout }}' },
    });
    expect(Object.keys(document.parameters)).toEqual(Object.keys(NODE_SCRIPT_PARAMETERS));
    for (const parameter of Object.values(document.parameters) as { default?: string; allowedPattern: string }[])
      if (parameter.default !== undefined) expect(parameter.default).toMatch(new RegExp(parameter.allowedPattern));
  });

  it('embeds the glibc launch check verbatim, and no SSM placeholder hides in a comment', () => {
    const script = renderNodeScript();
    expect(script).toContain(CHECK_GLIBC_SH.trimEnd());
    expect(script).not.toContain('@include');
    const commentPlaceholders = script.split('\n').filter((line) => /^\s*#.*\{\{/.test(line));
    expect(commentPlaceholders).toEqual([]);
  });

  it('refuses a template without the include marker', () => {
    expect(() => renderNodeScript('echo hi\n', 'exit 42\n')).toThrow(/include check-glibc/);
  });

  it('is written the way the repository formatter writes JSON', () => {
    expect(formatJson({ a: ['platformType', 'Linux'], b: {}, c: [], d: [{ e: null }] })).toBe(
      '{\n  "a": ["platformType", "Linux"],\n  "b": {},\n  "c": [],\n  "d": [\n    {\n      "e": null\n    }\n  ]\n}',
    );
    const long = ['x'.repeat(60), 'y'.repeat(60)];
    expect(formatJson({ lines: long })).toBe(`{\n  "lines": [\n    "${long[0]}",\n    "${long[1]}"\n  ]\n}`);
  });

  it('has a hash that follows its content', () => {
    expect(documentHash()).toMatch(/^[0-9a-f]{64}$/);
    expect(documentHash(`${SSM_DOCUMENT} `)).not.toBe(documentHash());
  });
});

describe('the inline script (AWS-RunShellScript)', () => {
  it('substitutes every placeholder and parses as POSIX sh', () => {
    const lines = inlineScript(values);
    const script = lines.join('\n');
    expect(script).not.toMatch(/\{\{/);
    expect(script).toContain(`eksdiag_url_x64='${values.AgentUrlX64}'`);
    expect(script).toContain("eksdiag_keep='false'");
    for (const shell of ['sh', 'dash', 'bash']) {
      const checked = spawnSync(shell, ['-n'], { input: script, encoding: 'utf8' });
      if (checked.error) continue;
      expect(checked.status, `${shell}: ${checked.stderr}`).toBe(0);
    }
  });

  it.each([
    ['a quote that would end the shell string', { AgentUrlX64: "https://x/a'b" }, /AgentUrlX64/],
    ['a space in a URL', { UploadFormUrl: 'https://x/a b' }, /UploadFormUrl/],
    ['a non-hex sha256', { AgentSha256X64: 'z'.repeat(64) }, /AgentSha256X64/],
    ['a shell expansion in --since', { Since: '$(reboot)' }, /Since/],
    ['KeepOnNode other than true/false', { KeepOnNode: 'yes' }, /KeepOnNode/],
    ['an execution timeout over 48 h', { executionTimeout: '172801' }, /executionTimeout/],
    ['no upload form', { UploadFormUrl: '' }, /UploadFormUrl/],
  ])('refuses %s', (_name, override, problem) => {
    expect(parameterProblems({ ...values, ...override })).toEqual([expect.stringMatching(problem)]);
    expect(() => inlineScript({ ...values, ...override })).toThrow(problem);
  });

  it('applies the defaults to parameters left out', () => {
    expect(parameterProblems({ UploadFormUrl: values.UploadFormUrl })).toEqual([]);
    expect(parameterProblems({})).toEqual(['parameter UploadFormUrl is required']);
  });
});
