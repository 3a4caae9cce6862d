/**
 * The alternatives of a regular expression, joined with `|`: a policy pattern lists its
 * phrases one per line through this, so a review or a diff reads one phrase at a time.
 * It adds no group: the pattern keeps its own parentheses (and their numbering) around it,
 * and an alternative is regular-expression source, escaped as in any pattern.
 */
export const words = (alternatives: readonly string[]): string => alternatives.join('|');
