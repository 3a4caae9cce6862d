import type { JsonValue } from './types';

/**
 * Numbers JavaScript's JSON.parse does not keep. A request body is parsed into doubles, and
 * a double holds about 15.95 significant digits: `"seed": 9007199254740993` parses to
 * 9007199254740992, and 0.1000000000000000000001 to 0.1. Two requests that differ only there
 * would share a key and get each other's answers, and a body written again from the parsed
 * object would not say what the client's said (vLLM, in Python, reads integers exactly).
 *
 * What "as the client wrote it" means here: a number literal is *exact* when the double it
 * parses to writes back as the same decimal value (`1`, `1.0`, `1e0`, `0.10`, `1e-30`,
 * `100000000000000000000`; an integer literal, as an integer): the key reads it by value, as it
 * always did, so those share a key. Any other literal is *inexact*; the key covers it as
 * written, character for character, and the stored and forwarded requests keep that text. An
 * inexact literal never writes like a double (a double's own text is exact), so it can share
 * a key with no other number.
 */

/** An inexact number of a JSON text: where it is (object keys and array indexes from the root) and its literal. */
export interface ExactNumber {
  path: Array<string | number>;
  text: string;
}

/** The inexact numbers of a value, by place: a literal at a leaf, a map below. Maps keep `__proto__` a plain key. */
export type ExactTree = Map<string | number, ExactTree | string>;

/** The decimal value of a number literal, normalized: sign, significant digits, exponent (`-12e-3`); `0` for any zero. */
function decimalValue(literal: string): string {
  let start = 0;
  const negative = literal.charCodeAt(0) === 0x2d;
  if (negative) start = 1;
  let end = literal.length;
  let exponent = 0;
  for (let i = start; i < literal.length; i++) {
    const c = literal.charCodeAt(i);
    if (c === 0x65 || c === 0x45) {
      end = i;
      exponent = Number(literal.slice(i + 1));
      break;
    }
  }
  const point = literal.indexOf('.', start);
  let digits = point >= 0 && point < end ? literal.slice(start, point) + literal.slice(point + 1, end) : literal.slice(start, end);
  if (point >= 0 && point < end) exponent -= end - point - 1;
  let first = 0;
  while (first < digits.length && digits.charCodeAt(first) === 0x30) first++;
  if (first === digits.length) return '0';
  let last = digits.length;
  while (digits.charCodeAt(last - 1) === 0x30) last--;
  exponent += digits.length - last;
  digits = digits.slice(first, last);
  return `${negative ? '-' : ''}${digits}e${exponent}`;
}

/**
 * Whether a JSON number literal loses its value to a double: its double, written back, is
 * another decimal (`9007199254740993`, `0.1000000000000000000001`, `1e-400`), or an integer
 * of 22 digits or more, which JavaScript writes back with an exponent (`1e+30`): a reader that
 * keeps integers exact (Python) takes that for a float, of another value.
 */
export function isInexactNumber(literal: string): boolean {
  const value = Number(literal);
  if (!Number.isFinite(value)) return true;
  const written = String(value);
  if (written.includes('e') && !/[.eE]/.test(literal)) return true;
  return decimalValue(literal) !== decimalValue(written);
}

/**
 * Whether a literal may be inexact, without parsing it: only one with an exponent or more
 * than 15 characters can be. Without an exponent, 15 characters hold at most 15 significant
 * digits between 1e-13 and 1e15, and a double keeps any such decimal exactly.
 */
