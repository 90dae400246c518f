// Whether ECR lets a version tag be moved: IMMUTABLE and MUTABLE are plain, and the two
// *_WITH_EXCLUSION settings flip the rule for tags matching their wildcard filters (`*` = any run
// of characters), so whether `v7` is mutable depends on the filters and the tag prefix.

/**
 * True when some tag `<prefix>N` (N ≥ 1 digits) matches the ECR wildcard filter: the filter and
 * the version tags overlap, so the exclusion applies to at least one version.
 */
export function wildcardMatchesVersionTags(filter: string, prefix: string): boolean {
  const seen = new Set<string>();
  // State: position in the filter, position in the prefix (prefix.length = in the digits), and
  // whether a digit was consumed yet. The language <prefix>[0-9]+ is tiny, so a search is enough.
  const visit = (f: number, p: number, digit: boolean): boolean => {
    const key = `${f}:${p}:${digit}`;
    if (seen.has(key)) return false;
    seen.add(key);
    const inDigits = p === prefix.length;
    if (f === filter.length) return inDigits && digit;
    const c = filter[f];
    if (c === '*') {
      if (visit(f + 1, p, digit)) return true; // the star matches nothing more
      return inDigits ? visit(f, p, true) : visit(f, p + 1, digit); // it eats one character
    }
    if (!inDigits) return c === prefix[p] && visit(f + 1, p + 1, digit);
    return c !== undefined && /[0-9]/.test(c) && visit(f + 1, p, true);
  };
  return visit(0, 0, false);
}

/** Whether a version tag `<prefix>N` can be overwritten in a repository with this setting. */
export function versionTagsMutable(
  setting: string | undefined,
  exclusionFilters: string[],
  prefix: string,
): boolean {
  const excluded = exclusionFilters.some((filter) => wildcardMatchesVersionTags(filter, prefix));
  switch (setting) {
    case 'IMMUTABLE':
      return false;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      // Only when every version tag is protected; a filter like v1* protects some, not all.
      return !exclusionFilters.some((filter) => protectsEveryVersion(filter, prefix));
    default:
      return true;
  }
}

/** True when the filter matches every `<prefix>N`: the prefix then a single `*` (or `<prefix>*`). */
function protectsEveryVersion(filter: string, prefix: string): boolean {
  // Every tag <prefix>N matches when the filter is a prefix of <prefix> followed by stars only.
  const star = filter.indexOf('*');
  if (star < 0) return false;
  const head = filter.slice(0, star);
  return /^\**$/.test(filter.slice(star)) && prefix.startsWith(head);
}
