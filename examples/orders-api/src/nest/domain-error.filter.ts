import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { StoreUnavailableError } from '../domain/admin';
import { NotFoundError, ValidationError } from '../domain/orders';

/**
 * Domain errors as HTTP, as the Express front door answers them: 400 for a bad body, 404 for an
 * unknown order, 503 when the shared store is down.
 */
@Catch(ValidationError, NotFoundError, StoreUnavailableError)
export class DomainErrorFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: ValidationError | NotFoundError | StoreUnavailableError, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse();
    const { httpAdapter } = this.adapterHost;
    if (error instanceof StoreUnavailableError) {
      httpAdapter.setHeader(response, 'retry-after', '1');
      return httpAdapter.reply(response, { error: 'unavailable', message: 'the shared store is unavailable' }, 503);
    }
    const notFound = error instanceof NotFoundError;
    httpAdapter.reply(response, { error: notFound ? 'not_found' : 'bad_request', message: error.message }, notFound ? 404 : 400);
  }
}
