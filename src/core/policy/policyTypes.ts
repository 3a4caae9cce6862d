import type { SkipReasonDto } from '../../shared/protocol';

/** Why a request was not cached: a closed set shared by the header, the metrics and the dashboard (`SKIP_REASONS` in the protocol). */
export type SkipReason = SkipReasonDto;

/** The exact text that made a rule fire, so the dashboard can highlight it. */
export interface TextSpan {
  /** Where the text came from: `messages[2].content`, `prompt`, `suffix`, `temperature`, `n`, `user`, `cache-control`. */
  field: string;
  /** Character offsets in that field's text, end exclusive. */
  start: number;
  end: number;
  /** The matched text itself. */
  text: string;
}

export type PolicyDecision =
  | { cacheable: true }
  | {
      cacheable: false;
      reason: SkipReason;
      /** The rule that fired, e.g. `code_generation/write-code`. */
      rule: string;
      span: TextSpan | undefined;
    };

/** A pattern a rule looks for, in the data-driven form a team can extend in its settings. */
export interface PatternRule {
  /** Short name shown in the dashboard and the log. */
  id: string;
  /** A JavaScript regular expression source, matched case-insensitively with Unicode. */
  pattern: string;
  /** Hard negatives: when one of these matches anywhere in the text, this pattern does not fire. */
  unless?: string[];
  /** Match case-sensitively (tickers, currency codes); by default case is ignored. */
  caseSensitive?: boolean;
  /** Patterns that must also match somewhere in the text for this one to fire ("a rate" and "now"). */
  requires?: string[];
  /**
   * Context the pattern needs besides the question: `attached-code` is read only when code
   * comes with the question (a fenced paste, or a file or selection a tool attached), and its
   * `unless` and `requires` read the question's own words, never the code: "make it faster"
   * asks for a change to that code, and a "fix" inside the code asks for nothing.
   */
  context?: 'attached-code';
  /** Read the text with quoted passages blanked, whatever the rule does ("Rewrite this: «…»" is not about what is quoted). */
  ignoreQuoted?: boolean;
}

export interface TextRuleConfig {
  enabled: boolean;
  patterns: PatternRule[];
}

/** Every rule of the policy, each switchable and tunable. */
export interface PolicyConfig {
  highTemperature: {
    enabled: boolean;
    /** Temperatures strictly above this are not cached. */
    maxTemperature: number;
    /**
     * What an absent `temperature` counts as. The server's default then applies and Deja
     * cannot know it; by default an absent temperature counts as 0 (cacheable): a client
     * that does not ask for randomness gets one valid sample. Set 1 to treat it as
     * OpenAI's default instead.
     */
    absentTemperature: number;
    /** Requests asking for more choices than this (`n`) are not cached. */
    maxN: number;
  };
  codeGeneration: TextRuleConfig & {
    /** Fill-in-the-middle completions (a `suffix`) are code being written. */
    fillInTheMiddle: boolean;
  };
  timeSensitive: TextRuleConfig & {
    /** An explicit date fires when its year is at least this many years before the current one, or later (or has no year). */
    recentYears: number;
  };
  personalized: TextRuleConfig & {
    /** Treat any request carrying a `user` field as personalized. */
    userField: boolean;
  };
  financial: TextRuleConfig;
}

/** A partial configuration, as a team writes it: rules merge over the defaults, patterns are added. */
export interface PolicyOverrides {
  highTemperature?: Partial<PolicyConfig['highTemperature']>;
  codeGeneration?: Partial<PolicyConfig['codeGeneration']> & { extraPatterns?: PatternRule[] };
  timeSensitive?: Partial<PolicyConfig['timeSensitive']> & { extraPatterns?: PatternRule[] };
  personalized?: Partial<PolicyConfig['personalized']> & { extraPatterns?: PatternRule[] };
  financial?: Partial<PolicyConfig['financial']> & { extraPatterns?: PatternRule[] };
}
