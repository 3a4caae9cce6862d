import type { ExactNumber } from './exactNumbers';
import type { CacheOutcomeDto, EndpointDto } from '../shared/protocol';

/** Plain JSON, as request and response bodies arrive over the wire. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** A JSON object: not null, not an array. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The OpenAI endpoints whose answers Deja may cache (the list is `ENDPOINTS` in the protocol). */
export type Endpoint = EndpointDto;

/** The request path under `/v1` for each cacheable endpoint. */
export const ENDPOINT_PATHS: Readonly<Record<Endpoint, string>> = {
  'chat.completions': '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

/** What the cache did with a request: `CACHE_OUTCOMES` in the protocol lists the outcomes and what each means. */
export type CacheOutcome = CacheOutcomeDto;

/** A stored answer. The store keeps it as JSON; `version` guards future format changes. */
export interface CacheEntry {
  version: 1;
  /** The exact key: also the id shown in `x-deja-entry` and the dashboard. */
  id: string;
  endpoint: Endpoint;
  model: string;
  /** Hash of the upstream and credential the answer was obtained with. */
  tenant: string;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds; absolute, a hit does not extend it. */
  expiresAt: number;
  /** The request as keyed: the body without the fields that do not change the answer. */
  request: JsonObject;
  /** The complete JSON response, as a non-streaming call returns it. */
  response: JsonObject;
  /** How the answer arrived: as one JSON body, or assembled from a stream. */
  source: 'json' | 'stream';
  /**
   * The kinds of volatile values (clock, date, cost, port) masked in the key when the answer
   * was stored: the request is kept as it came, and its key is made again from it with them masked.
   */
  normalized?: string[];
  /**
   * The numbers of `request` a double does not keep (a seed past 2^53, a decimal with more
   * digits than a double holds), as the client wrote them: `request` holds their rounded
   * doubles, and the key, the forwarded body and a revalidation are made with these.
   */
  exactNumbers?: ExactNumber[];
}
