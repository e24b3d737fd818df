import { Logger } from '@nestjs/common';
import type { DecisionEvent } from '@scopeguard/core';

/** Nest's logger under the context `Scopeguard`: decisions, and the engine's start-up notices. */
export const logger = new Logger('Scopeguard');

/** Writes a decision to Nest's logger; the event never holds the token. */
export function logDecision(event: DecisionEvent): void {
  const where = [event.method, event.route].filter(Boolean).join(' ');
  const who = event.clientId ? ` client=${event.clientId}` : '';
  if (event.outcome === 'refused') logger.warn(`${event.status} ${event.code} ${where}${who}: ${event.reason}`);
  else if (event.outcome === 'unavailable') logger.error(`503 ${event.code} ${where}: ${event.reason}${event.cause ? ` (${event.cause})` : ''}`);
  else logger.verbose(`${event.outcome} ${where}${who} scopes=${(event.requiredScopes ?? []).join(' ')}`);
}
