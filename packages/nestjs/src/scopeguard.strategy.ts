/**
 * Passport integration (`@scopeguard/nestjs/passport`), for apps standardised on
 * `@nestjs/passport`: `AuthGuard('scopeguard')` authenticates through the same core engine as the
 * guard, so verdicts, statuses and challenges are identical.
 */
import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Scopeguard, ScopeguardError, type Principal } from '@scopeguard/core';
import { Strategy } from 'passport';
import { ACCESS_TOKEN } from './scopeguard.constants';
import { requestInfoOf, tokenRequestOf, type NestHttpRequest } from './scopeguard.context';
import { ScopeguardException } from './scopeguard.exception';

type Verify = (principal: Principal, done: (error: unknown, user?: unknown) => void) => void;

/** A Passport strategy over the core engine. Its failures are errors carrying the exact refusal. */
export class ScopeguardPassportStrategy extends Strategy {
  override name = 'scopeguard';

  constructor(
    private readonly engine: Scopeguard,
    private readonly verify: Verify,
  ) {
    super();
  }

  override authenticate(incoming: unknown): void {
    const req = incoming as NestHttpRequest;
    const tokenRequest = tokenRequestOf(req);
    let token: string;
    try {
      token = this.engine.extract(tokenRequest);
    } catch (error) {
      return this.refuse(req, error);
    }
    req[ACCESS_TOKEN] = token;
    this.engine.verify(token, tokenRequest).then(
      (principal) => {
        req.auth = principal;
        this.engine.authenticated(principal, this.engine.auditing ? requestInfoOf(req) : undefined);
        this.verify(principal, (error, user) => (error ? this.error(error as Error) : user ? this.success(user) : this.fail(401)));
      },
      (error: unknown) => this.refuse(req, error),
    );
  }

  private refuse(req: NestHttpRequest, error: unknown): void {
    if (!(error instanceof ScopeguardError)) return this.error(error as Error);
    // AuthGuard rethrows this exception; ScopeguardExceptionFilter writes its headers on any platform.
    const info = this.engine.auditing ? requestInfoOf(req) : undefined;
    this.error(new ScopeguardException(error, this.engine.errorResponse(error, info)));
  }
}

/**
 * Registers the strategy under the name `scopeguard`. Add it to a module's providers (with
 * `ScopeguardModule` imported) and use `@UseGuards(AuthGuard('scopeguard'))`. Override `validate`
 * to map the principal to your own user object.
 */
@Injectable()
export class ScopeguardStrategy extends PassportStrategy(ScopeguardPassportStrategy, 'scopeguard') {
  constructor(engine: Scopeguard) {
    super(engine);
  }

  /** The value Passport puts on `req.user`; the principal by default. */
  validate(principal: Principal): unknown {
    return principal;
  }
}
