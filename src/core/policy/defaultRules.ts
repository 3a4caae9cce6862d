import type { PatternRule, PolicyConfig } from './policyTypes';

/*
 * The default detectors, in English and Russian. Each is a regular expression a
 * team can read, switch off, or add to in its settings; `unless` lists the hard
 * negatives that veto it (a question that merely mentions the word).
 *
 * JavaScript's \b only knows ASCII letters, so Russian words are bounded with
 * lookarounds on \p{L} instead (S and E below).
 */

/** A word boundary that also works for Cyrillic: not preceded by a letter, digit or underscore. */
const S = '(?<![\\p{L}\\p{N}_])';
/** The matching end boundary. */
const E = '(?![\\p{L}\\p{N}_])';
/** A short stretch of the same sentence. */
const gap = (max: number) => `[^.?!\\n]{0,${max}}?`;

/** Questions about a concept, not requests for fresh or personal data. */
const CONCEPTUAL_EN = `\\b(what (is|are) (an?|the)? ?(definition|meaning|concept|difference)|what (is|are) (a|an)\\b|what does .{0,40} mean|how (do|does|are|is|did|can) (an? |the )?[a-z -]{0,30}\\b(work|works|determined|calculated|set|formed|made|affect|influence|measured)|explain (the )?(concept|idea|difference|how|why)|why (do|does|did|are|is)|history of|in (ancient|medieval)|the difference between)\\b`;
const CONCEPTUAL_RU = `${S}(что такое|что значит|что означает|как работает|как работают|как устроен|как формируется|как формируются|как определяется|от чего зависит|от чего зависят|почему|зачем|объясни принцип|в чём разница|в чем разница|история)${E}`;

// ---------------------------------------------------------------- code generation

const CODE_NOUNS_EN =
  'functions?|methods?|class(es)?|scripts?|programs?|snippets?|modules?|components?|endpoints?|regex(es)?|regular expressions?|(sql )?quer(y|ies)|unit tests?|tests? (for|covering)|test suites?|algorithms?|code|cli( tool)?|dockerfile|docker-?compose(\\.ya?ml)?|compose file|makefile|(github actions|ci) workflows?|workflow file|pipeline (config|file)|nginx (config|server block|location block)|server block|(kubernetes|k8s) (manifest|deployment|yaml|service)|helm chart|terraform|systemd (unit|service)|crontab (entry|line)|cron (job|entry|expression for)|(yaml|json|toml|ini|config(uration)?) files?|webpack config|tsconfig|\\.gitignore|bash|shell( script)?|one-liners?|lambdas?|decorators?|hooks?|handlers?|parsers?|scrapers?|bots?|api|web ?server|crud|migrations?|schemas?|stored procedures?|triggers?|struct|interface|enum|implementation';
const LANGUAGES_EN = 'go|python|java|javascript|typescript|golang|rust|c\\+\\+|c#|kotlin|swift|ruby|php|sql|bash|powershell|haskell|scala|elixir|lua|perl|dart|react|vue|node(\\.js)?|numpy|pandas|django|flask|spring|express';
const CODE_NOUNS_RU = `функци\\p{L}*|метод\\p{L}*|класс\\p{L}*|скрипт\\p{L}*|программ\\p{L}*|код\\p{L}*|запрос\\p{L}*|регулярк\\p{L}*|регулярн\\p{L}* выражени\\p{L}*|тест\\p{L}*|алгоритм\\p{L}*|модул\\p{L}*|компонент\\p{L}*|обработчик\\p{L}*|парсер\\p{L}*|бот\\p{L}*|эндпоинт\\p{L}*|миграци\\p{L}*|конфиг\\p{L}*|makefile|dockerfile|docker-compose|sql|bash|yaml`;
/** Russian imperatives that ask for code to change, one per line. */
const EDIT_VERBS_RU = [
  'добавь', 'добавьте', 'переименуй', 'переименуйте', 'исправь', 'исправьте', 'перепиши', 'перепишите',
  'удали', 'удалите', 'убери', 'уберите', 'вынеси', 'вынесите', 'замени', 'замените', 'обнови', 'обновите',
  'отрефактори', 'отрефакторь', 'сделай', 'сделайте', 'поменяй', 'поменяйте', 'измени', 'измените',
  'реализуй', 'реализуйте', 'создай', 'создайте', 'напиши', 'напишите', 'перенеси', 'перенесите',
  'подключи', 'подключите', 'настрой', 'настройте', 'почини', 'почините', 'поправь', 'поправьте',
  'внедри', 'оберни', 'разбей', 'объедини', 'покрой', 'допиши', 'дополни', 'оптимизируй', 'вставь', 'пропиши',
].join('|');

