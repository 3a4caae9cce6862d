import { maskVolatile } from './anatomy/maskVolatile';
import { readAnatomy, type VolatileMask } from './anatomy/promptAnatomy';
import type { VolatileKind } from './anatomy/volatileValues';
import { hexDigest } from './digest';
import { exactTree, stringifyExact, type ExactNumber } from './exactNumbers';
import type { CacheEntry, Endpoint, JsonObject, JsonValue } from './types';

/**
 * Request fields that never change the answer, so they stay out of the key:
 * `stream` and `stream_options` only change the framing (a stored answer replays
 * either way), `user`, `request_id`, `priority`, `metadata` and `store` are
 * bookkeeping for the server (an eval script's run id in `metadata` is not a question).
 */
export const FIELDS_OUTSIDE_KEY: ReadonlySet<string> = new Set([
  'stream',
  'stream_options',
  'user',
  'request_id',
  'priority',
  'metadata',
  'store',
]);

/**
 * JSON with object keys sorted at every depth, so that two bodies that mean the
 * same thing serialize the same. Built as a string, never as an object, so keys
 * such as `__proto__` stay plain data. `exact` lists the numbers a double does not
 * keep (see exactNumbers.ts): they are written as the client wrote them.
 */
export function canonicalJson(value: JsonValue, exact?: readonly ExactNumber[]): string {
  const tree = exactTree(exact);
  return tree ? stringifyExact(value, tree, true) : plainCanonicalJson(value);
}

function plainCanonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(plainCanonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const item = value[key];
    if (item === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${plainCanonicalJson(item)}`);
  }
  return `{${parts.join(',')}}`;
}

/** The inexact numbers of the fields in the key; undefined when there are none. */
export function keyedNumbers(exact: readonly ExactNumber[] | undefined): ExactNumber[] | undefined {
  const keyed = exact?.filter((number) => !FIELDS_OUTSIDE_KEY.has(String(number.path[0])));
  return keyed?.length ? keyed : undefined;
}

/** The request body without the fields that do not change the answer. */
export function keyedRequest(body: JsonObject): JsonObject {
  const keyed: JsonObject = {};
  for (const key of Object.keys(body)) {
    if (FIELDS_OUTSIDE_KEY.has(key)) continue;
    // defineProperty keeps a `__proto__` key an own data property; plain assignment is faster for the rest.
    if (key === '__proto__') Object.defineProperty(keyed, key, { value: body[key], enumerable: true, writable: true, configurable: true });
    else keyed[key] = body[key]!;
  }
  return keyed;
}

function sha256(text: string): string {
  return hexDigest('sha256', text);
}

/**
 * Who is asking, as far as sharing answers goes: the upstream and the credential
 * sent to it. Two API keys never share entries.
 */
export function tenantTag(upstream: string, credential: string | undefined): string {
  const material = `${upstream}\n${credential ?? ''}`;
  let tag = recentTenants.get(material);
  if (tag === undefined) {
    tag = sha256(material).slice(0, 16);
    // A handful of credentials in practice; the bound only guards against a flood of keys.
    if (recentTenants.size >= 256) recentTenants.clear();
    recentTenants.set(material, tag);
  }
  return tag;
}

const recentTenants = new Map<string, string>();

/** A request as the exact cache sees it. */
export interface RequestIdentity {
  /** The body without the fields outside the key. */
  keyed: JsonObject;
  /** Its canonical JSON (with volatile values masked, when any were), kept to verify a stored entry on a hit. */
  canonical: string;
  /** The exact key: 128 bits of sha256 over endpoint, tenant and the canonical request. */
  key: string;
  /** The kinds of volatile values masked in the key (clock, date, cost...); empty when none were. */
  normalized: VolatileKind[];
  /** The numbers of `keyed` a double does not keep, as the client wrote them; undefined when there are none. */
  exactNumbers?: ExactNumber[];
}

/**
 * The canonical form a key is made of: the keyed body, its volatile values masked and their
 * places listed, its inexact numbers as written.
 */
export function canonicalRequest(
  keyed: JsonObject,
  masks: readonly VolatileMask[] = [],
  exact?: readonly ExactNumber[],
): { canonical: string; normalized: VolatileKind[] } {
  const masked = maskVolatile(keyed, masks);
  if (!masked) return { canonical: canonicalJson(keyed, exact), normalized: [] };
  return { canonical: `${canonicalJson(masked.masked, exact)}\n${JSON.stringify(masked.positions)}`, normalized: masked.kinds };
}

/**
 * The exact identity of a request. `masks` are the volatile values of a tool's boilerplate
 * (from the request's anatomy): masked, two sessions of one workspace share a key. `exact`
 * lists the body's numbers that a double does not keep, as the client wrote them (see
 * exactNumbers.ts): two requests that differ only there get two keys.
 */
export function identifyRequest(
  endpoint: Endpoint,
  tenant: string,
  body: JsonObject,
  masks: readonly VolatileMask[] = [],
  exact?: readonly ExactNumber[],
): RequestIdentity {
  const keyed = keyedRequest(body);
  const exactNumbers = keyedNumbers(exact);
  const { canonical, normalized } = canonicalRequest(keyed, masks, exactNumbers);
  const key = sha256(`deja:exact:v1\n${endpoint}\n${tenant}\n${canonical}`).slice(0, 32);
  return exactNumbers ? { keyed, canonical, key, normalized, exactNumbers } : { keyed, canonical, key, normalized };
}

/**
 * The identity a stored entry was keyed with, made again from its request as stored: the
 * volatile values are masked again when they were then (the request reads the same way).
 */
export function identityOfEntry(entry: CacheEntry): RequestIdentity {
  const masks = entry.normalized?.length ? readAnatomy(entry.endpoint, entry.request).volatile : [];
  const { canonical, normalized } = canonicalRequest(entry.request, masks, entry.exactNumbers);
  const identity: RequestIdentity = { keyed: entry.request, canonical, key: entry.id, normalized };
  if (entry.exactNumbers?.length) identity.exactNumbers = entry.exactNumbers;
  return identity;
}
