import { Type, type Static } from '@sinclair/typebox';
import { LINK_TYPES } from '../services/link-rules.js';
import { DATE_FORMAT, TIME_FORMAT } from '../http/validation.js';

// Parameter schemas shared by several routes. Path params stay strings except integer ids,
// whose schema failure is Grape's "<name> is invalid".

export const ProjectParams = Type.Object({ id: Type.String() });
export type ProjectParams = Static<typeof ProjectParams>;

export const ReleaseParams = Type.Object({ id: Type.String(), tag_name: Type.String() });
export type ReleaseParams = Static<typeof ReleaseParams>;

export const LinkParams = Type.Object({ id: Type.String(), tag_name: Type.String(), link_id: Type.Integer() });
export type LinkParams = Static<typeof LinkParams>;

/** A string enum with Ajv's `enum` keyword, so a bad value says "does not have a valid value". */
export const StringEnum = <T extends readonly string[]>(values: T) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });

export const LinkType = StringEnum(LINK_TYPES);

/** A new link's fields: its create's body, and each link inline in a release's create. */
export const LinkBody = Type.Object({
  name: Type.String(),
  url: Type.String(),
  filepath: Type.Optional(Type.String()),
  direct_asset_path: Type.Optional(Type.String()),
  link_type: Type.Optional(LinkType),
});

export const Id = Type.Integer({ minimum: 0 });

/** A response schema lets fast-json-stringify serialize without reflection. */
export const arrayOf = (item: object) => ({ type: 'array', items: item }) as const;

/** GitLab's DateTime parameters: ISO 8601, a date or a date and time, checked against the calendar. */
export const DateTimeParam = (description: string) => Type.String({ format: TIME_FORMAT, description });

/** GitLab's dates: YYYY-MM-DD, a day of the calendar. */
export const DateParam = (description: string) => Type.String({ format: DATE_FORMAT, description });

/** relinks' own: the order of a release's links in an answer (GitLab issue 30470). */
export const LinkOrderParam = Type.Unsafe<'newest_first' | 'given'>({
  type: 'string',
  enum: ['newest_first', 'given'],
  'x-relinks': true,
  description:
    "relinks' own: the order of the release's links. `newest_first` (the default) is GitLab's; `given` is the order they were given in (the create's `assets[links]`, then each link added since)",
});
