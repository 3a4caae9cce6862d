import { hostName } from './adminAuth';
import { forbidden } from './errors';
import type { Middleware } from './pipeline';

/** Whether an address or a Host name is this machine's loopback. */
export function isLoopback(name: string): boolean {
  const bare = name.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/**
 * Refuses requests whose Host is not a loopback name, for a gateway bound to loopback.
 * Such a gateway is reached only from this machine, where tools name it 127.0.0.1 or
 * localhost; another name means a web page that pointed its own domain at 127.0.0.1
 * (DNS rebinding) to read cached answers through the visitor's browser.
 */
export function loopbackHostGuard(): Middleware {
  // A client sends the same Host on every request: remembered, the check is a map lookup.
  const verdicts = new Map<string, boolean>();
  const allowed = (host: string | undefined): boolean => {
    if (host === undefined) return false;
    let verdict = verdicts.get(host);
    if (verdict === undefined) {
      verdict = isLoopback(hostName(host));
      if (verdicts.size >= 64) verdicts.clear();
      verdicts.set(host, verdict);
    }
    return verdict;
  };
  return (req, _res, next) => {
    if (allowed(req.headers.host)) {
      next();
      return;
    }
    next(
      forbidden({
        code: 'host_not_allowed',
        message: `This gateway listens on loopback and answers only to a loopback Host such as 127.0.0.1 or localhost (got "${req.headers.host ?? ''}")`,
      }),
    );
  };
}
