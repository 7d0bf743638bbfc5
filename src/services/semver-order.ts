import semver from 'semver';

// `order_by=semver`, relinks' own addition (GitLab orders only by released_at or created_at): tags
// read as semantic versions, a leading `v` allowed. Stable versions come first, then pre-releases,
// each group by semver precedence in the requested direction; tags that are no version come last,
// by name in either direction. Pre-releases stay behind the stable ones in both directions, so the
// first entry of a descending list is the newest stable version.

type Parsed = { group: 0 | 1 | 2; version: semver.SemVer | null; tag: string };

function parse(tag: string): Parsed {
  const version = semver.parse(tag.replace(/^v/i, ''));
  if (!version) return { group: 2, version: null, tag };
  return { group: version.prerelease.length ? 1 : 0, version, tag };
}

/** The ids in semver order; `id` settles equal versions (1.0.0 and v1.0.0), so the order is total. */
export function semverOrder<T extends { id: number; tag_name: string }>(rows: T[], sort: 'asc' | 'desc' = 'desc'): T[] {
  const sign = sort === 'asc' ? 1 : -1;
  const keyed = rows.map((row) => ({ row, key: parse(row.tag_name) }));
  keyed.sort((a, b) => {
    if (a.key.group !== b.key.group) return a.key.group - b.key.group;
    if (!a.key.version || !b.key.version) return (a.key.tag < b.key.tag ? -1 : a.key.tag > b.key.tag ? 1 : 0) || a.row.id - b.row.id;
    return sign * (semver.compare(a.key.version, b.key.version) || a.row.id - b.row.id);
  });
  return keyed.map((k) => k.row);
}
