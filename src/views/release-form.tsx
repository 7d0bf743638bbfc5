import type { FieldErrors } from '../errors.js';
import { LINK_TYPES } from '../services/link-rules.js';
import type { LinkValues, ReleaseValues } from '../services/release-pages.js';
import type { Project } from '../store/schema.js';
import { Csrf, page, type Chrome } from './layout.js';

// The new release and edit forms: plain HTML forms, usable without JavaScript. Each error is shown
// beside its field (aria-invalid, aria-describedby) and listed at the top with a link to the field.
// More link rows come from "Add another link", a submit button that saves nothing.

export interface FormData {
  project: Project;
  mode: 'new' | 'edit';
  values: ReleaseValues;
  errors: FieldErrors;
  /** New releases: the project's tags, offered in the tag name field. */
  tags?: string[];
  action: string;
  cancel: string;
}

const TYPE_NAMES: Record<string, string> = { other: 'Other', runbook: 'Runbook', image: 'Image', package: 'Package' };

const FIELD_LABELS: Record<string, string> = {
  tag_name: 'Tag name',
  ref: 'Create from',
  tag_message: 'Tag message',
  name: 'Release title',
  released_at: 'Release date',
  description: 'Release notes',
  links: 'Links',
};
const LINK_LABELS: Record<string, string> = { url: 'URL', name: 'Link title', direct_asset_path: 'Direct asset path' };

/** The id of the input an error key is about: `links.2.url` → `links-2-url`. */
const inputId = (key: string) => key.replace(/\./g, '-');

function labelOf(key: string): string {
  const link = /^links\.(\d+)\.(\w+)$/.exec(key);
  if (link) return `Link ${Number(link[1]) + 1}: ${LINK_LABELS[link[2]] ?? link[2]}`;
  return FIELD_LABELS[key] ?? '';
}

/** Rails' full message ("URL can't be blank"); a message that is a sentence already stays as it is. */
export function fullMessage(key: string, message: string): string {
  const label = labelOf(key);
  if (!label || /^[A-Z0-9]/.test(message)) return message;
  return `${label.replace(/^Link \d+: /, '')} ${message}`;
}

function Errors({ keyOf, errors }: { keyOf: string; errors: FieldErrors }) {
  const messages = errors[keyOf];
  if (!messages?.length) return null;
  return (
    <p class="field-error" id={`${inputId(keyOf)}-error`}>
      {messages.map((m) => fullMessage(keyOf, m)).join('. ')}
    </p>
  );
}

/** aria attributes of an input with its hint and errors. */
function described(key: string, errors: FieldErrors, hint?: boolean) {
  const ids = [hint ? `${inputId(key)}-hint` : '', errors[key]?.length ? `${inputId(key)}-error` : ''].filter(Boolean).join(' ');
  return { id: inputId(key), 'aria-invalid': errors[key]?.length ? (true as const) : undefined, 'aria-describedby': ids || undefined };
}

function TextField({ name, value, errors, hint, required, list }: { name: string; value: string; errors: FieldErrors; hint?: string; required?: boolean; list?: string }) {
  return (
    <div class="field">
      <label for={inputId(name)}>{FIELD_LABELS[name]}{required ? ' (required)' : ''}</label>
      {hint ? <p class="hint" id={`${inputId(name)}-hint`}>{hint}</p> : null}
      <input type="text" name={name} value={value} list={list} {...described(name, errors, Boolean(hint))} />
      <Errors keyOf={name} errors={errors} />
    </div>
  );
}

