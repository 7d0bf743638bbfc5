import { page, type Chrome } from './layout.js';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Not signed in',
  403: 'Not allowed',
  404: 'Page not found',
  413: 'Too large',
  415: 'Not a form',
  422: 'The change you requested was rejected',
  429: 'Too many requests',
  503: 'Unavailable',
};

/** An error as a page: the same page for a hidden project as for a missing one. */
export function errorView(chrome: Chrome, status: number, detail: string) {
  const title = TITLES[status] ?? 'Something went wrong';
  return page(chrome, title, (
    <>
      <h1>{title}</h1>
      <p>{status === 404 ? 'The page you were looking for does not exist, or you may not see it.' : detail}</p>
      {status === 404 && !chrome.user ? (
        <p>
          If it is a private project's, <a href={chrome.urls.signIn(chrome.here)}>sign in</a> and try again.
        </p>
      ) : null}
      <p>
        <a href={chrome.urls.home()}>Go to the projects</a>
      </p>
    </>
  ));
}
