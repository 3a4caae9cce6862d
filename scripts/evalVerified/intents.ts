/**
 * A synthetic query stream built to be hard for a semantic cache: 40 software topics, each
 * with 15 intents, 21 labels once slots are filled (install / uninstall on three systems,
 * slow, memory, what is, what is it written in, configure for three environments, won't
 * start / won't stop, enable / disable logging, update / downgrade, start / don't start at
 * boot). Every intent has many
 * paraphrases (templates with alternative words and optional words, synonyms of the entity
 * and the system, casual prefixes and suffixes, small typos), so exact repeats are rare; and
 * every intent has near-misses that differ in one or two key words: another entity (the same
 * template about another topic), another verb (install / uninstall), a negation (start /
 * stop starting at boot), another slot (linux / windows). For an embedder that sees words,
 * paraphrases with few shared words and near-misses with many overlap in similarity.
 *
 * Queries are drawn with Zipf popularity (weight 1/rank) over the 840 labels, ranked in a
 * seeded random order; the same multiset is then replayed in several shuffled orders.
 *
 * Template syntax: `[a|b|c]` one of the alternatives; `(a)` or `(a|b)` optionally one of
 * them (half the time); `{x}` the entity, `{os}` the system, `{env}` the environment.
 */
import { seededRandom } from '../../test/fixtures/seededRandom';
import { pick } from './seeded';
import type { Query } from './streams';

/** Each topic's spellings; the first names it. */
const TOPICS: readonly string[][] = [
  ['docker'],
  ['kubernetes', 'k8s'],
  ['postgresql', 'postgres'],
  ['mysql'],
  ['mongodb', 'mongo'],
  ['redis'],
  ['nginx'],
  ['apache', 'apache httpd'],
  ['git'],
  ['python', 'python 3'],
  ['node.js', 'node', 'nodejs'],
  ['java', 'the jdk'],
  ['rust'],
  ['golang', 'go'],
  ['vs code', 'vscode', 'visual studio code'],
  ['vim'],
  ['emacs'],
  ['chrome', 'google chrome'],
  ['firefox'],
  ['slack'],
  ['zoom'],
  ['excel', 'microsoft excel'],
  ['photoshop'],
  ['blender'],
  ['spotify'],
  ['steam'],
  ['virtualbox'],
  ['terraform'],
  ['ansible'],
  ['jenkins'],
  ['kafka', 'apache kafka'],
  ['elasticsearch', 'elastic search'],
  ['grafana'],
  ['prometheus'],
  ['wordpress'],
  ['django'],
  ['react'],
  ['tensorflow'],
  ['pytorch'],
  ['anaconda', 'conda'],
];

const SLOTS = {
  os: {
    linux: ['linux', 'ubuntu', 'debian'],
    windows: ['windows', 'windows 10', 'windows 11', 'win10'],
    mac: ['mac', 'macos', 'os x', 'macbook'],
  },
  env: {
    production: ['production', 'prod', 'a production environment', 'a production server'],
    development: ['development', 'local development', 'dev', 'a dev machine'],
    testing: ['testing', 'tests', 'a test environment', 'ci'],
  },
} as const;

interface Intent {
  name: string;
  slot?: keyof typeof SLOTS;
  templates: string[];
}

