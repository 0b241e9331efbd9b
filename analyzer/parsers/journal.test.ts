import { describe, expect, it } from 'vitest';
import { type JournalEntry, journalParser, parseStructured } from './journal.ts';
import { headerSample, parseLines, unparsedReason } from './test-kit.ts';
import type { ParseContext } from './types.ts';

function entry(raw: string, context?: ParseContext): JournalEntry {
  const [event] = parseLines(journalParser, [raw], context);
  if (event?.kind !== 'entry') throw new Error(`expected an entry, got ${JSON.stringify(event)}`);
  return event;
}

function reasonFor(raw: string): string | undefined {
  return unparsedReason(journalParser, raw);
}

const PROBE_FAILED =
  'Nov 20 08:41:07 ip-10-0-1-23.ec2.internal kubelet[3412]: I1120 08:41:07.123456    3412 prober.go:107] "Probe failed" probeType="Liveness" pod="kube-system/aws-node-7xk2p" podUID="0b5a2c1e-8f3d-4e2a-9c61-2f0d1e7a9b44" containerName="aws-node" probeResult="failure" output="timeout: failed to connect service \\":50051\\" within 5s"';

describe('journalParser: the header sample', () => {
  it('parses every sample line of the module comment', () => {
    const sample = headerSample(new URL('./journal.ts', import.meta.url));
    expect(sample).toHaveLength(5);
    const events = parseLines(journalParser, sample, { referenceYear: 2026 });
    expect(events.map((event) => event.kind)).toEqual(['meta', 'entry', 'entry', 'entry', 'entry']);
    const [meta, probe, message, containerd, kernel] = events;
    expect(meta).toMatchObject({ kind: 'meta', line: 1, text: expect.stringMatching(/^Logs begin at Mon 2026-11-09/) });
    expect(probe).toMatchObject({
      ident: 'kubelet',
      pid: 3412,
      klog: { severity: 'I', file: 'prober.go', fileLine: 107 },
      text: expect.stringMatching(/^"Probe failed" probeType="Liveness"/),
    });
    expect(message).toMatchObject({ klog: { file: 'kuberuntime_manager.go', fileLine: 1027 } });
    expect(containerd).toMatchObject({
      timestamp: '2026-11-20T08:41:08+0000',
      epochMs: Date.UTC(2026, 10, 20, 8, 41, 8),
      ident: 'containerd',
      pid: 2901,
    });
    expect(kernel).toMatchObject({ host: 'ip-10-0-1-23', ident: 'kernel', text: expect.stringMatching(/^IPv6:/) });
    expect(kernel).not.toHaveProperty('pid');
    const kv = parseStructured((message as JournalEntry).text).kv;
    expect(kv.containerMessage).toBe('Container aws-node failed liveness probe, will be restarted');
  });
});

