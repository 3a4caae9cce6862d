import { hexDigest } from './digest';
import type { Endpoint, JsonObject, JsonValue } from './types';

/**
 * Request fields that never change the answer, so they stay out of the key:
 * `stream` and `stream_options` only change the framing (a stored answer replays
 * either way), `user`, `request_id` and `priority` are bookkeeping for the server.
 */
export const FIELDS_OUTSIDE_KEY: ReadonlySet<string> = new Set([
  'stream',
  'stream_options',
  'user',
  'request_id',
  'priority',
]);

/**
 * JSON with object keys sorted at every depth, so that two bodies that mean the
 * same thing serialize the same. Built as a string, never as an object, so keys
 * such as `__proto__` stay plain data.
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const item = value[key];
    if (item === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(item)}`);
  }
  return `{${parts.join(',')}}`;
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
  /** Its canonical JSON, kept to verify a stored entry on a hit. */
  canonical: string;
  /** The exact key: 128 bits of sha256 over endpoint, tenant and the canonical request. */
  key: string;
}

export function identifyRequest(endpoint: Endpoint, tenant: string, body: JsonObject): RequestIdentity {
  const keyed = keyedRequest(body);
  const canonical = canonicalJson(keyed);
  const key = sha256(`deja:exact:v1\n${endpoint}\n${tenant}\n${canonical}`).slice(0, 32);
  return { keyed, canonical, key };
}
