import { Logger } from '@nestjs/common';
import { type DecisionEvent } from '@scopeguard/core';
import { describeDecision } from '@scopeguard/core/adapter';

/** Nest's logger under the context `Scopeguard`: decisions, and the engine's start-up notices. */
export const logger = new Logger('Scopeguard');

/**
 * Writes a decision to Nest's logger as one line (core's `describeDecision`; never the token):
 * refusals at `warn`, 503s and 500s at `error`, allowed requests at `log`, admissions (followed by
 * the route's verdict, or ending there on routes without scopes) at `verbose`.
 */
export function logDecision(event: DecisionEvent): void {
  const line = describeDecision(event);
  if (event.outcome === 'refused') logger.warn(line);
  else if (event.outcome === 'unavailable' || event.outcome === 'error') logger.error(line);
  else if (event.outcome === 'allowed') logger.log(line);
  else logger.verbose(line);
}