describe('journalParser: timestamp layouts', () => {
  it('reads journalctl short with a klog header, as the stock collector writes it', () => {
    const event = entry(PROBE_FAILED, { referenceYear: 2026 });
    expect(event).toEqual({
      kind: 'entry',
      line: 1,
      raw: PROBE_FAILED,
      timestamp: 'Nov 20 08:41:07',
      epochMs: Date.UTC(2026, 10, 20, 8, 41, 7),
      host: 'ip-10-0-1-23.ec2.internal',
      ident: 'kubelet',
      pid: 3412,
      message: PROBE_FAILED.slice(PROBE_FAILED.indexOf('I1120')),
      klog: {
        severity: 'I',
        month: 11,
        day: 20,
        time: '08:41:07.123456',
        thread: 3412,
        file: 'prober.go',
        fileLine: 107,
      },
      text: PROBE_FAILED.slice(PROBE_FAILED.indexOf('"Probe failed"')),
    });
  });

  it('leaves epochMs out of short timestamps when the year is unknown', () => {
    expect(entry(PROBE_FAILED)).not.toHaveProperty('epochMs');
  });

  it('dates December lines of a file written in January to the year before (referenceTime)', () => {
    const context = { referenceTime: Date.UTC(2027, 0, 3, 12, 0, 0) };
    const events = parseLines(
      journalParser,
      ['Dec 31 23:59:59 host kubelet[1]: last of the year', 'Jan 01 00:00:01 host kubelet[1]: first of the next'],
      context,
    );
    expect(events.map((event) => (event.kind === 'entry' ? event.epochMs : undefined))).toEqual([
      Date.UTC(2026, 11, 31, 23, 59, 59),
      Date.UTC(2027, 0, 1, 0, 0, 1),
    ]);
  });

  it('gives every year-less line the referenceYear when only the year is known', () => {
    expect(entry('Mar 02 10:00:00 host kubelet[1]: x', { referenceYear: 2025 }).epochMs).toBe(
      Date.UTC(2025, 2, 2, 10, 0, 0),
    );
  });

  it('reads short-precise fractions down to the millisecond', () => {
    const event = entry('Nov 20 08:41:07.123456 host kubelet[3412]: hello', { referenceYear: 2026 });
    expect(event.timestamp).toBe('Nov 20 08:41:07.123456');
    expect(event.epochMs).toBe(Date.UTC(2026, 10, 20, 8, 41, 7, 123));
  });

  it.each([
    ['2026-11-20T08:41:07+0000', Date.UTC(2026, 10, 20, 8, 41, 7)],
    ['2026-11-20T08:41:07+00:00', Date.UTC(2026, 10, 20, 8, 41, 7)],
    ['2026-11-20T08:41:07.123456+0000', Date.UTC(2026, 10, 20, 8, 41, 7, 123)],
    ['2026-11-20T08:41:07.123456+00:00', Date.UTC(2026, 10, 20, 8, 41, 7, 123)],
    ['2026-11-20T03:41:07.500000-0500', Date.UTC(2026, 10, 20, 8, 41, 7, 500)],
    ['2026-11-20T14:11:07+05:30', Date.UTC(2026, 10, 20, 8, 41, 7)],
    ['2026-11-20T08:41:07.123Z', Date.UTC(2026, 10, 20, 8, 41, 7, 123)],
  ])('reads the ISO timestamp %s (short-iso, short-iso-precise, rsyslog RFC 3339)', (stamp, epochMs) => {
    const event = entry(`${stamp} ip-10-0-1-23.ec2.internal kubelet[3412]: I1120 08:41:07.123456    3412 x.go:1] "m"`);
    expect(event).toMatchObject({ timestamp: stamp, epochMs, host: 'ip-10-0-1-23.ec2.internal', pid: 3412 });
    expect(event.klog?.file).toBe('x.go');
  });

  it('reads /var/log/messages in rsyslog traditional format (AL2): space-padded day, no pid', () => {
    const raw =
      'Nov  5 08:41:07 ip-10-0-1-23 kubelet: E1105 08:41:07.330578 4567 kubelet.go:2263] "Container runtime network not ready" networkReady="NetworkReady=false"';
    const event = entry(raw, { referenceYear: 2026 });
    expect(event).toMatchObject({
      timestamp: 'Nov  5 08:41:07',
      epochMs: Date.UTC(2026, 10, 5, 8, 41, 7),
      host: 'ip-10-0-1-23',
      ident: 'kubelet',
      klog: { severity: 'E', month: 11, day: 5, thread: 4567, file: 'kubelet.go', fileLine: 2263 },
    });
    expect(event).not.toHaveProperty('pid');
    expect(entry('Nov 5 08:41:07 host systemd: Started Kubernetes Kubelet.').timestamp).toBe('Nov 5 08:41:07');
  });

  it('reads <PRI>-prefixed RFC 3164 and RFC 5424 lines', () => {
    expect(entry('<30>Nov 20 08:41:07 host dhclient[2811]: XMT: Solicit on eth0')).toMatchObject({
      timestamp: 'Nov 20 08:41:07',
      ident: 'dhclient',
      pid: 2811,
      message: 'XMT: Solicit on eth0',
    });
    const rfc5424 = entry(
      '<30>1 2026-11-20T08:41:07.123456+00:00 ip-10-0-1-23 kubelet 3412 - [meta sequenceId="1" note="a \\"]\\" b"] I1120 08:41:07.123456    3412 prober.go:107] "Probe failed"',
    );
    expect(rfc5424).toMatchObject({
      timestamp: '2026-11-20T08:41:07.123456+00:00',
      epochMs: Date.UTC(2026, 10, 20, 8, 41, 7, 123),
      host: 'ip-10-0-1-23',
      ident: 'kubelet',
      pid: 3412,
      klog: { file: 'prober.go' },
      text: '"Probe failed"',
    });
    expect(entry('<13>1 2026-11-20T08:41:07Z - app - ID47 - hello')).toMatchObject({ ident: 'app', message: 'hello' });
  });
});

