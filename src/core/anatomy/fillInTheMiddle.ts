/**
 * Fill-in-the-middle prompts, recognised by the markers of the code-model families that
 * autocomplete tools template into `prompt`. A marker alone is not enough (a question may
 * mention one): the prompt must have the family's shape, prefix before suffix with the
 * middle marker closing it, or the suffix-first form opening it.
 */

import { isSpace } from './textBlocks';

export interface FimMatch {
  /**
   * Code to write between a prefix and a suffix, a marked region of a file to rewrite (an
   * edit template), or a file to continue under its path (autocomplete with no suffix).
   */
  kind: 'fill-in-the-middle' | 'edit-region' | 'code-completion';
  /** The family whose markers were found: `qwen`, `starcoder`, `codellama`, `deepseek`... */
  family: string;
  /** The first marker, for the highlighted span. */
  start: number;
  end: number;
}

interface FimFamily {
  family: string;
  prefix: string;
  suffix: string;
  /** The marker the prompt ends with, in the prefix-suffix-middle order. */
  middle?: string;
  /** Suffix first, prefix last (Codestral's `[SUFFIX]…[PREFIX]…`): the prompt opens with the suffix marker. */
  suffixFirst?: boolean;
}

const FAMILIES: readonly FimFamily[] = [
  // Qwen2.5-Coder, CodeGemma, and everything else that adopted the pipe form.
  { family: 'qwen', prefix: '<|fim_prefix|>', suffix: '<|fim_suffix|>', middle: '<|fim_middle|>' },
  // StarCoder, StarCoder2, Granite, stable-code.
  { family: 'starcoder', prefix: '<fim_prefix>', suffix: '<fim_suffix>', middle: '<fim_middle>' },
  // SantaCoder's hyphenated form.
  { family: 'santacoder', prefix: '<fim-prefix>', suffix: '<fim-suffix>', middle: '<fim-middle>' },
  // CodeLlama: `<PRE> {prefix} <SUF>{suffix} <MID>`.
  { family: 'codellama', prefix: '<PRE>', suffix: '<SUF>', middle: '<MID>' },
  // DeepSeek-Coder, with the full-width bars, and the ASCII spelling some templates use.
  { family: 'deepseek', prefix: '<｜fim▁begin｜>', suffix: '<｜fim▁hole｜>', middle: '<｜fim▁end｜>' },
  { family: 'deepseek', prefix: '<|fim▁begin|>', suffix: '<|fim▁hole|>', middle: '<|fim▁end|>' },
  { family: 'deepseek', prefix: '<|fim_begin|>', suffix: '<|fim_hole|>', middle: '<|fim_end|>' },
  // CodeGeeX.
  { family: 'codegeex', prefix: '<|code_prefix|>', suffix: '<|code_suffix|>', middle: '<|code_middle|>' },
  // Codestral: `[SUFFIX]{suffix}[PREFIX]{prefix}`.
  { family: 'codestral', prefix: '[PREFIX]', suffix: '[SUFFIX]', suffixFirst: true },
];

/** Repository-level completion (Qwen's and StarCoder2's): a file listing that asks for a file's continuation. */
const REPO_LEVEL: ReadonlyArray<{ family: string; repo: string; file: string }> = [
  { family: 'qwen-repo', repo: '<|repo_name|>', file: '<|file_sep|>' },
  { family: 'starcoder-repo', repo: '<repo_name>', file: '<file_sep>' },
];

/**
 * Edit templates: a region of a file the model is to rewrite, marked by the tool. Each needs
 * its marker and a second one of the same template, so a question that quotes one tag is not taken for one.
 */