/** Asking what code means or does is cacheable: the same code gets the same explanation. */
const EXPLAIN_ONLY = `(?<![\\s\\S])(?![\\s\\S]*\\b(fix|refactor|rewrite|optimi[sz]e|improve|debug|convert|port|translate|turn|make|add|change|modify|update|complete|finish|extend|vectori[sz]e|rename|replace|split|merge|wrong|error|bug|broken|fails?|crash|exception|doesn'?t work|not working)\\b)[\\s\\S]*\\b(explain|what does|what do|what is|what are|describe|walk me through|how does|meaning of|summari[sz]e|review|does (this|the) (code|function|query|diff|snippet|method|class) (have|contain|leak)|is (this|it|the [\\w ]{1,40}) (correct|safe|secure|thread-safe|race-free|idiomatic|efficient))\\b|${S}(объясни|что делает|что означает|что значит|как работает|опиши|расскажи, что)${E}(?![\\s\\S]*${S}(исправь|почини|перепиши|поправь|переделай|оптимизируй|добавь|ошибк\\p{L}*|не работает)${E})`;

/** Words as a sentence may start them, for the case-sensitive patterns below: each word's first letter in either case. */
const eitherCase = (words: readonly string[]): string =>
  words.map((word) => (/^[a-z]/.test(word) ? `[${word[0]!.toUpperCase()}${word[0]}]${word.slice(1)}` : word)).join('|');

/** Where an imperative starts: the text's start, a sentence's, or after "please", "can you", "and". */
const IMPERATIVE_START_EN = `(?:(?<![\\s\\S])\\s*|[.!?;]\\s+|\\n\\s*|\\b(?:${eitherCase(['please', 'pls', 'kindly', 'now', 'also', 'then', 'and', 'just'])})\\s+|\\b(?:${eitherCase(['can', 'could', 'would', 'will'])}) you(?: please)?\\s+)`;

/**
 * One of `verbs` where an imperative starts. The verb is matched first and its start checked
 * behind it (a lookbehind tried at every position of a long prompt costs more than the
 * whole rest of the policy); spans start at the verb.
 */
const imperative = (verbs: string, start = IMPERATIVE_START_EN): string => `\\b(?:${verbs})(?<=${start}(?:${verbs}))`;

/** Verbs that ask for code or files to change, one per line. */
const EDIT_VERBS_EN = eitherCase([
    'refactor', 'rename', 'add', 'remove', 'delete', 'drop', 'fix', 'update', 'change', 'modify', 'move', 'extract',
    'replace', 'rewrite', 'convert', 'migrate', 'implement', 'create', 'make', 'introduce', 'split', 'merge',
    'wire(?: up)?', 'hook up', 'bump', 'upgrade', 'downgrade', 'port', 'inline', 'simplify', 'optimi[sz]e',
    'clean up', 'document', 'generate', 'set up', 'configure', 'patch', 'wrap', 'switch', 'turn', 'write', 'put',
    'insert', 'append', 'register', 'expose', 'enable', 'disable', 'pin', 'increase', 'decrease', 'reduce',
    'validate', 'mock', 'stub', 'cover', 'harden', 'parameteri[sz]e', 'deduplicate', 'dedupe', 'reorder', 'sort',
]);

/**
 * What an edit is aimed at: a file or path, a symbol in code's own spelling (camelCase,
 * PascalCase, snake_case, a call), the failing test, or "everywhere". Case-sensitive: a
 * symbol is told from a word by its capitals.
 */
const EDIT_TARGETS_EN = [
  // a file name or a path
  '[\\w@~./-]*\\.(?:tsx?|jsx?|mjs|cjs|py|go|rs|java|kt|rb|php|cs|cpp|cc|hpp|swift|sql|ya?ml|json|toml|ini|md|sh|env|html|css|scss|vue|svelte|gradle|tf|proto)\\b',
  '(?<![\\w/])[\\w@~.-]+\\/[\\w./-]+',
  '\\b(?:[Dd]ockerfile|[Mm]akefile|docker-compose|package\\.json|README|readme)\\b',
  // a symbol as code spells it
  '\\b[a-z]+[A-Z][A-Za-z0-9]*\\b',
  '\\b[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*\\b',
  '\\b[a-z][a-z0-9]*_[a-z0-9_]+\\b',
  '\\b\\w+\\(\\)',
  // the project's parts
  '\\b(?:the |a |an |this |that )?(?:failing|broken|flaky) tests?\\b',
  '\\beverywhere\\b',
  '\\b(?:in|across) the (?:codebase|project|repo(?:sitory)?|app)\\b',
  '\\b(?:endpoint|route|handler|migration|healthcheck|service|column|index|middleware|logging|docstrings?|JSDoc|jsdoc|type hints|unit tests?|tests?)\\b',
].join('|');