describe('journalParser: identifiers and meta lines', () => {
  it('reads lines written with --no-hostname and the "unknown" identifier journalctl prints', () => {
    expect(entry('Nov 20 08:41:07 kubelet[3412]: hello')).toEqual(
      expect.objectContaining({ ident: 'kubelet', pid: 3412, message: 'hello' }),
    );
    expect(entry('Nov 20 08:41:07 kubelet[3412]: hello')).not.toHaveProperty('host');
    expect(entry('Nov 20 08:41:07 host unknown: hello')).toMatchObject({ host: 'host', ident: 'unknown' });
  });

  it('keeps odd identifiers whole and messages verbatim', () => {
    expect(entry('Nov 20 08:41:07 host systemd-coredump[77]: Process 7798 (haproxy) dumped core.')).toMatchObject({
      ident: 'systemd-coredump',
      pid: 77,
    });
    expect(entry('Nov 20 08:41:07 host weird[abc]: x')).toMatchObject({ ident: 'weird[abc]' });
    expect(entry('Nov 20 08:41:07 host /usr/sbin/irqbalance: x')).toMatchObject({ ident: '/usr/sbin/irqbalance' });
    expect(entry('Nov 20 08:41:07 host kubelet[3412]:')).toMatchObject({ ident: 'kubelet', message: '', text: '' });
    expect(entry('Nov 20 08:41:07 host kubelet[3412]: [1.2K blob data]')).toMatchObject({ text: '[1.2K blob data]' });
    const flag =
      'Flag --container-runtime-endpoint has been deprecated, This parameter should be set via the config file';
    expect(entry(`Nov 20 08:41:07 host kubelet[3412]: ${flag}`)).toMatchObject({ text: flag });
    expect(entry(`Nov 20 08:41:07 host kubelet[3412]: ${flag}`)).not.toHaveProperty('klog');
  });

  it.each([
    ['-- No entries --', 'No entries'],
    [
      '-- Logs begin at Mon 2026-11-09 08:00:01 UTC, end at Fri 2026-11-20 08:41:09 UTC. --',
      'Logs begin at Mon 2026-11-09 08:00:01 UTC, end at Fri 2026-11-20 08:41:09 UTC.',
    ],
    [
      '-- Journal begins at Mon 2026-11-09 08:00:01 UTC, ends at Fri 2026-11-20 08:41:09 UTC. --',
      'Journal begins at Mon 2026-11-09 08:00:01 UTC, ends at Fri 2026-11-20 08:41:09 UTC.',
    ],
    ['-- Boot 3f2c0d9a5b6e4c1f8a7d6e5f4a3b2c1d --', 'Boot 3f2c0d9a5b6e4c1f8a7d6e5f4a3b2c1d'],
    ['-- Reboot --', 'Reboot'],
  ])('reads the journalctl line %s as meta', (raw, text) => {
    expect(parseLines(journalParser, [raw])).toEqual([{ kind: 'meta', line: 1, raw, text }]);
  });
});