const INTENTS: readonly Intent[] = [
  {
    name: 'install',
    slot: 'os',
    templates: [
      'how [do|can|should] i [install|set up|get] {x} on {os}',
      '[installing|setting up] {x} on {os}',
      'what is the [best|easiest|simplest] way to [install|set up] {x} on {os}',
      'steps to [install|set up] {x} on {os}',
      '{x} [installation|install|setup] [guide|instructions|steps] for {os}',
      'i want to [install|set up] {x} on my {os} [machine|laptop|computer]',
      'can you [walk me through|explain] [installing|setting up] {x} on {os}',
      'on {os}, how do i [install|get] {x}',
      '[install|setup] {x} {os}',
    ],
  },
  {
    name: 'uninstall',
    slot: 'os',
    templates: [
      'how [do|can|should] i [uninstall|remove|get rid of] {x} on {os}',
      '[uninstalling|removing] {x} on {os}',
      'what is the [best|easiest|cleanest] way to [uninstall|remove] {x} (completely) on {os}',
      'steps to [uninstall|remove] {x} from {os}',
      '{x} [uninstall|removal] [guide|instructions|steps] for {os}',
      'i want to [uninstall|remove] {x} from my {os} [machine|laptop|computer]',
      'on {os}, how do i [uninstall|remove] {x}',
      '[uninstall|remove] {x} {os}',
    ],
  },
  {
    name: 'slow',
    templates: [
      'why is {x} so slow',
      '{x} is [really|very|super|extremely] slow',
      'how [can|do] i make {x} [faster|run faster|quicker]',
      '[speed up|speeding up] {x}',
      '{x} [performance|speed] is [terrible|awful|bad|poor]',
      '{x} [runs|is running] slow(ly), [any tips|what can i do|how to fix]',
      'tips to improve {x} performance',
      'my {x} [got|became] slow, [why|what happened]',
    ],
  },
  {
    name: 'memory',
    templates: [
      'why is {x} using so much [memory|ram]',
      '{x} uses too much [memory|ram]',
      'how [can|do] i [reduce|lower|limit] {x} [memory|ram] usage',
      '{x} [memory|ram] usage is [huge|too high|crazy]',
      'my {x} [eats|takes] all my [memory|ram]',
      '[limit|cap] the [memory|ram] {x} uses',
    ],
  },
  {
    name: 'what-is',
    templates: [
      'what is {x}',
      "what's {x}",
      '[explain|describe] {x} (to me) (briefly|simply)',
      'can you [explain|tell me] what {x} is',
      'what [exactly|actually] is {x}',
      '{x}: what is it (and what is it for)',
      'give me [an overview|a summary|an introduction] of {x}',
      'i keep hearing about {x}, what is it',
      '[define|definition of] {x}',
    ],
  },
  {
    name: 'written-in',
    templates: [
      'what is {x} written in',
      'what [language|programming language] is {x} written in',
      'which language [is|was] {x} [written|implemented|built] in',
      'what is {x} [implemented|coded] in',
      '{x} source code language',
      'what language did they use to [write|build] {x}',
    ],
  },
  {
    name: 'configure',
    slot: 'env',
    templates: [
      'how [do|should] i configure {x} for {env}',
      '[best|recommended] {x} [settings|configuration|config] for {env}',
      '[configuring|setting up] {x} for {env}',
      '{x} [config|configuration] for {env}',
      'what [settings|options] should i use for {x} in {env}',
      '[tune|tuning] {x} for {env}',
      'how to [prepare|configure] {x} (properly) for {env}',
    ],
  },
  {
    name: 'wont-start',
    templates: [
      "{x} [won't|will not|does not|doesn't] start",
      '{x} fails to start',
      "[can't|cannot|unable to] start {x}",
      "{x} [is not|isn't] starting (up)",
      "why [won't|doesn't] {x} start",
      '{x} refuses to start',
      '{x} crashes [on startup|when starting|at launch]',
      "[help|please help], {x} won't [start|launch|open]",
    ],
  },
  {
    name: 'wont-stop',
    templates: [
      "{x} [won't|will not|does not|doesn't] stop",
      '{x} fails to stop',
      "[can't|cannot|unable to] stop {x}",
      "{x} [is not|isn't] stopping",
      "why [won't|doesn't] {x} stop",
      '{x} refuses to [stop|shut down|quit]',
      '{x} hangs [on shutdown|when stopping|on exit]',
      '[how do i|how to] force {x} to [stop|quit|shut down]',
    ],
  },
  {
    name: 'enable-logging',
    templates: [
      'how [do|can] i [enable|turn on|switch on] [logging|logs|debug logging] in {x}',
      '[enable|turn on] {x} [logging|logs|debug logs]',
      '{x} [enable|turn on] [logging|verbose logging]',
      'where do i [enable|activate] logging for {x}',
      'i need {x} to [write|produce|output] (debug) logs',
      '[make|get] {x} log (more) [details|output|info]',
    ],
  },
  {
    name: 'disable-logging',
    templates: [
      'how [do|can] i [disable|turn off|switch off] [logging|logs|debug logging] in {x}',
      '[disable|turn off] {x} [logging|logs|debug logs]',
      '{x} [disable|turn off|stop] [logging|verbose logging]',
      'where do i [disable|deactivate] logging for {x}',
      'i need {x} to stop [writing|producing|outputting] (debug) logs',
      '[make|get] {x} log less',
    ],
  },
  {
    name: 'update',
    templates: [
      'how [do|can] i [update|upgrade] {x} (to the [latest|newest] version)',
      '[update|upgrade|updating|upgrading] {x}',
      '[steps|instructions] to [update|upgrade] {x}',
      '{x} [upgrade|update] [guide|instructions|steps]',
      'what is the [safest|easiest|best] way to [update|upgrade] {x}',
      'i want to [update|upgrade] my {x} (installation)',
    ],
  },
  {
    name: 'downgrade',
    templates: [
      'how [do|can] i [downgrade|roll back] {x} (to an [older|earlier|previous] version)',
      '[downgrade|downgrading] {x}',
      '[steps|instructions] to [downgrade|roll back] {x}',
      '{x} [downgrade|rollback] [guide|instructions|steps]',
      'what is the [safest|easiest|best] way to [downgrade|roll back] {x}',
      'i want to [revert|downgrade] my {x} to an [older|earlier|previous] [version|release]',
    ],
  },
  {
    name: 'autostart-on',
    templates: [
      'how [do|can] i make {x} start automatically [at boot|on startup|when my computer starts]',
      '[start|run|launch] {x} automatically [at boot|on startup|on login]',
      '{x} [autostart|auto start|start on boot]',
      '[enable|turn on] {x} [autostart|automatic start] (at boot)',
      'i want {x} to [start|launch|run] [by itself|automatically] [at boot|on startup]',
    ],
  },
  {
    name: 'autostart-off',
    templates: [
      'how [do|can] i stop {x} from starting automatically [at boot|on startup|when my computer starts]',
      '[stop|prevent] {x} from [starting|launching|running] automatically [at boot|on startup|on login]',
      "{x} [disable autostart|don't start on boot]",
      '[disable|turn off] {x} [autostart|automatic start] (at boot)',
      "i don't want {x} to [start|launch|run] [by itself|automatically] [at boot|on startup]",
    ],
  },
];

