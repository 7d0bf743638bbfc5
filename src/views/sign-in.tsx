import { Csrf, page, type Chrome } from './layout.js';

export interface SignInData {
  login: string;
  redirectTo: string;
  /** GitLab's words: "Invalid login or password.", "Your account is locked.". */
  error?: string;
  notice?: string;
}

export function signInView(chrome: Chrome, data: SignInData) {
  return page(chrome, 'Sign in', (
    <>
      <h1>Sign in</h1>
      {data.notice ? <p class="notice" role="status">{data.notice}</p> : null}
      {data.error ? (
        <div class="alert" role="alert" id="sign-in-error">
          <p>{data.error}</p>
        </div>
      ) : null}
      <form method="post" action={chrome.urls.signIn()} class="card">
        <Csrf token={chrome.csrf} />
        <input type="hidden" name="redirect_to" value={data.redirectTo} />
        <div class="field">
          <label for="login">Username or primary email</label>
          <input type="text" id="login" name="login" value={data.login} autocomplete="username" required autofocus aria-describedby={data.error ? 'sign-in-error' : undefined} />
        </div>
        <div class="field">
          <label for="password">Password</label>
          <input type="password" id="password" name="password" autocomplete="current-password" required />
          <p class="hint" id="password-hint">A personal access token (with the api or read_api scope) works as a password too.</p>
        </div>
        <div class="actions">
          <button type="submit" class="primary">Sign in</button>
        </div>
      </form>
    </>
  ));
}
