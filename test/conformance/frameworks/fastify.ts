/** Placeholder until the fastify adapter lands. */
import type { ServerOptions as TlsOptions } from 'node:https';
import type { ScopeguardOptions } from '@scopeguard/core';
import type { AppExtras, RunningAdapter } from '../adapters';

export async function startFastify(_options: ScopeguardOptions, _tls: TlsOptions | undefined, _extras: AppExtras): Promise<RunningAdapter> {
  throw new Error('not yet');
}
