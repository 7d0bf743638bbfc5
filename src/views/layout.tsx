import type { ComponentChildren } from 'preact';
import { render } from 'preact-render-to-string';
import { SCRIPT_FILE, STYLESHEET } from './assets.js';
import type { Urls } from './urls.js';

// Every page's frame: one stylesheet, one deferred script, landmarks (banner, navigation, main,
// contentinfo), a skip link, and the sign-in state. preact-render-to-string escapes every text and
// attribute value; the only HTML put in as it is comes from the Markdown renderer, sanitized.

export interface Chrome {
  urls: Urls;
  user: { username: string; name: string } | null;
  /** The authenticity token every form of the page carries. */
  csrf: string;
  /** Where the browser is, to come back to after signing in. */
  here: string;
}

export function Csrf({ token }: { token: string }) {
  return <input type="hidden" name="authenticity_token" value={token} />;
}

function Layout({ chrome, title, children }: { chrome: Chrome; title: string; children: ComponentChildren }) {
  const { urls, user } = chrome;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${title} · relinks`}</title>
        <link rel="stylesheet" href={urls.asset(STYLESHEET.name, STYLESHEET.version)} />
        <script src={urls.asset(SCRIPT_FILE.name, SCRIPT_FILE.version)} defer />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <nav aria-label="Main">
            <a class="brand" href={urls.home()}>relinks</a>
            <a href={urls.home()}>Projects</a>
            <span class="spacer" />
            {user ? (
              <>
                <span>
                  Signed in as <strong>{user.name}</strong> <span class="muted">@{user.username}</span>
                </span>
                <form method="post" action={urls.signOut()}>
                  <Csrf token={chrome.csrf} />
                  <button type="submit" class="link">Sign out</button>
                </form>
              </>
            ) : (
              <a href={urls.signIn(chrome.here)}>Sign in</a>
            )}
          </nav>
        </header>
        <main id="main" tabIndex={-1}>
          {children}
          <div id="copy-status" role="status" class="sr-only" />
        </main>
        <footer>
          relinks · <a href={`${urls.base}/-/api-docs`}>API reference</a>
        </footer>
      </body>
    </html>
  );
}

/** A whole page as HTML text. */
export function page(chrome: Chrome, title: string, body: ComponentChildren): string {
  return `<!DOCTYPE html>\n${render(<Layout chrome={chrome} title={title}>{body}</Layout>)}`;
}

/** A date as people read it, in UTC (the server's only time zone), inside <time>. */
export function When({ iso }: { iso: string }) {
  const date = new Date(iso);
  const text = date.toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
  return <time datetime={iso}>{text}</time>;
}

export function Pager({ page, perPage, total, href }: { page: number; perPage: number; total: number; href: (page: number) => string }) {
  const pages = Math.max(1, Math.ceil(total / perPage));
  if (pages <= 1) return null;
  return (
    <nav class="pager" aria-label="Pages">
      {page > 1 ? <a href={href(page - 1)} rel="prev">Previous</a> : null}
      <span>
        Page {page} of {pages}
      </span>
      {page < pages ? <a href={href(page + 1)} rel="next">Next</a> : null}
    </nav>
  );
}
