import type { ReleaseLink } from '../store/schema.js';

/** Where a release's links live: enough to build `direct_asset_url` and `external`. */
export interface LinkContext {
  externalUrl: string;
  projectFullPath: string;
  tagName: string;
}

export const projectWebUrl = (externalUrl: string, fullPath: string) => `${externalUrl}/${fullPath}`;

/** A tag as one URL path segment, escaped the way Rails escapes route segments: `/` becomes
 * %2F, while characters a segment may hold (`+ @ , ; = & $ :`, as in `1.0.0+build.1`) stay. */
export const tagSegment = (tag: string) =>
  encodeURIComponent(tag).replace(/%(2B|40|2C|3B|3D|26|24|3A)/g, (escaped) => decodeURIComponent(escaped));

export function directAssetUrl(ctx: LinkContext, filepath: string): string {
  return `${projectWebUrl(ctx.externalUrl, ctx.projectFullPath)}/-/releases/${tagSegment(ctx.tagName)}/downloads${filepath}`;
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
    direct_asset_url: link.filepath ? directAssetUrl(ctx, link.filepath) : link.url,
    external: !link.url.startsWith(projectWebUrl(ctx.externalUrl, ctx.projectFullPath)),
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
