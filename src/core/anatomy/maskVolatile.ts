/**
 * Masks the volatile values a request's anatomy found, for the exact key and the semantic
 * partition: two requests from later sessions of one workspace then key the same. What
 * is masked is recorded with where it was, so the masked form still tells apart any two
 * requests that differ in anything but the masked values.
 */
import type { JsonObject, JsonValue } from '../types';
import type { VolatileMask } from './promptAnatomy';
import { VOLATILE_KINDS, type VolatileKind } from './volatileValues';

/** An edit of a text: replace [start, end) with `text`. Edits never overlap. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** Applies edits sorted by position; returns the new text and where each replacement starts in it. */
export function applyEdits(text: string, edits: readonly TextEdit[]): { text: string; at: number[] } {
  let out = '';
  let from = 0;
  const at: number[] = [];
  for (const edit of edits) {
    out += text.slice(from, edit.start);
    at.push(out.length);
    out += edit.text;
    from = edit.end;
  }
  return { text: out + text.slice(from), at };
}

/** What a masked value reads as in the masked text; ids carry their ordinal. */
export const maskToken = (kind: VolatileKind, ordinal?: number): string => `\u27e6${kind}${ordinal ?? ''}\u27e7`;

export interface MaskedRequest {
  /** The body with each volatile value replaced by its kind's token. */
  masked: JsonObject;
  /**
   * Where each token sits (`path`, offset in the masked string): with it the masked form
   * determines every character that was not masked, so no two requests that differ outside
   * the masked values can share it, whatever their text holds.
   */
  positions: Array<[string, number]>;
  /** The kinds masked, each once, in a stable order. */
  kinds: VolatileKind[];
}

/** Sets `value` at `path` in a copy of `root`, copying only the containers on the way. */
function setAt(root: JsonObject, path: ReadonlyArray<string | number>, value: string): JsonObject {
  const copy = (node: JsonValue | undefined, depth: number): JsonValue => {
    if (depth === path.length) return value;
    const step = path[depth]!;
    if (Array.isArray(node) && typeof step === 'number') {
      const next = node.slice();
      next[step] = copy(node[step], depth + 1);
      return next;
    }
    if (node && typeof node === 'object' && !Array.isArray(node) && typeof step === 'string') {
      return { ...node, [step]: copy(node[step], depth + 1) };
    }
    return node ?? null;
  };
  return copy(root, 0) as JsonObject;
}

function getAt(root: JsonObject, path: ReadonlyArray<string | number>): JsonValue | undefined {
  let node: JsonValue | undefined = root;
  for (const step of path) {
    if (Array.isArray(node) && typeof step === 'number') node = node[step];
    else if (node && typeof node === 'object' && !Array.isArray(node) && typeof step === 'string') node = node[step];
    else return undefined;
  }
  return node;
}

/** The request with its volatile values masked; `undefined` when there is nothing to mask. */
export function maskVolatile(body: JsonObject, masks: readonly VolatileMask[]): MaskedRequest | undefined {
  if (masks.length === 0) return undefined;
  let masked = body;
  const positions: Array<[string, number]> = [];
  const kinds = new Set<VolatileKind>();
  // Ids are numbered by first appearance: which call a result answers is kept, the random draw is not.
  const ids = new Map<string, number>();
  const tokenFor = (kind: VolatileKind, value: string): string => {
    if (kind !== 'id') return maskToken(kind);
    let ordinal = ids.get(value);
    if (ordinal === undefined) ids.set(value, (ordinal = ids.size + 1));
    return maskToken(kind, ordinal);
  };
  for (const mask of masks) {
    const original = getAt(body, mask.path);
    if (typeof original !== 'string') continue;
    const edits = mask.values.map((value) => ({
      start: value.start,
      end: value.end,
      text: tokenFor(value.kind, original.slice(value.start, value.end)),
    }));
    const { text, at } = applyEdits(original, edits);
    masked = setAt(masked, mask.path, text);
    const path = mask.path.join('.');
    for (const offset of at) positions.push([path, offset]);
    for (const value of mask.values) kinds.add(value.kind);
  }
  if (positions.length === 0) return undefined;
  return { masked, positions, kinds: VOLATILE_KINDS.filter((kind) => kinds.has(kind)) };
}
