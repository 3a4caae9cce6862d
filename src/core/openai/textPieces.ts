/**
 * A word with its leading whitespace, a long word cut every 16 code points, or
 * trailing whitespace: roughly what a tokenizer streams, never splitting a
 * surrogate pair, and always concatenating back to the original text.
 */
const PIECE = /\s*\S{1,16}|\s+/gu;

/** Splits text into stream-sized pieces for replaying a stored answer. */
export function textPieces(text: string): string[] {
  if (text === '') return [];
  return text.match(PIECE) ?? [text];
}