const CODE_GENERATION: PatternRule[] = [
  {
    id: 'code-block',
    // A prompt carrying code asks for it to be changed, unless it only asks what the code means
    // (the question's own words decide: a "fix" in the pasted code is not the user asking for one).
    pattern: '```[\\s\\S]*?```',
    context: 'attached-code',
    unless: [EXPLAIN_ONLY],
  },
  {
    id: 'attached-code-edit',
    // Code a tool attached (a selection, a mentioned file) and an imperative aimed at it: "make it faster".
    pattern: `${imperative(EDIT_VERBS_EN)}\\b${gap(60)}\\b(?:it|this|that|these|them|here|the (?:code|function|selection|file|snippet|query|class|method|component|test))\\b`,
    caseSensitive: true,
    context: 'attached-code',
    unless: ["\\b(?:don'?t|do not|never|without)\\s+(?:change|modify|edit|touch|fix)\\b"],
  },
  {
    id: 'write-code',
    pattern: `\\b(write|create|generate|implement|code( up)?|build|make|give me|show me|produce|draft|scaffold|set up|need|want|turn|convert|port)\\b${gap(60)}\\b(${CODE_NOUNS_EN})\\b`,
    unless: [`\\b(what (is|are)|what does|explain( what| how)?|definition of)\\b${gap(40)}\\b(${CODE_NOUNS_EN})\\b(?!${gap(60)}\\b(write|implement|generate)\\b)`],
  },
  {
    id: 'code-noun-request',
    // A request phrased as the thing wanted: "a small Go program that…", "bash one-liner to…".
    pattern: `(?<![\\s\\S])\\s*(please,? )?(an? |the |some )?([\\w+#.-]+ ){0,3}?(${CODE_NOUNS_EN}|(${LANGUAGES_EN}) (code|version))( \\w+)? (that|which|to|for|in|with|using)\\b`,
    unless: [CONCEPTUAL_EN],
  },
  {
    id: 'implement',
    pattern: `(?<![\\s\\S])\\s*(please,? )?(implement|code up|scaffold)\\b`,
  },
  {
    id: 'code-in-language',
    pattern: `\\b(write|implement|code|create|generate|program|solve|port|translate|convert|rewrite|show me how to|decode|parse|serialize)\\b${gap(60)}\\b(in|using|to|into|with) (an? )?(${LANGUAGES_EN})\\b`,
  },
  {
    id: 'how-would-code-look',
    pattern: `\\bhow (would|does|should|will) (the |a |an |that )?[\\w ]{0,20}\\b(sql|query|regex|code|script|function|config|yaml|command)\\b[\\w ]{0,12}\\b(look|be written)\\b`,
  },
  {
    id: 'edit-code',
    pattern: `\\b(fix|refactor|rewrite|optimi[sz]e|debug|clean up|simplify|speed up|convert|port|translate|modernize|complete|finish|extend|update|modify|change|vectori[sz]e)\\b${gap(40)}\\b(this|the|my|following|below|attached)\\b${gap(20)}\\b(${CODE_NOUNS_EN})\\b`,
  },
  {
    id: 'add-to-code',
    pattern: `\\badd (unit )?(tests?|type hints|types|typings|error handling|logging|docstrings|comments|validation|retries|a (method|function|field|column|endpoint|parameter|route))\\b|\\btype hints for\\b`,
  },
  {
    id: 'edit-target',
    // An imperative aimed at a file, a path or a symbol: "Refactor src/db/pool.ts to use a singleton",
    // "rename getUser to findUserById everywhere", "Fix the failing test".
    pattern: `${imperative(EDIT_VERBS_EN)}\\b${gap(120)}(?:${EDIT_TARGETS_EN})`,
    caseSensitive: true,
    ignoreQuoted: true,
    unless: ["\\b(?:don'?t|do not|never|without)\\s+(?:change|modify|edit|touch|fix|write)\\b"],
  },
  {
    id: 'fix-it',
    // "The users test is failing, please fix it."
    pattern: `${imperative(eitherCase(['fix', 'repair', 'resolve']))}\\s+(?:it|them|this|that)\\b`,
    caseSensitive: true,
    requires: ['\\b(?:fail\\w*|broken|error\\w*|bug\\w*|crash\\w*|wrong|not working|doesn\'?t work)\\b'],
    unless: ["\\b(?:don'?t|do not|never|without)\\s+(?:change|modify|edit|touch|fix)\\b"],
  },
  {
    id: 'write-code-ru',
    pattern: `${S}(напиши|напишите|написать|создай|создайте|сгенерируй|сгенерируйте|реализуй|реализуйте|реализовать|сделай|сделайте|набросай|накидай|составь|составьте|нужен|нужна|нужно|нужны|дай)${E}${gap(60)}${S}(${CODE_NOUNS_RU})`,
    unless: [`${S}(что такое|что значит|объясни, что)${E}`],
  },
  {
    id: 'edit-code-ru',
    pattern: `${S}(исправь|исправьте|почини|почините|поправь|поправьте|отрефактори|отрефакторь|перепиши|перепишите|переделай|переделайте|оптимизируй|оптимизируйте|переведи|конвертируй|доработай|допиши|дополни|добавь|покрой)${E}${gap(60)}${S}(${CODE_NOUNS_RU}|тест\\p{L}*|обработк\\p{L}* ошибок|логировани\\p{L}*|тип\\p{L}*|на (rust|go|python|typescript|javascript|java|kotlin|c\\+\\+|c#|swift))`,
  },
  {
    id: 'edit-target-ru',
    // An imperative aimed at code: in a Russian request, a word in Latin letters is a file, a symbol or a tool.
    pattern: `${S}(?:${EDIT_VERBS_RU})(?<=(?:(?<![\\s\\S])\\s*|[.!?;]\\s+|\\n\\s*|${S}(?:пожалуйста|и|а|затем|потом|также|ещё|еще),?\\s+)(?:${EDIT_VERBS_RU}))${E}${gap(120)}(?:[A-Za-z_@/][\\w./@-]*|${S}везде${E}|${S}(?:в|во) всём проекте${E}|${S}(?:пада\\p{L}*|сломанн\\p{L}*) тест\\p{L}*)`,
    ignoreQuoted: true,
    unless: [`${S}(?:ничего не (?:меняй|трогай|исправляй)|не (?:меняй|трогай|исправляй))${E}`],
  },
  {
    id: 'how-would-code-look-ru',
    pattern: `${S}как (будет )?выгляд\\p{L}*${E}${gap(20)}${S}(запрос\\p{L}*|код\\p{L}*|функци\\p{L}*|скрипт\\p{L}*|регулярк\\p{L}*|конфиг\\p{L}*)`,
  },
];

