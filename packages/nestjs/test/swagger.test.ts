import 'reflect-metadata';
import { Controller, Get, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { RequireAnyScope, RequireScopes, ScopeguardModule, addClientCredentialsScheme } from '@scopeguard/nestjs';

@RequireScopes('orders.read')
@Controller('orders')
class OrdersController {
  @Get()
  list() {
    return [];
  }

  @RequireScopes('orders.write')
  @Post()
  create() {
    return {};
  }

  @RequireAnyScope('orders.admin')
  @Get('audit')
  audit() {
    return [];
  }
}

describe('OpenAPI (with @nestjs/swagger installed)', () => {
  it('records each route scope requirement and the client-credentials scheme', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ScopeguardModule.forRoot({ issuer: 'https://as.example.com', audience: 'orders', jwksUri: 'https://as.example.com/jwks' })],
      controllers: [OrdersController],
    }).compile();
    const app = moduleRef.createNestApplication();
    app.useLogger(false);
    await app.init();
    const config = addClientCredentialsScheme(new DocumentBuilder().setTitle('Orders'), {
      tokenUrl: 'https://as.example.com/token',
      scopes: { 'orders.read': 'Read orders', 'orders.write': 'Write orders', 'orders.admin': 'Administer orders' },
    }).build();
    const document = SwaggerModule.createDocument(app, config);
    await app.close();

    expect(document.components?.securitySchemes?.oauth2).toEqual({
      type: 'oauth2',
      flows: { clientCredentials: { tokenUrl: 'https://as.example.com/token', scopes: expect.objectContaining({ 'orders.read': 'Read orders' }) } },
    });
    const security = (path: string, method: 'get' | 'post') => (document.paths[path] as Record<string, { security?: unknown[] }>)[method]!.security;
    expect(security('/orders', 'get')).toEqual([{ oauth2: ['orders.read'] }]);
    expect(security('/orders', 'post')).toEqual(expect.arrayContaining([{ oauth2: ['orders.write'] }, { oauth2: ['orders.read'] }]));
    expect(security('/orders/audit', 'get')).toEqual(expect.arrayContaining([{ oauth2: ['orders.admin'] }]));
  });
});
