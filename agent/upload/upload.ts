/**
 * The agent's upload of a finished bundle to S3, by presigned PUT URL or presigned POST form. See put.ts for why the
 * bundle goes through a private file on disk first.
 */
import type { UploadOptions, UploadResult } from './options.ts';
import { postBundle } from './post.ts';
import { putBundle } from './put.ts';
import type { UploadTarget } from './target.ts';

export type { UploadOptions, UploadResult } from './options.ts';

/** Uploads the bundle file; `filename` is the name S3 substitutes for `${filename}` in a POST form's key. */
export function uploadBundle(
  file: string,
  filename: string,
  target: UploadTarget,
  options: UploadOptions = {},
): Promise<UploadResult> {
  return target.method === 'PUT'
    ? putBundle(file, target.url, options)
    : postBundle(file, filename, target.url, target.fields, options);
}
