import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RequestHandler } from 'express';
import { ADMIN_TOKEN_FILE } from '../shared/protocol';
import { forbidden, unauthorized } from './errors';

/** The admin token in the data directory, created owner-only on first start. */
export async function loadOrCreateAdminToken(dataDir: string | null): Promise<string> {
  if (dataDir === null) return randomBytes(24).toString('hex');
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (/^[0-9a-f]{32,}$/.test(existing)) return existing;
  const token = randomBytes(24).toString('hex');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return token;
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** The host name of a Host header, without the port. */
export function hostName(host: string | undefined): string {
  if (!host) return '';
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.replace(/:\d+$/, '').toLowerCase();
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Guards the admin API: a page in a browser must not be able to read prompts or
 * evict entries. Refused: a Host that is not a loopback name (DNS rebinding), any
 * Origin (browsers send one; the CLI and the extension host do not), and a missing
 * or wrong token (`Authorization: Bearer <token>` or `x-deja-admin-token`).
 */
export function adminAuth(token: string): RequestHandler {
  return (req, _res, next) => {
    if (!LOOPBACK_NAMES.has(hostName(req.headers.host))) {
      next(
        forbidden({ code: 'host_not_allowed', message: `The admin API answers only to a loopback Host (got "${req.headers.host ?? ''}")` }),
      );
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== '') {
      next(forbidden({ code: 'origin_not_allowed', message: `The admin API refuses requests from web pages (Origin "${origin}")` }));
      return;
    }
    const header = req.headers.authorization;
    const given =
      (typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined) ?? req.headers['x-deja-admin-token'];
    if (typeof given !== 'string' || !sameToken(given.trim(), token)) {
      next(
        unauthorized({
          code: 'invalid_admin_token',
          message: `The admin API needs the token from ${ADMIN_TOKEN_FILE} in the data directory`,
        }),
      );
      return;
    }
    next();
  };
}
