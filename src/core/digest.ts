import * as crypto from 'node:crypto';

/** Node's one-shot `crypto.hash` (20.12 and later); an older runtime (an old Electron) falls back to createHash. */
const oneShot: typeof crypto.hash | undefined = typeof crypto.hash === 'function' ? crypto.hash : undefined;

/**
 * The hex digest of a text. The one-shot form builds no Hash object: it is several times
 * cheaper, and keys are hashed on every request.
 */
export function hexDigest(algorithm: 'sha1' | 'sha256', text: string): string {
  return oneShot ? oneShot(algorithm, text, 'hex') : crypto.createHash(algorithm).update(text).digest('hex');
}