export function mayBeInexact(length: number, exponent: boolean): boolean {
  return exponent || length > 15;
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The inexact numbers of a valid JSON text, where JSON.parse puts them: a duplicate key's last
 * value wins, as in JSON.parse. Empty when there are none. The text must be valid JSON (parse
 * it first) nested no deeper than the stack allows (the gateway refuses depth over 128 first).
 */
export function inexactNumbersIn(text: string): ExactNumber[] {
  let at = 0;
  const skipSpace = () => {
    while (isSpace(text.charCodeAt(at))) at++;
  };
  /** Steps over a string token (to its closing quote: the next one not escaped); returns its value when `decode`. */
  const readString = (decode: boolean): string => {
    const start = at;
    let end = at;
    for (;;) {
      end = text.indexOf('"', end + 1);
      if (end < 0) throw new SyntaxError('inexactNumbersIn: the text is not valid JSON');
      let slashes = 0;
      while (text.charCodeAt(end - 1 - slashes) === 0x5c) slashes++;
      if (slashes % 2 === 0) break;
    }
    at = end + 1;
    if (!decode) return '';
    const inner = text.slice(start + 1, end);
    return inner.includes('\\') ? (JSON.parse(text.slice(start, at)) as string) : inner;
  };
  const value = (): ExactTree | string | undefined => {
    skipSpace();
    const c = text.charCodeAt(at);
    if (c === 0x7b) {
      at++;
      let found: ExactTree | undefined;
      skipSpace();
      if (text.charCodeAt(at) === 0x7d) {
        at++;
        return undefined;
      }
      for (;;) {
        skipSpace();
        const key = readString(true);
        skipSpace();
        at++; // :
        const inner = value();
        // The last duplicate wins: an earlier value's numbers go with it.
        if (inner !== undefined) (found ??= new Map()).set(key, inner);
        else found?.delete(key);
        skipSpace();
        if (text.charCodeAt(at++) !== 0x2c) return found; // } after the last member
      }
    }
    if (c === 0x5b) {
      at++;
      let found: ExactTree | undefined;
      skipSpace();
      if (text.charCodeAt(at) === 0x5d) {
        at++;
        return undefined;
      }
      for (let index = 0; ; index++) {
        const inner = value();
        if (inner !== undefined) (found ??= new Map()).set(index, inner);
        skipSpace();
        if (text.charCodeAt(at++) !== 0x2c) return found; // ]
      }
    }
    if (c === 0x22) {
      readString(false);
      return undefined;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = at;
      let exponent = false;
      for (
        let n = text.charCodeAt(++at);
        (n >= 0x30 && n <= 0x39) || n === 0x2e || n === 0x2b || n === 0x2d || n === 0x65 || n === 0x45;
        n = text.charCodeAt(++at)
      ) {
        exponent ||= n === 0x65 || n === 0x45;
      }
      const literal = text.slice(start, at);
      return mayBeInexact(literal.length, exponent) && isInexactNumber(literal) ? literal : undefined;
    }
    // true, false, null
    at += c === 0x66 ? 5 : 4;
    return undefined;
  };
  const found: ExactNumber[] = [];
  const collect = (node: ExactTree | string | undefined, path: Array<string | number>) => {
    if (typeof node === 'string') found.push({ path, text: node });
    else if (node) for (const [step, inner] of node) collect(inner, [...path, step]);
  };
  collect(value(), []);
  return found;
}

/** The numbers as a tree, to look them up while a value is walked; undefined when there are none. */
export function exactTree(numbers: readonly ExactNumber[] | undefined): ExactTree | undefined {
  if (!numbers?.length) return undefined;
  const root: ExactTree = new Map();
  for (const { path, text } of numbers) {
    if (path.length === 0) continue;
    let node = root;
    for (let i = 0; i < path.length - 1; i++) {
      let next = node.get(path[i]!);
      if (typeof next !== 'object') node.set(path[i]!, (next = new Map()));
      node = next;
    }
    node.set(path[path.length - 1]!, text);
  }
  return root;
}

/**
 * A value as JSON text with its inexact numbers written as the client wrote them: what
 * JSON.stringify writes, keys in their order (or sorted, for a canonical form), except at the
 * places `exact` names. A place whose value is no longer a number (replaced since) is written as it is now.
 */
export function stringifyExact(value: JsonValue, exact: ExactTree | string | undefined, sortKeys = false): string {
  if (typeof exact === 'string' && typeof value === 'number') return exact;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const tree = typeof exact === 'object' ? exact : undefined;
  // Below a place with no inexact number, JSON.stringify writes the same (unless keys are sorted).
  const write = (item: JsonValue, inner: ExactTree | string | undefined) =>
    inner === undefined && !sortKeys ? JSON.stringify(item) : stringifyExact(item, inner, sortKeys);
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) parts.push(write(value[i]!, tree?.get(i)));
    return `[${parts.join(',')}]`;
  }
  const keys = sortKeys ? Object.keys(value).sort() : Object.keys(value);
  const parts: string[] = [];
  for (const key of keys) {
    const item = value[key];
    if (item === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${write(item, tree?.get(key))}`);
  }
  return `{${parts.join(',')}}`;
}
