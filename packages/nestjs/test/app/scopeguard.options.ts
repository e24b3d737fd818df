/** An app's scopeguard options in one place (the README's advice), so its e2e test can reuse them. */
import type { ScopeguardModuleOptions } from '@scopeguard/nestjs';

export const scopeguardOptions = {
  issuer: 'https://auth.example.com/',
  audience: 'https://orders.example.com',
  permissions: { 'orders-worker': ['orders.read', 'orders.write'], 'orders-reporter': ['orders.read'] },
  defaultPolicy: 'deny',
} satisfies ScopeguardModuleOptions;
