import { createRequire } from 'node:module';
import type MarkdownIt from 'markdown-it';
import type sanitizeHtml from 'sanitize-html';

// One renderer for every Markdown text relinks shows as HTML (the API's description_html, the
// web pages). markdown-it with `html: false` escapes raw HTML and refuses javascript:/data: links;
// the sanitizer behind it is the second wall, so a renderer option changed later cannot open a hole.
//
// Both are loaded at the first text rendered, not at start: a server that renders none (files,
// links, CI) stays some 3 MB smaller (docs/operations.md).

const require = createRequire(import.meta.url);

interface Renderer {
  md: InstanceType<typeof MarkdownIt>;
  sanitize: typeof sanitizeHtml;
  allowed: sanitizeHtml.IOptions;
}
let renderer: Renderer | undefined;

function load(): Renderer {
  const Markdown = require('markdown-it') as typeof MarkdownIt;
  const sanitize = require('sanitize-html') as typeof sanitizeHtml;
  const allowed = {
    allowedTags: [
      'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'code', 'em', 'strong', 's',
      'ul', 'ol', 'li', 'a', 'img', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
    ],
    allowedAttributes: { a: ['href', 'title'], img: ['src', 'alt', 'title'], ol: ['start'], th: ['style'], td: ['style'], code: ['class'] },
    allowedStyles: { th: { 'text-align': [/^(left|right|center)$/] }, td: { 'text-align': [/^(left|right|center)$/] } },
    allowedClasses: { code: [/^language-[\w-]+$/] },
    allowedSchemes: ['http', 'https', 'ftp', 'mailto'],
    allowProtocolRelative: false,
    transformTags: { a: sanitize.simpleTransform('a', { rel: 'nofollow noreferrer noopener', target: '_blank' }) },
  } satisfies sanitizeHtml.IOptions;
  allowed.allowedAttributes.a.push('rel', 'target');
  return { md: new Markdown({ html: false, linkify: true }), sanitize, allowed };
}

/** Markdown to HTML that is safe to put in a page as it is. */
export function renderMarkdown(text: string): string {
  const { md, sanitize, allowed } = (renderer ??= load());
  return sanitize(md.render(text), allowed).trimEnd();
}

/** The text of HTML, tags dropped (entities stay encoded). */
export function htmlText(html: string): string {
  const { sanitize } = (renderer ??= load());
  return sanitize(html, { allowedTags: [], allowedAttributes: {} });
}
