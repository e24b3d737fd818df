import type { ErrorRequestHandler } from 'express';

/**
 * A body that is not JSON, answered alike by both front doors: express.json() reports it with
 * `type: 'entity.parse.failed'` (the Nest app parses bodies with the same middleware).
 */
export const badJson: ErrorRequestHandler = (error, _req, res, next) => {
  if ((error as { type?: unknown }).type !== 'entity.parse.failed') return next(error);
  res.status(400).json({ error: 'bad_request', message: 'the body is not valid JSON' });
};
