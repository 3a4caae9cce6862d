import { createHash, timingSafeEqual } from 'node:crypto';
import { unauthorized } from './errors';
import type { Middleware } from './pipeline';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Guards the OpenAI endpoints with `--api-token`: a request must carry
 * `Authorization: Bearer <token>`, which is what every OpenAI SDK sends as its API key.
 * The comparison takes the same time whatever the guess (digests of equal length,
 * compared with timingSafeEqual). The token authenticates to Deja only: it is removed
 * before anything is forwarded, so the upstream gets `--upstream-key` and never the token.
 */
export function apiTokenAuth(token: string): Middleware {
  const expected = digest(token);
  return (req, res, next) => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header) : null;
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      res.setHeader('www-authenticate', 'Bearer realm="deja"');
      next(
        unauthorized({
          code: 'invalid_api_key',
          message:
            header === undefined
              ? 'This Deja gateway needs an API token: send it as your API key (Authorization: Bearer <token>)'
              : 'The API token is not the one this Deja gateway was started with (--api-token)',
        }),
      );
      return;
    }
    delete req.headers.authorization;
    next();
  };
}
