import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { setHeaders } from './scopeguard.context';
import { ScopeguardException } from './scopeguard.exception';

/**
 * Renders a {@link ScopeguardException} with its headers (`WWW-Authenticate`, `Retry-After`) on any
 * HTTP platform. Needed where the thrower cannot reach the reply, as Passport strategies on Fastify;
 * registered by `ScopeguardModule`. GraphQL errors are left to the GraphQL layer.
 */
@Catch(ScopeguardException)
export class ScopeguardExceptionFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: ScopeguardException, host: ArgumentsHost): unknown {
    if (host.getType() !== 'http') return exception;
    const response = host.switchToHttp().getResponse<unknown>();
    setHeaders(response, exception.headers);
    this.adapterHost.httpAdapter.reply(response, exception.getResponse(), exception.getStatus());
    return undefined;
  }
}