describe('journalParser: klog headers', () => {
  it('reads wide thread ids, directory headers and every severity', () => {
    const wide = entry(
      'Jan 10 16:59:27 host kubelet[18560]: W0110 16:59:27.123028   18560 pkg/kubelet/state_mem.go:80] "Updated desired CPUSet"',
    );
    expect(wide.klog).toEqual({
      severity: 'W',
      month: 1,
      day: 10,
      time: '16:59:27.123028',
      thread: 18560,
      file: 'pkg/kubelet/state_mem.go',
      fileLine: 80,
    });
    for (const severity of ['I', 'W', 'E', 'F']) {
      expect(entry(`Jan 10 16:59:27 host k[1]: ${severity}0110 16:59:27.1 7 a.go:1] x`).klog?.severity).toBe(severity);
    }
    expect(entry('Jan 10 16:59:27 host k[1]: I0110 16:59:27.123028       1 a.go:9]').text).toBe('');
  });

  it.each([
    ['not a severity letter', 'X1120 08:41:07.123456    3412 prober.go:107] m'],
    ['month 13', 'I1320 08:41:07.123456    3412 prober.go:107] m'],
    ['no thread id', 'I1120 08:41:07.123456 prober.go:107] m'],
    ['no file line', 'I1120 08:41:07.123456    3412 prober.go] m'],
    ['a non-numeric file line', 'I1120 08:41:07.123456    3412 prober.go:1x7] m'],
    ['no closing bracket', 'I1120 08:41:07.123456    3412 prober.go:107 m'],
    ['cut short', 'I1120 08:41:07.12'],
  ])('treats a message with %s as plain text', (_name, message) => {
    const event = entry(`Nov 20 08:41:07 host kubelet[3412]: ${message}`);
    expect(event).not.toHaveProperty('klog');
    expect(event.text).toBe(message);
  });

  it('keeps the pre-1.21 probe message as text (rules match it by substring)', () => {
    const old =
      'I0326 02:56:56.266464    2341 prober.go:111] Liveness probe for "aws-node-7xk2p_kube-system(0b5a2c1e-8f3d-4e2a-9c61-2f0d1e7a9b44):aws-node" failed (failure): timeout: failed to connect service ":50051" within 5s';
    const event = entry(`Mar 26 02:56:56 ip-172-16-30-135.ec2.internal kubelet[2341]: ${old}`);
    expect(event.klog).toMatchObject({ file: 'prober.go', fileLine: 111 });
    expect(event.text).toMatch(/^Liveness probe for "aws-node-7xk2p_kube-system\(.*\):aws-node" failed \(failure\): /);
    expect(parseStructured(event.text)).toEqual({ kv: {} });
  });
});

