/** Test helper: pushes chunks through a redacting stream and collects what comes out. */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRedactor, type RedactorOptions } from './stream.ts';

export interface StreamResult {
  output: Buffer;
  text: string;
  count: number;
  counts: Record<string, number>;
  droppedBytes: number;
}

export async function runChunks(
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
  names?: readonly string[],
  options?: RedactorOptions,
): Promise<StreamResult> {
  const redactor = createRedactor(names, options);
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      parts.push(chunk);
      done();
    },
  });
  await pipeline(Readable.from(chunks, { objectMode: false }), redactor.transform, sink);
  const output = Buffer.concat(parts);
  return {
    output,
    text: output.toString('utf8'),
    count: redactor.count(),
    counts: redactor.counts(),
    droppedBytes: redactor.droppedBytes(),
  };
}

/** A buffer cut into pieces of `size` bytes. */
export function* piecesOf(buffer: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < buffer.length; offset += size) yield buffer.subarray(offset, offset + size);
}