// ---------------------------------------------------------------- time sensitive

const TIME_SENSITIVE: PatternRule[] = [
  {
    id: 'relative-day',
    pattern: `\\b(today|today's|tonight|tonight's|tomorrow|tomorrow's|yesterday|yesterday's|this (morning|afternoon|evening|week|weekend|month|year|quarter|season)|next (week|weekend|month|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|last (night|week|weekend|month)|right now|at the moment|as of (now|today|this)|currently|so far this)\\b`,
    unless: ['`[^`]*\\b(today|now)\\b[^`]*`', '\\b(today|now|tomorrow)\\s*\\(', "\\b(date\\.today|datetime\\.now)\\b"],
  },
  {
    id: 'current-thing',
    pattern: `\\b(current|latest|recent|most recent|upcoming|newest|newer|live|ongoing)\\b\\s+(\\w+\\s+){0,2}?(news|weather|forecast|prices?|rates?|scores?|standings|events?|version|release|status|president|prime minister|ceo|leader|champion|winner|final|temperature|traffic|time|date|trends?|developments|updates?|headlines|polls?|elections?|situation|conditions|outbreaks?|results?|rankings?|schedule|fixtures|state( of the art)?|lts)\\b`,
    unless: ['\\b(electric(al)?|alternating|direct|ac|dc)\\s+current\\b', '\\bcurrent\\s+(flow|density|source|divider|law|limit(ing|er)?)\\b'],
  },
  {
    id: 'weather',
    pattern: `\\b(weather|forecast|temperature outside|is it (going to )?(rain|snow)(ing)?|will it (rain|snow|be (sunny|cold|hot|warm|windy|freezing)))\\b`,
    unless: [CONCEPTUAL_EN, '\\b(weather forecasting|forecasting models?|climate|usually|typical(ly)?|on average|in general|was|were|during)\\b'],
  },
  {
    id: 'next-event',
    pattern: `\\b(next|upcoming|coming)\\s+(\\w+\\s+){0,2}?(launch(es)?|games?|match(es)?|races?|elections?|eclipses?|full moon|episodes?|releases?|events?|meetings?|flights?|trains?|bus(es)?|holidays?|concerts?|tournaments?|sales?|drops?|earnings|fixtures?)\\b`,
  },
  {
    id: 'clock',
    pattern: `\\bwhat(?:'s| is)? (the )?(time|date|day( of the week)?|year)( is it)?\\b(?! (complexity|zone|format|value|function|type))|\\bwhat time is it\\b|\\bwhat day is (it|today)\\b`,
  },
  {
    id: 'news',
    pattern: `\\b(latest|breaking|recent|today's|this week's)\\s+(news|headlines|stories|announcements|reports)\\b|\\bwhat(?:'s| is) (new|happening|going on)\\b( in| with| at)|\\btrending\\b`,
    unless: [CONCEPTUAL_EN],
  },
  {
    id: 'still-or-yet',
    pattern: `\\bhow (long|many (days|weeks|hours|months|minutes))\\b[^.?!\\n]{0,20}\\b(until|till|before|left)\\b|\\bhow much longer\\b|\\b(days|weeks|hours) (until|left (until|before)|till)\\b|\\bis (it|the [\\w -]{1,30}) still\\b|\\bstill (open|alive|available|running|down|in office|on sale|happening)\\b|\\b(yet|already)\\s*\\?\\s*$|\\bhas (the )?[\\w -]{1,30} (been (released|announced|launched|approved|published|confirmed|cancell?ed)|(made landfall|ended|started|begun|finished))\\b|\\bis [\\w.-]{2,25} (down|offline|out)( right now| for everyone| today)?\\s*\\?`,
  },
  {
    id: 'live-status',
    pattern: `\\b(what'?s|what is) the score\\b|\\bscore (in|of) (the|tonight'?s|today'?s) [\\w -]{1,30}(game|match)\\b|\\bany (delays|disruptions|closures|cancellations|outages)\\b|\\btraffic (on|in|near)\\b|\\bwho(?:'s| is) (winning|leading|ahead|wearing the yellow jersey)\\b|\\bafter the (last|latest) (stage|round|race|game)\\b`,
  },
  {
    id: 'office-holder',
    // Who holds an office changes: "who is the CEO of OpenAI" has a date on it.
    pattern: `\\bwho(?:'s| is) (the )?(current )?(ceo|cto|president|vice president|prime minister|chancellor|head|leader|owner|coach|manager|chair(man|woman|person)?|mayor|governor|pope|king|queen|secretary[- ]general|speaker|champion|world champion|number one)\\b( of| at| for|$)`,
    unless: ['\\b(first|founding|original|former|19th|20th|18th)\\b'],
  },
  {
    id: 'relative-day-ru',
    pattern: `${S}(сегодня|сегодняшн\\p{L}*|завтра|завтрашн\\p{L}*|вчера|вчерашн\\p{L}*|сейчас|на данный момент|в данный момент|в настоящее время|на сегодняшний день|на этой неделе|на следующей неделе|на прошлой неделе|в эти выходные|в этом (месяце|году|сезоне)|в следующем (месяце|году)|нынешн\\p{L}*|текущ\\p{L}*|актуальн\\p{L}*|ближайш\\p{L}*)${E}`,
    unless: [`${S}(электрическ\\p{L}* ток|сил\\p{L}* тока|здесь и сейчас)${E}`],
  },
  {
    id: 'news-ru',
    pattern: `${S}(последни\\p{L}*|свеж\\p{L}*|новы\\p{L}*)\\s+(новост\\p{L}*|событи\\p{L}*|данны\\p{L}*)|${S}(новост\\p{L}*)${E}${gap(30)}${S}(сегодня|недел\\p{L}*|последн\\p{L}*)|${S}(что нового|какие новости)${E}|${S}последн\\p{L}* (верси\\p{L}*|релиз\\p{L}*|обновлени\\p{L}*)`,
  },
  {
    id: 'live-status-ru',
    pattern: `${S}(какой сч[её]т|сч[её]т в матче|пробк\\p{L}*|задержк\\p{L}* (рейс\\p{L}*|поезд\\p{L}*|электрич\\p{L}*)|у всех лежит|лежит у всех|упал ли|не работает ли|работает ли сейчас|идёт ли сейчас|идет ли сейчас|кто (сейчас |сегодня )?(президент|премьер\\p{L}*|глава|руководител\\p{L}*|генеральн\\p{L}* директор|мэр|губернатор|тренер|чемпион))${E}`,
    unless: [CONCEPTUAL_RU],
  },
  {
    id: 'weather-ru',
    pattern: `${S}(погод\\p{L}*|прогноз\\p{L}* погоды|будет ли дождь|пойдёт ли снег|пойдет ли снег)${E}`,
    unless: [CONCEPTUAL_RU, `${S}(была|было|были|во время|обычно|в среднем|климат\\p{L}*)${E}`],
  },
  {
    id: 'clock-ru',
    pattern: `${S}(который час|сколько (сейчас )?времени|какое (сегодня )?число|какой (сегодня )?день( недели)?|какой сейчас год|сколько дней (до|осталось))${E}`,
  },
];

