/**
 * Plants every kind of secret in every kind of source the agent collects and proves that none survives, in any
 * chunking, while the values the analyzer needs come out intact and the counts match what was planted.
 */
import { describe, expect, it } from 'vitest';
import { redactText } from './engine.ts';
import { probesOf, type SourceSample, sourceSamples } from './fixtures.ts';
import { piecesOf, runChunks } from './run-stream.ts';
import { MASK } from './syntax.ts';

const samples = sourceSamples();

function expectClean(sample: SourceSample, text: string) {
  for (const planted of sample.secrets) {
    for (const probe of probesOf(planted)) {
      expect(text.includes(probe), `${sample.name}: ${planted.label} leaked (${probe})`).toBe(false);
    }
  }
  for (const kept of sample.keep) expect(text, `${sample.name}: lost ${JSON.stringify(kept)}`).toContain(kept);
}

describe('planted secrets in every source shape', () => {
  it('covers each shape the agent collects', () => {
    expect(samples.map((sample) => sample.name)).toEqual([
      'ctr container info (aws-node)',
      'docker inspect',
      'ps fauxwww',
      'kubeconfig YAML',
      'kubeconfig JSON on one line',
      'cloud-init-output.log with bootstrap tokens',
      'user-data (MIME, NodeConfig, script, cloud-config)',
      'journal lines',
      'instance-metadata credentials JSON',
      'presigned URLs and signed requests',
      '/proc/<pid>/environ (NUL separated)',
      'credentials file and env file',
      'pod specs (JSON and YAML)',
      'ipamd log (nothing secret)',
    ]);
    expect(samples.reduce((sum, sample) => sum + sample.secrets.length, 0)).toBeGreaterThan(60);
  });

  describe.each(samples.map((sample) => [sample.name, sample] as const))('%s', (_name, sample) => {
    it('leaves no planted secret, keeps the non-secrets, counts every replacement', async () => {
      const result = await runChunks([Buffer.from(sample.text)], sample.names);
      expectClean(sample, result.text);
      expect(result.count).toBe(sample.redactions);
      expect(result.text.split(MASK).length - 1).toBe(sample.redactions);
    });

    it('gives the same bytes and count in 1-byte and 7-byte chunks, and in memory', async () => {
      const input = Buffer.from(sample.text);
      const whole = await runChunks([input], sample.names);
      for (const size of [1, 7]) {
        const chunked = await runChunks(piecesOf(input, size), sample.names);
        expect(chunked.text).toBe(whole.text);
        expect(chunked.count).toBe(whole.count);
      }
      expect(redactText(sample.text, sample.names)).toEqual({ text: whole.text, count: whole.count });
    });

    it('is idempotent: the redacted output redacts to itself with no count', async () => {
      const once = await runChunks([Buffer.from(sample.text)], sample.names);
      const twice = await runChunks([once.output], sample.names);
      expect(twice.text).toBe(once.text);
      expect(twice.count).toBe(0);
    });
  });

  const splitSamples = samples.filter((sample) =>
    ['ctr container info', 'kubeconfig YAML', 'cloud-init-output', 'user-data', 'journal lines'].some((prefix) =>
      sample.name.startsWith(prefix),
    ),
  );

  it.each(splitSamples.map((sample) => [sample.name, sample] as const))(
    '%s: split in two at every byte boundary, nothing leaks and the output never changes',
    async (_name, sample) => {
      const input = Buffer.from(sample.text);
      const whole = await runChunks([input], sample.names);
      for (let cut = 1; cut < input.length; cut++) {
        const split = await runChunks([input.subarray(0, cut), input.subarray(cut)], sample.names);
        if (split.text !== whole.text || split.count !== whole.count) {
          expect({ cut, text: split.text, count: split.count }).toEqual({ cut, text: whole.text, count: whole.count });
        }
      }
      expectClean(sample, whole.text);
    },
  );

  it('keeps every kind of secret out even when all sources are concatenated into one stream', async () => {
    const all = samples.map((sample) => sample.text).join('');
    const names = [...new Set(samples.flatMap((sample) => sample.names ?? []))];
    const result = await runChunks(piecesOf(Buffer.from(all), 4096), names);
    for (const sample of samples) {
      for (const planted of sample.secrets) {
        for (const probe of probesOf(planted)) expect(result.text.includes(probe), planted.label).toBe(false);
      }
    }
  });
});