describe('journalParser: klog multi-line values split across journal entries', () => {
  const opening =
    'May 16 18:34:39 aks-node kubelet[4052]: I0516 18:34:39.885628    4052 prober.go:107] "Probe failed" probeType="Liveness" pod="default/liveness-exec" podUID="93e17ecc-ab55-461a-b526-29248d2554ad" containerName="liveness" probeResult="failure" output=<';

  it('marks the value lines and the closing line (journald 228+ keeps the indent, journalctl shows the tab as spaces)', () => {
    const events = parseLines(journalParser, [
      opening,
      "May 16 18:34:39 aks-node kubelet[4052]:         cat: can't open '/tmp/healthy': No such file or directory",
      'May 16 18:34:39 aks-node containerd[900]: unrelated',
      'May 16 18:34:39 aks-node kubelet[4052]:  >',
      'May 16 18:34:39 aks-node kubelet[4052]: after the value',
    ]) as JournalEntry[];
    expect(events.map((event) => event.continuationOf)).toEqual([undefined, 1, undefined, 1, undefined]);
    const joined = [events[0]?.text, events[1]?.message, events[3]?.message].join('\n');
    expect(parseStructured(joined).kv.output).toBe("cat: can't open '/tmp/healthy': No such file or directory");
  });

  it('handles the stripped form journald before 228 (AL2) writes, and pairs after the closing ">"', () => {
    const events = parseLines(journalParser, [
      'Jul 05 17:43:12 host kubelet[1500]: E0705 17:43:12.908344    1500 prober.go:118] "Probe errored" err=<',
      'Jul 05 17:43:12 host kubelet[1500]: rpc error: code = NotFound',
      'Jul 05 17:43:12 host kubelet[1500]: desc = container is not created or running',
      'Jul 05 17:43:12 host kubelet[1500]: > probeType="Readiness" pod="ns/p"',
      'Jul 05 17:43:13 host kubelet[1500]: I0705 17:43:13.000001    1500 kubelet.go:1] "next"',
    ]) as JournalEntry[];
    expect(events.map((event) => event.continuationOf)).toEqual([undefined, 1, 1, 1, undefined]);
    const joined = events
      .slice(0, 4)
      .map((event, index) => (index === 0 ? event.text : event.message))
      .join('\n');
    expect(parseStructured(joined)).toEqual({
      msg: 'Probe errored',
      kv: {
        err: 'rpc error: code = NotFound\ndesc = container is not created or running',
        probeType: 'Readiness',
        pod: 'ns/p',
      },
    });
  });

  it('closes an open value when kubelet restarts or logs a new klog line', () => {
    const restarted = parseLines(journalParser, [
      opening,
      'May 16 18:34:40 aks-node kubelet[5000]: Flag --foo has been deprecated',
    ]);
    expect((restarted[1] as JournalEntry).continuationOf).toBeUndefined();
    const next = parseLines(journalParser, [
      opening,
      'May 16 18:34:40 aks-node kubelet[4052]: I0516 18:34:40.000001    4052 kubelet.go:1] "x"',
      'May 16 18:34:40 aks-node kubelet[4052]: plain line',
    ]);
    expect(next.map((event) => (event as JournalEntry).continuationOf)).toEqual([undefined, undefined, undefined]);
  });
});

describe('journalParser: malformed input', () => {
  it.each([
    ['', 'empty line'],
    ['   ', 'empty line'],
    ['        continuation of a multi-line syslog() message', 'indented line: continuation of a multi-line message'],
    ['\u0000\u0001\u00ff\ufffd\u0007garbage', 'no recognisable timestamp at line start'],
    ['Nov 20 08:4', 'no recognisable timestamp at line start'],
    ['Foo 20 08:41:07 host kubelet[1]: x', 'no recognisable timestamp at line start'],
    ['2026-11-2', 'no recognisable timestamp at line start'],
    ['<abc>Nov 20 08:41:07 host x: y', 'no recognisable timestamp at line start'],
    ['Nov 20 08:41:07', 'timestamp without a message'],
    ['Nov 20 08:41:07host kubelet: x', 'no space after the timestamp'],
    ['2026-13-40T08:41:07+0000 host kubelet[1]: x', 'timestamp out of range'],
    ['Nov 20 25:41:07 host kubelet[1]: x', 'timestamp out of range'],
    ['Nov 20 08:41:07 host last message repeated 3 times', 'no "identifier:" after the host name'],
    ['Nov 20 08:41:07 host', 'no "identifier:" after the host name'],
    ['Nov 20 08:41:07  kubelet: x', 'no host or identifier after the timestamp'],
    ['<13>1 2026-11-20T08:41:07Z host', 'RFC 5424 line cut short before its message'],
  ])('reports %j as unparsed', (raw, reason) => {
    expect(reasonFor(raw)).toBe(reason);
  });

  it('emits exactly one event for every prefix of a real line and for random bytes, and never throws', () => {
    const parser = journalParser.create({ referenceYear: 2026 });
    let count = 0;
    const emit = () => {
      count++;
    };
    const samples = [
      PROBE_FAILED,
      ...headerSample(new URL('./journal.ts', import.meta.url)),
      '<30>1 2026-11-20T08:41:07.123456+00:00 h a 1 - [x y="z"] m',
    ];
    let pushed = 0;
    for (const sample of samples) {
      for (let end = 0; end <= sample.length; end++) {
        parser.push(sample.slice(0, end), ++pushed, emit);
      }
    }
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    for (let n = 0; n < 2000; n++) {
      const length = random() % 80;
      let raw = '';
      for (let k = 0; k < length; k++) raw += String.fromCharCode(random() % 256);
      parser.push(raw, ++pushed, emit);
    }
    expect(count).toBe(pushed);
  });

  it('reads an overlong line whole, in linear time', () => {
    const body = 'x'.repeat(2_000_000);
    const event = entry(`Nov 20 08:41:07 host kubelet[3412]: I1120 08:41:07.123456    3412 a.go:1] ${body}`);
    expect(event.text).toHaveLength(body.length);
    expect(entry(`Nov 20 08:41:07 host kubelet[3412]: I1120 08:41:07.123456 ${'9'.repeat(1_000_000)}`).klog).toBe(
      undefined,
    );
  });
});

