import type { ReleaseLink } from '../store/schema.js';

/** Where a release's links live: enough to build `direct_asset_url` and `external`. Built once
 * per release (see linkContext), not per link: a page of links shares it. */
export interface LinkContext {
  /** The project's web URL; a link under it is not external. */
  webUrl: string;
  /** The release's downloads URL, to which a link's filepath is appended. */
  downloadsUrl: string;
}

export const projectWebUrl = (externalUrl: string, fullPath: string) => `${externalUrl}/${fullPath}`;

/** A tag as one URL path segment, escaped the way Rails escapes route segments: `/` becomes
 * %2F, while characters a segment may hold (`+ @ , ; = & $ :`, as in `1.0.0+build.1`) stay. */
export const tagSegment = (tag: string) =>
  encodeURIComponent(tag).replace(/%(2B|40|2C|3B|3D|26|24|3A)/g, (escaped) => decodeURIComponent(escaped));

export function linkContext(externalUrl: string, projectFullPath: string, tagName: string): LinkContext {
  const webUrl = projectWebUrl(externalUrl, projectFullPath);
  return { webUrl, downloadsUrl: `${webUrl}/-/releases/${tagSegment(tagName)}/downloads` };
}

export interface LinkJson {
  id: number;
  name: string;
  url: string;
  direct_asset_url: string;
  external: boolean;
  link_type: string;
}

/** GitLab's key order: id, name, url, direct_asset_url, external, link_type. */
export function linkEntity(link: Pick<ReleaseLink, 'id' | 'name' | 'url' | 'filepath' | 'link_type'>, ctx: LinkContext): LinkJson {
  return {
    id: link.id,
    name: link.name,
    url: link.url,
    direct_asset_url: link.filepath ? ctx.downloadsUrl + link.filepath : link.url,
    external: !link.url.startsWith(ctx.webUrl),
    link_type: link.link_type,
  };
}

export const linkSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    url: { type: 'string' },
    direct_asset_url: { type: 'string' },
    external: { type: 'boolean' },
    link_type: { type: 'string' },
  },
} as const;
