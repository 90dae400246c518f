/** Strong entity tags carry the stored revision: `"3-9f2c4e1a7b0d5c36"`. */
export function etagOf(revision: string): string {
  return `"${revision}"`;
}

interface ParsedTag {
  weak: boolean;
  opaque: string;
}

/**
 * The entries of an If-Match / If-None-Match header. Unquoted entries are tolerated and taken
 * as the tag itself, since hand-written curl commands often drop the quotes.
 */
function parseTags(header: string): ParsedTag[] {
  return header
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const weak = entry.startsWith('W/');
      const tag = weak ? entry.slice(2) : entry;
      const opaque =
        tag.length >= 2 && tag.startsWith('"') && tag.endsWith('"') ? tag.slice(1, -1) : tag;
      return { weak, opaque };
    });
}

export type Precondition = { kind: 'any' } | { kind: 'tags'; tags: ParsedTag[] };

export function parsePrecondition(header: string | undefined): Precondition | undefined {
  if (!header || !header.trim()) return undefined;
  if (header.trim() === '*') return { kind: 'any' };
  return { kind: 'tags', tags: parseTags(header) };
}

/** If-Match uses strong comparison: a weak tag never matches. */
export function ifMatchHolds(condition: Precondition, revision: string): boolean {
  return condition.kind === 'any' || condition.tags.some((t) => !t.weak && t.opaque === revision);
}

/** If-None-Match uses weak comparison. True means "the client's copy is current". */
export function ifNoneMatchHits(condition: Precondition, revision: string): boolean {
  return condition.kind === 'any' || condition.tags.some((t) => t.opaque === revision);
}

/** The one revision a conditional write should compare-and-set against, when there is exactly one. */
export function singleStrongTag(condition: Precondition): string | undefined {
  if (condition.kind !== 'tags' || condition.tags.length !== 1) return undefined;
  const [tag] = condition.tags;
  return tag && !tag.weak ? tag.opaque : undefined;
}
