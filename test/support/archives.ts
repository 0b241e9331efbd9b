/**
 * Builds tar and tar.gz bytes member by member with node-tar's own header encoder, so tests can make archives no
 * well-behaved tool would write: hostile names, links, device nodes, junk between members, cut-off streams.
 */
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';

export interface MemberSpec {
  name: string;
  content?: string | Buffer;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  linkpath?: string;
  /** Declared size when it must differ from the content (a member cut short). */
  size?: number;
  mtime?: Date;
}

const BLOCK = 512;

export function tarMember(spec: MemberSpec): Buffer {
  const content = typeof spec.content === 'string' ? Buffer.from(spec.content) : (spec.content ?? Buffer.alloc(0));
  const header = new Header({
    path: spec.name,
    type: spec.type ?? 'File',
    size: spec.size ?? content.length,
    mode: spec.type === 'Directory' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtime: spec.mtime ?? new Date('2026-11-20T09:12:00Z'),
    linkpath: spec.linkpath,
  });
  const block = Buffer.alloc(BLOCK);
  header.encode(block, 0);
  const padded = Buffer.alloc(Math.ceil(content.length / BLOCK) * BLOCK);
  content.copy(padded);
  return Buffer.concat([block, padded]);
}

/** A complete tar stream: the members, then the two zero blocks that end an archive. */
export function tarOf(members: (MemberSpec | Buffer)[]): Buffer {
  return Buffer.concat([...members.map((m) => (Buffer.isBuffer(m) ? m : tarMember(m))), Buffer.alloc(BLOCK * 2)]);
}

export function tarGzOf(members: (MemberSpec | Buffer)[]): Buffer {
  return gzipSync(tarOf(members));
}
