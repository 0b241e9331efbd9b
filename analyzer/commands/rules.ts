/** `eks-node-diag rules`: the catalog, straight from each rule's metadata. */
import { bundlePaths } from '../../contract/bundle.ts';
import { rules } from '../rules/index.ts';

export function listRules(options: { json: boolean }): string {
  const entries = [...rules]
    .sort((a, b) => a.meta.id.localeCompare(b.meta.id))
    .map(({ meta }) => ({
      id: meta.id,
      title: meta.title,
      severity: meta.severity,
      description: meta.description,
      needs: meta.needs.map((need) =>
        typeof need === 'string' ? bundlePaths[need] : need.anyOf.map((id) => bundlePaths[id]).join(' | '),
      ),
      uses: (meta.uses ?? []).map((id) => bundlePaths[id]),
      references: meta.references,
    }));
  if (options.json) return `${JSON.stringify(entries, null, 2)}\n`;
  const width = Math.max(...entries.map((entry) => entry.id.length));
  return `${entries
    .map(
      (entry) =>
        `${entry.id.padEnd(width)}  ${entry.severity.padEnd(8)}  ${entry.title}\n${' '.repeat(width + 12)}needs: ${entry.needs.join(', ')}`,
    )
    .join('\n')}\n`;
}
