import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { NotFoundError, ValidationError } from '../domain/orders';

/** Domain errors as HTTP, as the Express front door answers them: 400 for a bad body, 404 for an unknown order. */
@Catch(ValidationError, NotFoundError)
export class DomainErrorFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: ValidationError | NotFoundError, host: ArgumentsHost): void {
    const notFound = error instanceof NotFoundError;
    this.adapterHost.httpAdapter.reply(
      host.switchToHttp().getResponse(),
      { error: notFound ? 'not_found' : 'bad_request', message: error.message },
      notFound ? 404 : 400,
    );
  }
}
