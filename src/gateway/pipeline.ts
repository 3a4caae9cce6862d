import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

/** Passes control to the next step, or, with an error, to the error answer. */
export type Next = (error?: unknown) => void;

/**
 * One step of request handling, in the shape express also accepts, so the same guards
 * serve both the direct path of the cached endpoints and the express routes.
 */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void | Promise<void>;

/** Turns an error into an HTTP answer. */
export type ErrorResponder = (error: unknown, req: IncomingMessage, res: ServerResponse) => void;

/**
 * Runs steps in order as express would (a step calls `next()`, `next(error)`, or answers;
 * a rejected promise is an error), without express's router. The cached endpoints take
 * this path: they are the requests a developer waits on, and the router's matching,
 * prototype swaps and layers cost a measurable share of a miss.
 */
export function pipeline(steps: readonly Middleware[], onError: ErrorResponder): RequestListener {
  return (req, res) => {
    let index = 0;
    const fail = (error: unknown) => onError(error, req, res);
    const next: Next = (error) => {
      if (error !== undefined) {
        fail(error);
        return;
      }
      const step = steps[index++];
      if (!step) return;
      try {
        const result = step(req, res, next);
        if (result) result.catch(fail);
      } catch (thrown) {
        fail(thrown);
      }
    };
    next();
  };
}