const EDIT_REGIONS: ReadonlyArray<{ family: string; marker: RegExp; with: RegExp }> = [
  // Continue's edit prompt: the selection between <START EDITING HERE> and <STOP EDITING HERE>, or to the end.
  { family: 'continue-edit', marker: /<START EDITING HERE>(?=\n|$)/, with: /^```|Sure! Here's the entire/m },
  // Tabby's inline edit: the selection or document, and the user's command, in its tags.
  { family: 'tabby-edit', marker: /<USERCOMMAND>/, with: /<USERSELECTION>|<USERDOCUMENT>/ },
  // Cody's edit: the selected code and the instructions, in numbered tags.
  { family: 'cody-edit', marker: /<SELECTEDCODE\d+>/, with: /<INSTRUCTIONS\d+>/ },
];

/** Cheap gate: every marker above contains one of these. */
function mayHaveMarkers(text: string): boolean {
  return text.includes('<') || text.includes('[SUFFIX]');
}

function trimmedEnd(text: string): number {
  let end = text.length;
  while (end > 0 && isSpace(text.charCodeAt(end - 1))) end--;
  return end;
}

function trimmedStart(text: string): number {
  let start = 0;
  while (start < text.length && isSpace(text.charCodeAt(start))) start++;
  return start;
}

/** The fill-in-the-middle markers in a prompt, when it has a family's shape. */
export function findFimMarkers(text: string): FimMatch | undefined {
  if (!mayHaveMarkers(text)) return undefined;
  const end = trimmedEnd(text);
  const start = trimmedStart(text);
  for (const family of FAMILIES) {
    const suffixAt = text.indexOf(family.suffix);
    if (suffixAt === -1) continue;
    const prefixAt = text.indexOf(family.prefix);
    if (family.suffixFirst) {
      if (suffixAt === start && prefixAt > suffixAt)
        return { kind: 'fill-in-the-middle', family: family.family, start: suffixAt, end: suffixAt + family.suffix.length };
      continue;
    }
    const middle = family.middle!;
    const first = prefixAt === -1 ? suffixAt : prefixAt;
    const found: FimMatch = {
      kind: 'fill-in-the-middle',
      family: family.family,
      start: first,
      end: first + (prefixAt === -1 ? family.suffix : family.prefix).length,
    };
    // Prefix, suffix, then the middle marker closing the prompt: the model writes what goes between.
    // A prompt clipped from its start (Tabby keeps the last 1.5 KB) may have lost the prefix marker.
    if (prefixAt < suffixAt && end >= middle.length && text.startsWith(middle, end - middle.length)) return found;
    if (prefixAt === -1) continue;
    // The suffix-first variant opens with the markers and puts the prefix after the middle marker.
    const opensWithMarkers = text.startsWith(family.suffix, start) || text.startsWith(family.prefix + family.suffix, start);
    if (opensWithMarkers && text.indexOf(middle, suffixAt) !== -1) return found;
  }
  for (const repo of REPO_LEVEL) {
    if (text.startsWith(repo.repo, start) && text.includes(repo.file))
      return { kind: 'fill-in-the-middle', family: repo.family, start, end: start + repo.repo.length };
  }
  for (const edit of EDIT_REGIONS) {
    const marker = edit.marker.exec(text);
    if (marker && edit.with.test(text))
      return { kind: 'edit-region', family: edit.family, start: marker.index, end: marker.index + marker[0].length };
  }
  return undefined;
}

/** A file's path as the comment a completion prompt opens with: `// Path: src/a.ts`, `# Path: app.py`, `<filename>src/a.ts`. */
const PATH_HEADER = /^(?:\/\/|#|--|;) ?Path: \S[^\n]*\n|^<filename>\S/;

/**
 * A completion prompt that is a file to continue: it opens with the file's path as a
 * comment, as autocomplete tools write it when there is no suffix to fill towards.
 */
export function findCodeCompletion(prompt: string): FimMatch | undefined {
  const start = trimmedStart(prompt);
  const match = PATH_HEADER.exec(prompt.slice(start, start + 500));
  return match ? { kind: 'code-completion', family: 'path-header', start, end: start + match[0].trimEnd().length } : undefined;
}
