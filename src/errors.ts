// Typed errors carry GitLab's exact status and body; one handler in app.ts turns them into responses.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.message === 'string' ? body.message : typeof body.error === 'string' ? body.error : `HTTP ${status}`);
  }
}

/** Grape-style parameter error: `{"error":"name is missing, url is missing"}`. */
export const badParams = (message: string) => new ApiError(400, { error: message });

export type FieldErrors = Record<string, string[]>;

/** ActiveRecord-style validation error: `{"message":{"url":["can't be blank"]}}`. */
export const invalid = (fields: FieldErrors) => new ApiError(400, { message: fields });

export const badRequest = (message: string) => new ApiError(400, { message: `400 Bad request - ${message}` });

export const unauthorized = () => new ApiError(401, { message: '401 Unauthorized' });

export const forbidden = () => new ApiError(403, { message: '403 Forbidden' });

/** `scope` names the scopes that would have been enough, space-separated, as GitLab does. */
export const insufficientScope = (scope = 'api') =>
  new ApiError(403, {
    error: 'insufficient_scope',
    error_description: 'The request requires higher privileges than provided by the access token.',
    scope,
  });

/** `notFound('Project')` → 404 Project Not Found; `notFound()` → GitLab's lowercase "404 Not found". */
export const notFound = (what?: string) => new ApiError(404, { message: what ? `404 ${what} Not Found` : '404 Not found' });

/** `not_found!` without a subject: "404 Not Found" (capital F), as for a missing release or route. */
export const notFoundPlain = () => new ApiError(404, { message: '404 Not Found' });

export const conflict = (message: string) => new ApiError(409, { message });

export const unprocessable = (message: string) => new ApiError(422, { message });

/** A body of a kind the route does not read (JSON sent to a form). */
export const unsupportedMediaType = () => new ApiError(415, { message: '415 Unsupported Media Type' });

export const routeNotFound = () => new ApiError(404, { error: '404 Not Found' });
