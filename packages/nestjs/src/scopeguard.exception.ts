import { HttpException } from '@nestjs/common';
import type { ScopeguardError } from '@scopeguard/core';
import type { ErrorResponse } from '@scopeguard/core/adapter';

/**
 * A scopeguard refusal as a Nest exception: the core error's status and JSON body, and the
 * headers (`WWW-Authenticate`, `Retry-After`) the guard also writes on the response.
 */
export class ScopeguardException extends HttpException {
  /** The core error (`code`, `description`, …). */
  readonly error: ScopeguardError;
  /** Headers of the answer, for exception filters that render their own responses. */
  readonly headers: Record<string, string>;

  constructor(error: ScopeguardError, response: ErrorResponse) {
    super(response.body, response.status, { cause: error });
    // GraphQL and loggers show `message`: make it the sanitised description, not the class name.
    this.message = error.description;
    this.error = error;
    this.headers = response.headers;
  }
}
