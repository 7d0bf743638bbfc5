import { createHash } from 'node:crypto';

// The pages' one stylesheet and one script, served from /-/web/ (routes/web-assets.ts) under a
// name that changes with their content, so browsers keep them for a year and never see a stale
// one. No build step: they are written here as they are sent.

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1f1e24; --muted: #5e5d66; --line: #dcdcde; --soft: #f4f4f6;
  --link: #1f5fbf; --accent: #1f6fc4; --on-accent: #ffffff;
  --danger: #b3261e; --danger-soft: #fcebea; --warn-fg: #7a4300; --warn-bg: #fdf1dd;
  --ok-fg: #1a6236; --ok-bg: #e3f4e8; --focus: #1f6fc4;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  line-height: 1.5;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #18171d; --fg: #ececef; --muted: #a9a8b0; --line: #3a3940; --soft: #232229;
    --link: #8cbcff; --accent: #428fdc; --on-accent: #0b0b0f;
    --danger: #ff9b8f; --danger-soft: #3d1d1a; --warn-fg: #ffd49a; --warn-bg: #43290a;
    --ok-fg: #9be0b3; --ok-bg: #12321f; --focus: #8cbcff;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font-size: 1rem; }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px;
}
.skip { position: absolute; left: -9999px; top: 0; }
.skip:focus { left: 1rem; top: .5rem; background: var(--bg); padding: .25rem .5rem; z-index: 2; }
.top { border-bottom: 1px solid var(--line); background: var(--soft); }
.top nav { max-width: 64rem; margin: 0 auto; padding: .6rem 1rem; display: flex; flex-wrap: wrap; align-items: center; gap: .75rem 1.25rem; }
.brand { font-weight: 700; font-size: 1.1rem; text-decoration: none; color: var(--fg); }
.top .spacer { flex: 1; }
.top form { margin: 0; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem 1rem 3rem; }
footer { max-width: 64rem; margin: 0 auto; padding: 1rem; color: var(--muted); font-size: .875rem; border-top: 1px solid var(--line); }
h1 { font-size: 1.6rem; line-height: 1.25; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 1.5rem 0 .5rem; overflow-wrap: anywhere; }
h3 { font-size: 1.05rem; margin: 1rem 0 .4rem; }
.crumbs { font-size: .9rem; color: var(--muted); margin: .25rem 0 0; overflow-wrap: anywhere; }
.crumbs ol { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; }
.crumbs li + li::before { content: "/"; padding: 0 .4rem; color: var(--muted); }
.muted { color: var(--muted); }
.row { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem 1rem; }
.button, button { display: inline-block; font: inherit; font-size: .95rem; padding: .4rem .9rem; border-radius: .35rem;
  border: 1px solid var(--line); background: var(--bg); color: var(--fg); text-decoration: none; cursor: pointer; }
