import type { IncomingHttpHeaders } from 'node:http';
import { parseThreshold } from '../core/options';
import { invalidRequest } from './errors';

/** What a client asked of the cache through its request headers. */
export interface CacheControl {
  /** `Cache-Control: no-cache`: do not answer from the cache; store the fresh answer. */
  noCache: boolean;
  /** `Cache-Control: no-store`: neither look up nor store. */
  noStore: boolean;
  /** `x-deja-ttl`: lifetime of the stored answer in seconds, 0 for none; undefined for the default. */
  ttlSeconds: number | undefined;
  /** `x-deja-threshold`: similarity a semantic hit needs for this request; undefined for the default. */
  threshold: number | undefined;
}

const MAX_TTL_SECONDS = 10 * 365 * 86_400;

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

/** What a request without any of the headers asks: the defaults. */
const NO_CONTROL: CacheControl = Object.freeze({ noCache: false, noStore: false, ttlSeconds: undefined, threshold: undefined });

/** Reads Cache-Control and x-deja-ttl; throws a 400 for a TTL that is not a whole number of seconds. */
export function readCacheControl(headers: IncomingHttpHeaders): CacheControl {
  // Most requests carry none of them.
  if (headers['cache-control'] === undefined && headers['x-deja-ttl'] === undefined && headers['x-deja-threshold'] === undefined)
    return NO_CONTROL;
  const directives = headerText(headers['cache-control'])
    .toLowerCase()
    .split(',')
    .map((directive) => directive.trim().split('=')[0]);
  const rawTtl = headerText(headers['x-deja-ttl']).trim();
  let ttlSeconds: number | undefined;
  if (rawTtl !== '') {
    const value = Number(rawTtl);
    if (!/^\d+$/.test(rawTtl) || value > MAX_TTL_SECONDS) {
      throw invalidRequest({
        code: 'invalid_header',
        message: `x-deja-ttl must be a whole number of seconds from 0 to ${MAX_TTL_SECONDS}, got "${rawTtl}"`,
        param: 'x-deja-ttl',
      });
    }
    ttlSeconds = value;
  }
  const rawThreshold = headerText(headers['x-deja-threshold']).trim();
  let threshold: number | undefined;
  if (rawThreshold !== '') {
    try {
      threshold = parseThreshold(rawThreshold);
    } catch (error) {
      throw invalidRequest({ code: 'invalid_header', message: `x-deja-threshold: ${(error as Error).message}`, param: 'x-deja-threshold' });
    }
  }
  return {
    threshold,
    noCache: directives.includes('no-cache'),
    noStore: directives.includes('no-store'),
    ttlSeconds,
  };
}
