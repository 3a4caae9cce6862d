/** Redis URLs: checked for the CLI, masked for logs. Pure, so options and the extension can use it. */

/** A Redis URL fit for logs and `/health`: the password, if any, masked. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'redis://(unparsable url)';
  }
}

/** Checks a `--shared-store` value; returns why it is not usable, or undefined. */
export function redisUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL (expected redis://host:port or rediss://...)`;
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    return `"${parsed.protocol}" is not supported: use redis:// or rediss://`;
  if (!parsed.hostname) return 'the Redis URL names no host';
  return undefined;
}
