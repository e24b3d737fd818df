/** `@scopeguard/nestjs/passport`: the Passport strategy (needs `@nestjs/passport` and `passport`). */
export { ScopeguardPassportStrategy, ScopeguardStrategy } from './scopeguard.strategy';