// ---------------------------------------------------------------- personalized

const PERSONAL_NOUNS_EN =
  "accounts?|calendar|schedule|agenda|inbox|e-?mails?|mail|messages|orders?|order history|balance|bank( account)?|subscriptions?|plan|profile|settings|files?|documents?|folder|drive|photos|contacts|meetings?|appointments?|reservations?|bookings?|tickets?|flights?|deliver(y|ies)|packages?|parcels?|shipments?|invoices?|bills?|payments?|transactions?|statements?|purchases?|cart|wishlist|notifications|tasks|to-?do( list)?|reminders?|notes|location|address|ip( address)?|devices?|repo(sitory)?|pull requests|prs|reviews?|tickets|jira|slack|manager|boss|salary|payslips?|benefits|insurance|prescriptions?|test results|results|credit score|points|rewards|cashback|usage|quota|license|data|history|activity|progress|grades?|homework|deadlines?|spending|expenses|budget|portfolio|holdings|team's|calls|voicemails?|timesheet|leave|vacation days|pto|refund|claim|application|mentions";

const PERSONALIZED: PatternRule[] = [
  {
    id: 'my-data',
    pattern: `\\b(my|our)\\s+(\\w+\\s+){0,2}?(${PERSONAL_NOUNS_EN})\\b`,
    unless: [
      "(?<![\\s\\S])\\s*(how (do|can|could|should|would|to) (i|we|you)?|how to|is it possible to|what(?:'s| is) the best way to|what happens if|should i)\\b",
      '\\b(oh my (god|gosh)|my fair lady)\\b',
    ],
  },
  {
    id: 'about-me',
    pattern: `\\b(how (many|much) [\\w' -]{0,30}\\b(do|did|have) i (have|got|left|spent|earned|owe|used)|do i have|(did|have) i (edit|edited|send|sent|write|wrote|save|saved|open|opened|book|booked|order|ordered|buy|bought|pay|paid|watch|watched|visit|visited|post|posted|share|shared|upload|uploaded|delete|deleted|change|changed|commit|committed|push|pushed|miss|missed|spend|spent|earn|earned|say|said|get|receive|score|pass)|am i (free|busy|available|scheduled|booked|registered|enrolled|on call)|(near|around|close to) me|nearby|where i am|how far am i|(assigned|sent|shared|addressed|owed|waiting) (to|with|for) me|(messages?|e-?mails?|mail|calls?|packages?|deliveries|notifications|mentions?|invites?) (for|to|of) me|mentions? of me|remind me|what did i|when did i|where did i|the [\\w -]{1,30} (that |which )?i (downloaded|sent|ordered|bought|booked|asked|wrote|saved|uploaded|received|requested|paid|got|made|created|opened|edited|submitted|applied)|what was the last thing i|who am i|where am i|what(?:'s| is) my (name|email|address|phone|username))\\b`,
  },
  {
    id: 'my-data-ru',
    pattern: `${S}(мой|моя|моё|мое|мои|моего|моей|моих|моим|моему|мою|моём|моем|наш|наша|наше|наши|нашего|нашей|наших|у меня)${E}\\s+(\\p{L}+\\s+){0,2}?(календар\\p{L}*|расписани\\p{L}*|аккаунт\\p{L}*|учётн\\p{L}*|учетн\\p{L}*|сч[её]т\\p{L}*|баланс\\p{L}*|заказ\\p{L}*|подписк\\p{L}*|почт\\p{L}*|письм\\p{L}*|встреч\\p{L}*|задач\\p{L}*|файл\\p{L}*|документ\\p{L}*|профил\\p{L}*|парол\\p{L}*|доставк\\p{L}*|посылк\\p{L}*|билет\\p{L}*|брон\\p{L}*|зарплат\\p{L}*|отпуск\\p{L}*|оценк\\p{L}*|напоминани\\p{L}*|репозитори\\p{L}*|карт\\p{L}*|платеж\\p{L}*|платёж\\p{L}*|покупк\\p{L}*|звонк\\p{L}*|тариф\\p{L}*|данны\\p{L}*|истори\\p{L}*|баллов|бонус\\p{L}*)`,
    unless: [`(?<![\\s\\S])\\s*(как|каким образом|можно ли)${E}`],
  },
  {
    id: 'about-me-ru',
    pattern: `${S}(напомни мне|напомни|что у меня|есть ли у меня|сколько у меня|когда у меня|где мой|где моя|где мои|кто я|мне (пришл\\p{L}*|звонил\\p{L}*|писал\\p{L}*|написал\\p{L}*|ответил\\p{L}*|нужно сделать)|(кто|что) мне (звонил|писал|пришло|прислал\\p{L}*)|сколько я (потратил\\p{L}*|заработал\\p{L}*|должен|должна|проехал\\p{L}*)|покажи (мне )?(мои |мою |моё |мой |последние )?(письм\\p{L}*|заказ\\p{L}*|встреч\\p{L}*|задач\\p{L}*|файл\\p{L}*|сообщени\\p{L}*|платеж\\p{L}*|платёж\\p{L}*|покупк\\p{L}*|операци\\p{L}*|транзакци\\p{L}*)|(которые|которую|который|что) я (отправил|отправила|получил|получила|заказал|заказала|купил|купила|написал|написала|сохранил|сохранила|скачал|скачала)|что я (заказывал|заказывала|покупал|покупала|купил|купила|отправил|отправила|писал|писала)|(ко мне|рядом со мной|возле меня|недалеко от меня)|(в|из) (моей )?переписк\\p{L}*|по (моей )?карте|(баллов|бонусов|кэшбэка|кешбэка) ${gap(20)}карт\\p{L}*)${E}`,
  },
];

