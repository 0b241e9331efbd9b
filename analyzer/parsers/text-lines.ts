/**
 * Plain text, one event per non-empty line: for one-value files such as `system/instance-id.txt`,
 * `system/region.txt`, `kernel/uname.txt` (`Linux ip-10-0-1-23.ec2.internal 6.1.112-124.190.amzn2023.x86_64 #1 SMP ... x86_64 GNU/Linux`).
 */
import type { LineEvent, ParserDef } from './types.ts';

export interface TextLineEvent extends LineEvent {
  kind: 'line';
  /** The line without surrounding whitespace. */
  text: string;
}

export const textLinesParser: ParserDef<TextLineEvent> = {
  name: 'text-lines',
  create: () => ({
    push(raw, line, emit) {
      const text = raw.trim();
      if (text !== '') emit({ kind: 'line', line, raw, text });
    },
  }),
};
