/**
 * An app as `nest new` lays it out (AppController at GET /, AppModule), guarded globally: the
 * real module an e2e test imports, with a production issuer that tests must not reach.
 */
import { Controller, Get, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Principal, Public, RequireScopes, ScopeguardModule, type ScopeguardPrincipal } from '@scopeguard/nestjs';
import { scopeguardOptions } from './scopeguard.options';

@Controller()
export class AppController {
  @Public()
  @Get()
  getHello(): string {
    return 'Hello World!';
  }

  @RequireScopes('orders.read')
  @Get('orders')
  list(@Principal() caller: ScopeguardPrincipal) {
    return { caller: caller.clientId, may: caller.permissions };
  }

  @Get('undecorated')
  undecorated() {
    return 'reached';
  }
}

@Module({
  imports: [ScopeguardModule.forRoot({ ...scopeguardOptions, global: true })],
  controllers: [AppController],
})
export class AppModule {}

/** The same app configured from the environment through ConfigService (forRootAsync). */
@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ OAUTH_ISSUER: 'https://auth.example.com/', OAUTH_AUDIENCE: 'https://orders.example.com' })] }),
    ScopeguardModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        ...scopeguardOptions,
        issuer: config.getOrThrow<string>('OAUTH_ISSUER'),
        audience: config.getOrThrow<string>('OAUTH_AUDIENCE'),
      }),
      global: true,
    }),
  ],
  controllers: [AppController],
})
export class ConfiguredAppModule {}