// ---------------------------------------------------------------- financial

const CURRENCIES_EN = 'usd|eur|gbp|jpy|chf|cny|rmb|rub|inr|cad|aud|try|dollars?|euros?|pounds?( sterling)?|yen|yuan|rubles?|roubles?|rupees?|francs?|bitcoin|btc|ethereum|eth|dogecoin|doge|solana|sol|xrp|usdt|tether';
const ASSETS_EN = 'stocks?|shares?|equity|etfs?|index fund|crypto(currency|currencies)?|bitcoin|btc|ethereum|eth|solana|dogecoin|xrp|gold|silver|platinum|palladium|oil|crude|brent|wti|natural gas|copper|wheat|futures|s&p( ?500)?|nasdaq|dow( jones)?|ftse|dax|nikkei';
/** Words that pin a figure to the present, required around a rate so "what is an interest rate" stays cacheable. */
const NOW_EN = '(today|now|current|currently|this (week|morning|month)|latest|at the moment|these days|live)';
const NOW_RU = '(сейчас|сегодня|текущ\\p{L}*|актуальн\\p{L}*|на данный момент|нынешн\\p{L}*)';
const CURRENCIES_RU = 'доллар\\p{L}*|евро|рубл\\p{L}*|юан\\p{L}*|фунт\\p{L}*|иен\\p{L}*|франк\\p{L}*|тенге|гривн\\p{L}*|лир\\p{L}*|биткоин\\p{L}*|биткойн\\p{L}*';
const ASSETS_RU = 'акци\\p{L}*|биткоин\\p{L}*|биткойн\\p{L}*|эфир\\p{L}*|криптовалют\\p{L}*|нефт\\p{L}*|золот\\p{L}*|серебр\\p{L}*|облигаци\\p{L}*|индекс\\p{L}* (мосбиржи|ртс)';

