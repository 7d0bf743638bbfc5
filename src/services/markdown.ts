import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';

// One renderer for every Markdown text relinks shows as HTML (the API's description_html, the
// web pages). markdown-it with `html: false` escapes raw HTML and refuses javascript:/data: links;
// the sanitizer behind it is the second wall, so a renderer option changed later cannot open a hole.

const md = new MarkdownIt({ html: false, linkify: true });

const ALLOWED = {
  allowedTags: [
    'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'code', 'em', 'strong', 's',
    'ul', 'ol', 'li', 'a', 'img', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  ],
  allowedAttributes: { a: ['href', 'title'], img: ['src', 'alt', 'title'], ol: ['start'], th: ['style'], td: ['style'], code: ['class'] },
  allowedStyles: { th: { 'text-align': [/^(left|right|center)$/] }, td: { 'text-align': [/^(left|right|center)$/] } },
  allowedClasses: { code: [/^language-[\w-]+$/] },
  allowedSchemes: ['http', 'https', 'ftp', 'mailto'],
  allowProtocolRelative: false,
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'nofollow noreferrer noopener', target: '_blank' }) },
} satisfies sanitizeHtml.IOptions;
ALLOWED.allowedAttributes.a.push('rel', 'target');

/** Markdown to HTML that is safe to put in a page as it is. */
export function renderMarkdown(text: string): string {
  return sanitizeHtml(md.render(text), ALLOWED).trimEnd();
}