function LinkRow({ link, row, errors, existing }: { link: LinkValues; row: number; errors: FieldErrors; existing: boolean }) {
  const key = (field: string) => `links.${row}.${field}`;
  const field = (name: 'url' | 'name' | 'direct_asset_path', hint?: string) => (
    <div class="field">
      <label for={inputId(key(name))}>{LINK_LABELS[name]}</label>
      <input type="text" inputMode={name === 'url' ? ('url' as const) : undefined} name={`links[${row}][${name}]`} value={link[name]} {...described(key(name), errors, Boolean(hint))} />
      {hint ? <p class="hint" id={`${inputId(key(name))}-hint`}>{hint}</p> : null}
      <Errors keyOf={key(name)} errors={errors} />
    </div>
  );
  return (
    <fieldset class="link-row">
      <legend>{existing ? `Link ${row + 1}: ${link.name}` : `Link ${row + 1} (new)`}</legend>
      {link.id ? <input type="hidden" name={`links[${row}][id]`} value={link.id} /> : null}
      {field('url')}
      {field('name')}
      {field('direct_asset_path', 'Optional, e.g. /bin/app-linux: a permanent URL for the asset')}
      <div class="field">
        <label for={inputId(key('link_type'))}>Type</label>
        <select id={inputId(key('link_type'))} name={`links[${row}][link_type]`}>
          {LINK_TYPES.map((t) => <option value={t} selected={link.link_type === t}>{TYPE_NAMES[t]}</option>)}
        </select>
      </div>
      {existing ? (
        <label class="check">
          <input type="checkbox" name={`links[${row}][remove]`} value="1" checked={link.remove} /> Remove this link
        </label>
      ) : null}
    </fieldset>
  );
}

export function releaseFormView(chrome: Chrome, data: FormData) {
  const { project, values, errors, mode } = data;
  const title = mode === 'new' ? 'New release' : `Edit release ${values.tag_name}`;
  const keys = Object.keys(errors);
  return page(chrome, `${title} · ${project.name}`, (
    <>
      <nav class="crumbs" aria-label="Breadcrumb">
        <ol>
          <li><a href={chrome.urls.project(project.full_path)}>{project.name}</a></li>
          <li><a href={chrome.urls.releases(project.full_path)}>Releases</a></li>
          <li><span aria-current="page">{mode === 'new' ? 'New' : values.tag_name}</span></li>
        </ol>
      </nav>
      <h1>{title}</h1>
      {keys.length ? (
        <div class="alert" role="alert" aria-labelledby="error-summary" tabIndex={-1}>
          <h2 id="error-summary">{keys.length === 1 ? 'The release has 1 error' : `The release has ${keys.length} errors`}; nothing was saved</h2>
          <ul>
            {keys.map((key) => (
              <li>
                {key === 'base' ? errors[key].join('. ') : <a href={`#${inputId(key)}`}>{errors[key].map((m) => fullMessage(key, m)).join('. ')}</a>}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <form method="post" action={data.action}>
        <Csrf token={chrome.csrf} />
        {mode === 'new' ? (
          <fieldset>
            <legend>Tag</legend>
            <TextField name="tag_name" value={values.tag_name} errors={errors} required list="tags" hint="An existing tag, or a new one to create" />
            <datalist id="tags">{(data.tags ?? []).map((t) => <option value={t} />)}</datalist>
            <TextField name="ref" value={values.ref} errors={errors} hint="For a new tag: the branch or commit to create it from" />
            <TextField name="tag_message" value={values.tag_message} errors={errors} hint="For a new tag: an optional message (an annotated tag)" />
          </fieldset>
        ) : null}
        <TextField name="name" value={values.name} errors={errors} hint="Left empty, the tag name" />
        <div class="field">
          <label for="released_at">Release date (UTC)</label>
          <p class="hint" id="released_at-hint">Left empty: {mode === 'new' ? 'now' : 'unchanged'}. A date in the future makes an upcoming release.</p>
          <input type="datetime-local" name="released_at" value={values.released_at} {...described('released_at', errors, true)} />
          <Errors keyOf="released_at" errors={errors} />
        </div>
        <div class="field">
          <label for="description">Release notes</label>
          <p class="hint" id="description-hint">Markdown</p>
          <textarea name="description" {...described('description', errors, true)}>{values.description}</textarea>
        </div>
        <fieldset>
          <legend>Links</legend>
          <Errors keyOf="links" errors={errors} />
          {values.links.map((link, row) => <LinkRow link={link} row={row} errors={errors} existing={Boolean(link.id)} />)}
          <p>
            <button type="submit" name="add_link" value="1" formNoValidate>Add another link</button>
          </p>
        </fieldset>
        <div class="actions">
          <button type="submit" class="primary">{mode === 'new' ? 'Create release' : 'Save changes'}</button>
          <a href={data.cancel}>Cancel</a>
        </div>
      </form>
    </>
  ));
}