const FINANCIAL: PatternRule[] = [
  {
    id: 'asset-price',
    pattern: `\\b(${ASSETS_EN})\\b${gap(30)}\\b(price|prices|quote|quotes|trading( at)?|worth|valued at|market cap|chart|today|now|right now|currently|at the moment|doing|reacting|performing|moving|at|above|below|over|under|per (gram|ounce|oz|barrel|troy ounce))\\b|\\b(price|quote|market cap|value)\\s+(of|for)\\s+${gap(30)}\\b(${ASSETS_EN})\\b|\\bhow(?:'s| is| are) (the )?(${ASSETS_EN}|markets?)\\b${gap(15)}\\b(doing|reacting|performing|trading|moving)\\b`,
    unless: [CONCEPTUAL_EN, '\\b(in (17|18|19)\\d\\d|in the (17|18|19)\\d\\ds|historically|all-time history)\\b'],
  },
  {
    id: 'ticker',
    // Tickers are upper case, and "meta" or "amd" in lower case are ordinary words.
    caseSensitive: true,
    pattern: `(\\$[A-Z]{1,5}\\b|\\b(NVDA|AAPL|MSFT|GOOGL?|AMZN|TSLA|META|NFLX|AMD|INTC|IBM|ORCL|CRM|UBER|SPY|QQQ|VOO|BTC|ETH|SOL|DOGE|XRP|BRK\\.?[AB])\\b)`,
    unless: ['\\b(what (is|are) (a|an)? ?(ticker|stock symbol)|ticker symbol for)\\b'],
  },
  {
    id: 'currency-pair',
    caseSensitive: true,
    pattern: `\\b(USD|EUR|GBP|JPY|CHF|CNY|RUB|INR|CAD|AUD|TRY|BTC|ETH)\\s?/\\s?(USD|EUR|GBP|JPY|CHF|CNY|RUB|INR|CAD|AUD|TRY|BTC|ETH|USDT)\\b`,
    unless: [CONCEPTUAL_EN],
  },
  {
    id: 'exchange-rate',
    pattern: `\\b(exchange|fx|forex|conversion|currency) rates?\\b${gap(30)}\\b(${CURRENCIES_EN}|today|now|current|currently|latest)\\b|\\b(${CURRENCIES_EN})\\s+(to|in|into|vs\\.?|versus|against)\\s+(the )?(${CURRENCIES_EN})\\b|\\b(current|today's|latest|live)\\s+(\\w+\\s+)?(exchange|fx|forex|conversion) rates?\\b|\\bhow much is \\d[\\d,.]*\\s*(${CURRENCIES_EN})\\b`,
    unless: [CONCEPTUAL_EN],
  },
  {
    id: 'live-figure',
    // Figures that only exist live: a market cap, a share price, a quote.
    pattern: `\\b(market cap(italization)?|share price|stock price|stock quote|trading at|trades at|up or down|futures (at|price))\\b`,
    unless: [CONCEPTUAL_EN, '\\bwhat (is|does) (a |the )?(market cap(italization)?|share price|stock price)( mean)?\\b'],
  },
  {
    id: 'conversion',
    pattern: `\\bhow many (${CURRENCIES_EN})\\b${gap(40)}\\b(${CURRENCIES_EN})\\b|\\b(convert|change)\\b${gap(20)}\\d[\\d,.]*\\s*(${CURRENCIES_EN})\\b`,
    unless: [CONCEPTUAL_EN],
  },
  {
    id: 'rates-today',
    pattern: '\\b((interest|mortgage|savings|deposit|loan|fed funds|ecb|prime|libor|sofr|treasury|bond|cd|key) (rates?|yields?)|yields? on (the )?[\\w -]{0,25}(treasur(y|ies)|bonds?|bunds?|gilts?)|sofr|euribor)\\b',
    requires: [`\\b${NOW_EN}\\b`],
  },
  {
    id: 'rates-ru',
    pattern: `${S}(ставк\\p{L}* (по )?(ипотек\\p{L}*|кредит\\p{L}*|вклад\\p{L}*|депозит\\p{L}*)|ключев\\p{L}* ставк\\p{L}*|доходност\\p{L}* (облигаци\\p{L}*|офз))${E}`,
    requires: [`${S}${NOW_RU}${E}`],
  },
  {
    id: 'conversion-ru',
    pattern: `${S}\\d[\\d\\s.,]*\\s*(${CURRENCIES_RU})${E}\\s+(в|на)\\s+(${CURRENCIES_RU})${E}|${S}по (текущему|сегодняшнему|нынешнему|актуальному) курсу${E}|${S}сколько (\\p{L}+ ){0,2}(${CURRENCIES_RU})${E}${gap(40)}${S}(${CURRENCIES_RU})${E}`,
    unless: [CONCEPTUAL_RU],
  },
  {
    id: 'price-ru',
    pattern: `${S}(курс\\p{L}*)${E}\\s+(\\p{L}+\\s+)?(${CURRENCIES_RU}|валют\\p{L}*|акци\\p{L}*|usd|eur|btc)|${S}(цен\\p{L}*|стоимост\\p{L}*|котировк\\p{L}*)${E}\\s+(\\p{L}+\\s+)?(${ASSETS_RU})|${S}сколько (\\p{L}+ ){0,2}сто(ит|ят)${E}${gap(30)}${S}(${ASSETS_RU}|доллар\\p{L}*|евро|баррел\\p{L}*|унци\\p{L}*)${E}|${S}(почём|почем|торгу\\p{L}*)${E}${gap(30)}${S}(${ASSETS_RU}|${CURRENCIES_RU})${E}`,
    unless: [CONCEPTUAL_RU],
  },
];

export const DEFAULT_POLICY: PolicyConfig = {
  highTemperature: { enabled: true, maxTemperature: 0.8, absentTemperature: 0, maxN: 1 },
  codeGeneration: { enabled: true, fillInTheMiddle: true, patterns: CODE_GENERATION },
  timeSensitive: { enabled: true, recentYears: 1, patterns: TIME_SENSITIVE },
  personalized: { enabled: true, userField: false, patterns: PERSONALIZED },
  financial: { enabled: true, patterns: FINANCIAL },
};
