/**
 * Reads our agent's manifest.json. A manifest that does not match the contract is reported with the exact field
 * paths that are wrong, and the bundle is then analyzed as if it had none (statuses unknown), never rejected.
 */
import { z } from 'zod';
import { BUNDLE_SCHEMA, type BundleManifest } from '../../contract/bundle.ts';

const itemSchema = z.looseObject({
  id: z.string(),
  path: z.string(),
  source: z.string().default(''),
  status: z.enum(['ok', 'truncated', 'error', 'timeout', 'skipped']),
  reason: z.string().optional(),
  exitCode: z.number().nullable().optional(),
  durationMs: z.number().optional(),
  bytes: z.number().optional(),
  sha256: z.string().optional(),
  redactions: z.number().optional(),
});

const manifestSchema = z.looseObject({
  schema: z.literal(BUNDLE_SCHEMA),
  tool: z.looseObject({ name: z.string(), version: z.string() }),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
  interrupted: z.boolean().optional(),
  node: z.looseObject({}).default({}),
  parameters: z.record(z.string(), z.unknown()).default({}),
  items: z.array(itemSchema),
});

export type ManifestParse = { ok: true; manifest: BundleManifest } | { ok: false; error: string };

export function parseManifest(text: string): ManifestParse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      error: `manifest.json is not valid JSON (${(error as Error).message}); collection statuses are unknown`,
    };
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    return {
      ok: false,
      error: `manifest.json does not match ${BUNDLE_SCHEMA} (${issues}); collection statuses are unknown`,
    };
  }
  return { ok: true, manifest: result.data as unknown as BundleManifest };
}
