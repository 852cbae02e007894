// Errors a request can end in. Each protocol encodes them in its own JSON error shape.

/** The client sent something we cannot serve: 4xx with a message that says what is wrong. */
export class RequestError extends Error {
  override readonly name = "RequestError";
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 413 | 415 | 422 | 429 | 503,
    message: string,
    /** the offending parameter, when there is one (OpenAI's `param`) */
    readonly param?: string,
  ) {
    super(message);
  }
}

/** Too many requests waiting: 429 (queue full) or 503 (still loading), with Retry-After seconds. */
export class QueueFullError extends RequestError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    status: 429 | 503 = 429,
  ) {
    super(status, message);
  }
}