.button.primary, button.primary { background: var(--accent); border-color: var(--accent); color: var(--on-accent); }
button.link { border: 0; background: none; padding: 0; color: var(--link); text-decoration: underline; }
.badge { display: inline-block; font-size: .8rem; font-weight: 600; padding: .05rem .5rem; border-radius: 1rem; background: var(--soft); border: 1px solid var(--line); }
.badge.upcoming { background: var(--warn-bg); color: var(--warn-fg); border-color: transparent; }
.card { border: 1px solid var(--line); border-radius: .5rem; padding: 1rem; margin: 0 0 1rem; }
.card h2 { margin-top: 0; }
.cards { list-style: none; padding: 0; margin: 0; }
.meta { display: flex; flex-wrap: wrap; gap: .25rem 1rem; color: var(--muted); font-size: .9rem; margin: 0 0 .75rem; padding: 0; list-style: none; }
.excerpt { margin: .25rem 0 .75rem; overflow-wrap: anywhere; }
.md { overflow-wrap: anywhere; }
.md img { max-width: 100%; height: auto; }
.md pre { background: var(--soft); padding: .75rem; overflow-x: auto; border-radius: .35rem; }
.md code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
.md table { border-collapse: collapse; }
.md th, .md td { border: 1px solid var(--line); padding: .25rem .5rem; }
.md blockquote { margin: 0; padding-left: 1rem; border-left: 3px solid var(--line); color: var(--muted); }
.assets h3 { font-size: 1rem; }
.assets ul { list-style: none; padding: 0; margin: 0 0 .75rem; }
.asset { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: .25rem .75rem; align-items: center; padding: .5rem 0; border-top: 1px solid var(--line); }
.asset .facts { display: flex; flex-wrap: wrap; gap: .25rem 1rem; color: var(--muted); font-size: .9rem; }
.downloads { white-space: nowrap; }
.downloads data { color: var(--fg); font-weight: 600; font-variant-numeric: tabular-nums; }
.asset .url { grid-column: 1 / -1; display: flex; gap: .5rem; align-items: center; }
.asset .url input { flex: 1; min-width: 0; }
.asset-list { list-style: none; padding: 0; margin: .25rem 0 0; font-size: .95rem; }
.asset-list li { overflow-wrap: anywhere; }
input[type=text], input[type=search], input[type=password], input[type=url], input[type=datetime-local], select, textarea {
  font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--muted); border-radius: .3rem; padding: .4rem .5rem; max-width: 100%;
}
input[readonly] { background: var(--soft); font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; }
textarea { width: 100%; min-height: 12rem; }
.field { margin: 0 0 1rem; display: flex; flex-direction: column; gap: .25rem; }
.field input[type=text], .field input[type=password], .field input[type=url], .field select { width: 100%; max-width: 36rem; }
.field input[type=datetime-local] { max-width: 16rem; }
label { font-weight: 600; }
.hint { color: var(--muted); font-size: .875rem; margin: 0; }
.error, .field-error { color: var(--danger); }
.field-error { font-size: .9rem; margin: 0; }
[aria-invalid=true] { border-color: var(--danger); border-width: 2px; }
.alert { border: 1px solid var(--danger); background: var(--danger-soft); padding: .75rem 1rem; border-radius: .4rem; margin: 0 0 1rem; }
.alert h2 { margin: 0 0 .25rem; font-size: 1.05rem; }
.notice { border: 1px solid var(--line); background: var(--ok-bg); color: var(--ok-fg); padding: .75rem 1rem; border-radius: .4rem; margin: 0 0 1rem; }
fieldset { border: 1px solid var(--line); border-radius: .5rem; margin: 0 0 1rem; padding: .75rem 1rem; min-width: 0; }
legend { font-weight: 700; padding: 0 .25rem; }
.link-row { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: .5rem 1rem; border-top: 1px solid var(--line); padding-top: .75rem; margin-top: .75rem; }
.link-row .field { margin: 0; }
.link-row .field input, .link-row .field select { width: 100%; }
.check { display: flex; gap: .4rem; align-items: center; font-weight: 400; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; }
.search { display: flex; flex-wrap: wrap; gap: .5rem; margin: 0 0 1rem; align-items: center; }
.search input { flex: 1; min-width: 12rem; }
.tabs { display: flex; gap: 1rem; list-style: none; padding: 0; margin: 0 0 1rem; border-bottom: 1px solid var(--line); }
.tabs a { display: inline-block; padding: .4rem 0; text-decoration: none; }
.tabs a[aria-current=page] { font-weight: 700; border-bottom: 3px solid var(--accent); color: var(--fg); }
.pager { display: flex; gap: 1rem; align-items: center; justify-content: center; margin: 1.5rem 0; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 40rem) {
  h1 { font-size: 1.35rem; }
  .asset { grid-template-columns: 1fr; }
}
`;

// Copy buttons: present in the page but hidden, shown only where this script runs; without it the
// URL stays in a read-only field to select and copy by hand.
const SCRIPT = `'use strict';
(function () {
  var status = document.getElementById('copy-status');
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    button.hidden = false;
    button.addEventListener('click', function () {
      var field = document.getElementById(button.getAttribute('data-copy'));
      if (!field) return;
      var done = function () { if (status) status.textContent = 'Copied: ' + field.value; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
      } else {
        field.select();
        if (document.execCommand && document.execCommand('copy')) done();
      }
    });
  });
})();
`;

const version = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

export interface Asset {
  /** The file name under /-/web/. */
  name: string;
  type: string;
  body: string;
  /** Changes with the body: the pages ask for `<name>?v=<version>`. */
  version: string;
}

export const STYLESHEET: Asset = { name: 'relinks.css', type: 'text/css', body: STYLE.trimStart(), version: version(STYLE) };
export const SCRIPT_FILE: Asset = { name: 'relinks.js', type: 'text/javascript', body: SCRIPT, version: version(SCRIPT) };