describe('parseStructured', () => {
  it('decodes the stock probe failure, with escaped quotes in output', () => {
    const text = entry(PROBE_FAILED).text;
    expect(parseStructured(text)).toEqual({
      msg: 'Probe failed',
      kv: {
        probeType: 'Liveness',
        pod: 'kube-system/aws-node-7xk2p',
        podUID: '0b5a2c1e-8f3d-4e2a-9c61-2f0d1e7a9b44',
        containerName: 'aws-node',
        probeResult: 'failure',
        output: 'timeout: failed to connect service ":50051" within 5s',
      },
    });
  });

  it('reads unquoted values (older klog) and numbers', () => {
    const { kv } = parseStructured(
      '"Probe failed" probeType="Liveness" pod="nginx/bus" podUID=2527afb7-b32c-4c84-97e2-246eb48c97a9 containerName="nginx" probeResult=failure gracePeriod=30',
    );
    expect(kv).toMatchObject({
      podUID: '2527afb7-b32c-4c84-97e2-246eb48c97a9',
      probeResult: 'failure',
      gracePeriod: '30',
    });
  });

  it('decodes every Go strconv.Quote escape', () => {
    const { kv } = parseStructured(
      String.raw`"m" a="q\"q" b="back\\slash" c="l1\nl2\tt\r" d="caf\u00e9" e="\x41\xff" f="\U0001F600" g="\a\b\f\v" h="\101\'" i="\q\u12"`,
    );
    expect(kv).toEqual({
      a: 'q"q',
      b: 'back\\slash',
      c: 'l1\nl2\tt\r',
      d: 'café',
      e: 'A\u00ff',
      f: '😀',
      g: '\x07\b\f\v',
      h: "A'",
      i: '\\q\\u12',
    });
  });

  it('decodes escaped JSON inside output so that it can be parsed again', () => {
    const { kv } = parseStructured(
      String.raw`"Probe failed" probeType="Readiness" output="{\"status\":\"fail\",\"detail\":\"say \\\"hi\\\"\",\"code\":503}"`,
    );
    expect(JSON.parse(kv.output ?? '')).toEqual({ status: 'fail', detail: 'say "hi"', code: 503 });
  });

  it('keeps {…}, […] and &{…} values whole, braces balanced and quotes respected', () => {
    const { msg, kv } = parseStructured(
      '"Message for Container of pod" containerName="aws-node" containerStatusID={"Type":"containerd","ID":"a}b{c\\"d"} pod="kube-system/aws-node-7xk2p" pods=["default/a","kube-system/b [x]"] event=&{ID:93e1 Type:ContainerDied Data:05657a} nested={"a":{"b":[1,{"c":"}"}]}} last="end"',
    );
    expect(msg).toBe('Message for Container of pod');
    expect(kv).toEqual({
      containerName: 'aws-node',
      containerStatusID: '{"Type":"containerd","ID":"a}b{c\\"d"}',
      pod: 'kube-system/aws-node-7xk2p',
      pods: '["default/a","kube-system/b [x]"]',
      event: '&{ID:93e1 Type:ContainerDied Data:05657a}',
      nested: '{"a":{"b":[1,{"c":"}"}]}}',
      last: 'end',
    });
    expect(JSON.parse(kv.containerStatusID ?? '')).toEqual({ Type: 'containerd', ID: 'a}b{c"d' });
  });

  it('reads ErrorS lines, where err comes first', () => {
    expect(
      parseStructured(
        '"Probe errored" err="rpc error: code = NotFound desc = container is not created or running" probeType="Readiness" pod="openshift-marketplace/redhat-operators-4jpg4" containerName="registry-server"',
      ),
    ).toEqual({
      msg: 'Probe errored',
      kv: {
        err: 'rpc error: code = NotFound desc = container is not created or running',
        probeType: 'Readiness',
        pod: 'openshift-marketplace/redhat-operators-4jpg4',
        containerName: 'registry-server',
      },
    });
  });

  it('reads klog multi-line values, tab-indented as klog writes them', () => {
    expect(
      parseStructured(
        '"Probe failed" output=<\n\tHTTP probe failed with statuscode: 500\n\tbody: down\n > probeResult="failure"',
      ),
    ).toEqual({
      msg: 'Probe failed',
      kv: { output: 'HTTP probe failed with statuscode: 500\nbody: down', probeResult: 'failure' },
    });
    expect(parseStructured('"Probe failed" probeResult="failure" output=<')).toEqual({
      msg: 'Probe failed',
      kv: { probeResult: 'failure', output: '' },
    });
    expect(parseStructured('"Probe failed" output=<\n\tno closing line').kv.output).toBe('no closing line');
  });

  it('reads logrus lines (containerd) without a leading message', () => {
    expect(
      parseStructured('time="2026-11-20T08:41:08.000000000Z" level=info msg="StopContainer for \\"7f9c\\""'),
    ).toEqual({
      kv: { time: '2026-11-20T08:41:08.000000000Z', level: 'info', msg: 'StopContainer for "7f9c"' },
    });
  });

  it('survives malformed text without throwing', () => {
    expect(parseStructured('')).toEqual({ kv: {} });
    expect(parseStructured('"SyncLoop ADD"')).toEqual({ msg: 'SyncLoop ADD', kv: {} });
    expect(parseStructured('"Probe failed" output="cut off here')).toEqual({
      msg: 'Probe failed',
      kv: { output: 'cut off here' },
    });
    expect(parseStructured('"unterminated message')).toEqual({ msg: 'unterminated message', kv: {} });
    expect(parseStructured('"m" stray tokens a=1 =2 b="x" c={"open": [1, 2')).toEqual({
      msg: 'm',
      kv: { a: '1', b: 'x', c: '{"open": [1, 2' },
    });
    expect(parseStructured('prose first a=1')).toEqual({ kv: {} });
    const { kv } = parseStructured('"m" __proto__="polluted" constructor="c"');
    expect(Object.getPrototypeOf(kv)).toBe(Object.prototype);
    expect(kv).toEqual({ constructor: 'c' });
    expect(parseStructured(`"m" v=${'['.repeat(500_000)}`).kv.v).toHaveLength(500_000);
    expect(parseStructured(`"${'\\'.repeat(400_000)}`).msg).toHaveLength(200_000);
  });
});