const PREFIXES = ['hey, ', 'quick question: ', 'hi, ', 'please, ', 'so ', 'ok so ', 'question: ', 'help: '];
const SUFFIXES = [' please', ' thanks', ' thx', ' asap', ' (urgent)', ' any ideas', ' anyone'];

/** One label: a topic, an intent and, for intents with a slot, its value. */
export interface IntentLabel {
  topic: readonly string[];
  intent: Intent;
  slot?: { spellings: readonly string[]; value: string };
  name: string;
}

export function intentLabels(): IntentLabel[] {
  const labels: IntentLabel[] = [];
  for (const topic of TOPICS) {
    for (const intent of INTENTS) {
      if (!intent.slot) {
        labels.push({ topic, intent, name: `${topic[0]}|${intent.name}` });
        continue;
      }
      for (const [value, spellings] of Object.entries(SLOTS[intent.slot]))
        labels.push({ topic, intent, slot: { value, spellings }, name: `${topic[0]}|${intent.name}|${value}` });
    }
  }
  return labels;
}

/** Expands `[a|b]` and `(a|b)` in a template (no nesting). */
export function expandTemplate(template: string, random: () => number): string {
  return template
    .replace(/\[([^\]]*)\]/g, (_, options: string) => pick(options.split('|'), random))
    .replace(/\(([^)]*)\)/g, (_, options: string) => (random() < 0.5 ? pick(options.split('|'), random) : ''))
    .replace(/\s+/g, ' ')
    .replace(/\s+([,:])/g, '$1')
    .trim();
}

/** One small typo in a word of at least four letters: two letters swapped, one dropped or one doubled. */
export function withTypo(text: string, random: () => number): string {
  const words = [...text.matchAll(/[a-z]{4,}/g)];
  if (words.length === 0) return text;
  const word = pick(words, random);
  const at = word.index + 1 + Math.floor(random() * (word[0].length - 2));
  const kind = Math.floor(random() * 3);
  const changed =
    kind === 0
      ? text.slice(0, at) + text[at + 1] + text[at] + text.slice(at + 2)
      : kind === 1
        ? text.slice(0, at) + text.slice(at + 1)
        : text.slice(0, at) + text[at] + text.slice(at);
  return changed;
}

/** One paraphrase of a label: a template, its alternatives, the spellings, then casual noise. */
export function paraphrase(label: IntentLabel, random: () => number): string {
  let text = expandTemplate(pick(label.intent.templates, random), random)
    .replace('{x}', pick(label.topic, random))
    .replace(label.intent.slot === 'os' ? '{os}' : '{env}', label.slot ? pick(label.slot.spellings, random) : '');
  if (random() < 0.3) text = pick(PREFIXES, random) + text;
  if (random() < 0.3) text += pick(SUFFIXES, random);
  if (random() < 0.25) text = withTypo(text, random);
  if (random() < 0.5) text = text[0]!.toUpperCase() + text.slice(1);
  if (random() < 0.6) text += '?';
  return text;
}

/** `count` queries with Zipf popularity over the labels (weight 1/rank, ranks in a seeded random order). */
export function intentQueries(count: number, seed: number, exponent = 1): { queries: Query[]; labels: IntentLabel[] } {
  const random = seededRandom(seed);
  const labels = intentLabels();
  const ranked = labels.map((_, i) => i);
  for (let i = ranked.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ranked[i], ranked[j]] = [ranked[j]!, ranked[i]!];
  }
  const cumulative: number[] = [];
  let total = 0;
  ranked.forEach((_, rank) => cumulative.push((total += 1 / (rank + 1) ** exponent)));
  const queries: Query[] = [];
  for (let q = 0; q < count; q++) {
    const u = random() * total;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cumulative[mid]! < u) low = mid + 1;
      else high = mid;
    }
    const label = ranked[low]!;
    queries.push({ text: paraphrase(labels[label]!, random), label });
  }
  return { queries, labels };
}
