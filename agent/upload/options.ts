/**
 * What the PUT and POST uploads share: their options, their result, and how they read the spooled bundle.
 */
import { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';

export interface UploadOptions {
  retry?: Partial<RetryPolicy>;
  /** An attempt fails when its connection makes no progress for this long. */
  idleTimeoutMs?: number;
  /** Accept http:// on loopback (tests). */
  allowHttpLoopback?: boolean;
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

export interface UploadResult {
  method: 'PUT' | 'POST';
  /** `s3://bucket/key` when S3's answer or the URL names both, else the URL without its query. */
  location: string;
  bucket?: string;
  key?: string;
  /** As S3 sends it, quoted. */
  etag?: string;
  bytes: number;
  attempts: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** Reads of the spooled bundle: memory stays bounded whatever its size. */
export const READ_CHUNK_BYTES = 64 * 1024;

export function retryPolicy(options: UploadOptions): RetryPolicy {
  return { ...DEFAULT_RETRY, ...options.retry };
}
