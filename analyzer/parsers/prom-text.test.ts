import { describe, expect, it } from 'vitest';
import { parsePromValue, promTextParser } from './prom-text.ts';
import { headerSample, ofKind, parseLines, unparsedReason } from './test-kit.ts';

describe('promTextParser', () => {
  it('parses the header sample', () => {
    const events = parseLines(promTextParser, headerSample(new URL('./prom-text.ts', import.meta.url)));
    expect(events.map((event) => event.kind)).toEqual(['help', 'type', 'sample', 'type', 'sample', 'sample', 'sample']);
    expect(events[0]).toMatchObject({
      kind: 'help',
      name: 'awscni_aws_api_error_count',
      help: 'The number of times AWS API returns an error',
    });
    expect(events[2]).toEqual({
      kind: 'sample',
      line: 3,
      raw: 'awscni_aws_api_error_count{api="DeleteNetworkInterface",error="InvalidParameterValue"} 14',
      name: 'awscni_aws_api_error_count',
      labels: { api: 'DeleteNetworkInterface', error: 'InvalidParameterValue' },
      value: 14,
      family: 'awscni_aws_api_error_count',
      type: 'counter',
    });
    const [quantile, sum, untyped] = ofKind(events, 'sample').slice(1);
    expect(quantile?.value).toBeNaN();
    expect(quantile).toMatchObject({
      family: 'awscni_aws_api_latency_ms',
      type: 'summary',
      labels: { quantile: '0.5' },
    });
    expect(sum).toMatchObject({
      name: 'awscni_aws_api_latency_ms_sum',
      family: 'awscni_aws_api_latency_ms',
      value: 2938,
    });
    expect(untyped).toMatchObject({ name: 'awscni_eni_max', family: 'awscni_eni_max', type: 'untyped', value: 3 });
  });

  it('reads histogram series as parts of their family, with +Inf buckets', () => {
    // ipamd's startup histogram (utils/prometheusmetrics/prometheusmetrics.go)
    const events = ofKind(
      parseLines(promTextParser, [
        '# HELP awscni_ipamd_startup_duration_seconds Time from process start to ready',
        '# TYPE awscni_ipamd_startup_duration_seconds histogram',
        'awscni_ipamd_startup_duration_seconds_bucket{failure_reason="",success="true",with_api_server="true",le="0.5"} 0',
        'awscni_ipamd_startup_duration_seconds_bucket{failure_reason="",success="true",with_api_server="true",le="+Inf"} 1',
        'awscni_ipamd_startup_duration_seconds_sum{failure_reason="",success="true",with_api_server="true"} 2.735',
        'awscni_ipamd_startup_duration_seconds_count{failure_reason="",success="true",with_api_server="true"} 1',
        'awscni_total_count 4',
      ]),
      'sample',
    );
    expect(events.map((event) => [event.family, event.type])).toEqual([
      ['awscni_ipamd_startup_duration_seconds', 'histogram'],
      ['awscni_ipamd_startup_duration_seconds', 'histogram'],
      ['awscni_ipamd_startup_duration_seconds', 'histogram'],
      ['awscni_ipamd_startup_duration_seconds', 'histogram'],
      ['awscni_total_count', 'untyped'],
    ]);
    expect(events[1]?.labels.le).toBe('+Inf');
    expect(events[2]?.value).toBe(2.735);
  });

  it('unescapes label values and help text', () => {
    const events = parseLines(promTextParser, [
      '# HELP msg A help with a \\\\ backslash\\nand a second line',
      'msg{path="C:\\\\dir",quote="say \\"hi\\"",nl="a\\nb"} 1',
    ]);
    expect(events[0]).toMatchObject({ kind: 'help', help: 'A help with a \\ backslash\nand a second line' });
    expect(events[1]).toMatchObject({ labels: { path: 'C:\\dir', quote: 'say "hi"', nl: 'a\nb' } });
  });

  it('reads special values, exponents, timestamps, blanks and a trailing comma', () => {
    const samples = ofKind(
      parseLines(promTextParser, [
        'go_memstats_alloc_bytes 7.710456e+06',
        'a +Inf',
        'b -Inf 1700000000000',
        'c{ x = "1" , } 1.5e-3\t-12',
        '  indented 0x1p-2',
        'd Nan',
        'e 1 1700000000.5',
      ]),
      'sample',
    );
    expect(samples.map((s) => s.value)).toEqual([7_710_456, Infinity, -Infinity, 0.0015, 0.25, Number.NaN, 1]);
    expect(samples[2]?.timestampMs).toBe(1_700_000_000_000);
    expect(samples[3]).toMatchObject({ labels: { x: '1' }, timestampMs: -12 });
    expect(samples[6]?.timestampMs).toBe(1_700_000_000_500);
  });

  it('reads quoted UTF-8 metric names and ignores exemplars, EOF and plain comments', () => {
    const events = parseLines(promTextParser, [
      '# a plain comment',
      '{"http.server.duration", method="GET"} 3',
      'requests_total{code="200"} 10 # {trace_id="abc"} 1',
      '# EOF',
      '',
    ]);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ kind: 'sample', name: 'http.server.duration', labels: { method: 'GET' } });
    expect(events[1]).toMatchObject({ kind: 'sample', name: 'requests_total', value: 10 });
  });

  it('resolves OpenMetrics _total and keeps the latest TYPE of a repeated family', () => {
    const samples = ofKind(
      parseLines(promTextParser, ['# TYPE jobs counter', 'jobs_total 3', '# TYPE jobs gauge', 'jobs_total 4']),
      'sample',
    );
    expect(samples.map((s) => [s.family, s.type])).toEqual([
      ['jobs', 'counter'],
      ['jobs_total', 'untyped'],
    ]);
  });

  it('reports the curl error the stock collector may leave instead of metrics', () => {
    const events = parseLines(promTextParser, [
      'curl: (7) Failed to connect to localhost port 61678 after 0 ms: Connection refused',
    ]);
    expect(events).toEqual([
      {
        kind: 'fetch-error',
        line: 1,
        raw: 'curl: (7) Failed to connect to localhost port 61678 after 0 ms: Connection refused',
        message: 'curl: (7) Failed to connect to localhost port 61678 after 0 ms: Connection refused',
      },
    ]);
  });

  it('gives no events for an empty file', () => {
    expect(parseLines(promTextParser, '')).toEqual([]);
    expect(parseLines(promTextParser, ['', '   '])).toEqual([]);
  });

  it('marks malformed lines with a reason', () => {
    expect(unparsedReason(promTextParser, 'awscni_eni_max{')).toMatch(/not closed/);
    expect(unparsedReason(promTextParser, 'awscni_eni_max{a="x')).toMatch(/not closed/);
    expect(unparsedReason(promTextParser, 'awscni_eni_max')).toMatch(/without a value/);
    expect(unparsedReason(promTextParser, 'awscni_eni_max three')).toMatch(/not a number/);
    expect(unparsedReason(promTextParser, 'awscni_eni_max 3 12:00')).toMatch(/timestamp/);
    expect(unparsedReason(promTextParser, 'awscni_eni_max 3 1 2')).toMatch(/after the timestamp/);
    expect(unparsedReason(promTextParser, 'm{a="1" b="2"} 1')).toMatch(/expected "," or "}"/);
    expect(unparsedReason(promTextParser, 'm{a="1",a="2"} 1')).toMatch(/twice/);
    expect(unparsedReason(promTextParser, 'm{a="\\x"} 1')).toMatch(/invalid escape/);
    expect(unparsedReason(promTextParser, 'm{9a="1"} 1')).toMatch(/invalid label name/);
    expect(unparsedReason(promTextParser, 'm{a=1} 1')).toMatch(/no quoted value/);
    expect(unparsedReason(promTextParser, 'metric-name 1')).toMatch(/unexpected character/);
    expect(unparsedReason(promTextParser, '404 page not found')).toMatch(/not a metric line/);
    expect(unparsedReason(promTextParser, '# TYPE m')).toMatch(/without a type/);
    expect(unparsedReason(promTextParser, '# TYPE m counters')).toMatch(/unknown metric type/);
    expect(unparsedReason(promTextParser, '# HELP bad-name text')).toMatch(/invalid metric name/);
  });

  it('never lets a label named __proto__ change the labels object', () => {
    const [event] = ofKind(parseLines(promTextParser, 'm{__proto__="x",a="1"} 1'), 'sample');
    expect(Object.getPrototypeOf(event?.labels)).toBe(Object.prototype);
    expect(event?.labels).toEqual({ a: '1' });
  });
});

describe('parsePromValue', () => {
  it('accepts what Go ParseFloat accepts and nothing else', () => {
    expect(parsePromValue('1')).toBe(1);
    expect(parsePromValue('-0.5')).toBe(-0.5);
    expect(parsePromValue('.5')).toBe(0.5);
    expect(parsePromValue('5.')).toBe(5);
    expect(parsePromValue('Infinity')).toBe(Infinity);
    expect(parsePromValue('-inf')).toBe(-Infinity);
    expect(parsePromValue('0x10')).toBe(16);
    expect(parsePromValue('')).toBeUndefined();
    expect(parsePromValue('1,5')).toBeUndefined();
    expect(parsePromValue('true')).toBeUndefined();
  });
});
