import { Router, type Request, type Response } from 'express';
import { computeStats } from '../../core/metrics';
import { EmbeddingJudge } from '../../core/semantic/judge/answerJudge';
import { LlmJudge } from '../llmJudge';
import type { TeamTierStatus } from '../../core/team/teamTier';
import {
  ENDPOINTS,
  ENTRY_SORTS,
  STATS_WINDOW_MS,
  type EndpointDto,
  type EntryFilterDto,
  type EntrySort,
  type EvictRequestDto,
  type TeamStatusDto,
  type StatsDto,
  type StatsWindowDto,
} from '../../shared/protocol';
import { adminAuth } from '../adminAuth';
import { invalidRequest, notFound } from '../errors';
import type { GatewayContext } from '../gatewayContext';
import { jsonBody } from '../jsonBody';
import { sendJson } from '../respond';
import { SSE_HEADERS, sseFrame } from '../sse';

const MAX_PAGE = 500;
const KEEPALIVE_MS = 15_000;

function queryText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function queryInteger(req: Request, name: string, fallback: number, max: number): number {
  const raw = queryText(req, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw invalidRequest({ code: 'invalid_value', message: `'${name}' must be a whole number from 0 to ${max}`, param: name });
  return value;
}

function filterFrom(source: Record<string, unknown>): EntryFilterDto {
  const filter: EntryFilterDto = {};
  if (typeof source.search === 'string' && source.search !== '') filter.search = source.search;
  if (typeof source.model === 'string' && source.model !== '') filter.model = source.model;
  if (source.endpoint !== undefined && source.endpoint !== '') {
    if (!ENDPOINTS.includes(source.endpoint as EndpointDto))
      throw invalidRequest({ code: 'invalid_value', message: `'endpoint' must be one of ${ENDPOINTS.join(', ')}`, param: 'endpoint' });
    filter.endpoint = source.endpoint as EndpointDto;
  }
  return filter;
}

/** The team tier's state as the dashboard reads it. */
function teamStatus(status: TeamTierStatus): TeamStatusDto {
  const { state, team, url, reason, since, applied, lastAppliedAt } = status;
  return { state, team, url, reason, since, applied, lastAppliedAt };
}

/** The stats for a window: `?window=1h` (15m, 1h, 6h, 24h, 7d, 30d) or `?from=&to=` in epoch ms. */
async function stats(context: GatewayContext, req: Request): Promise<StatsDto> {
  const now = Date.now();
  const windowName = queryText(req, 'window') ?? '1h';
  let from: number;
  let to = now;
  if (queryText(req, 'from') !== undefined) {
    from = queryInteger(req, 'from', 0, Number.MAX_SAFE_INTEGER);
    to = queryInteger(req, 'to', now, Number.MAX_SAFE_INTEGER);
    if (to <= from) throw invalidRequest({ code: 'invalid_value', message: "'to' must be after 'from'", param: 'to' });
  } else {
    const span = Object.hasOwn(STATS_WINDOW_MS, windowName) ? STATS_WINDOW_MS[windowName as StatsWindowDto] : undefined;
    if (span === undefined)
      throw invalidRequest({
        code: 'invalid_value',
        message: `'window' must be one of ${Object.keys(STATS_WINDOW_MS).join(', ')}`,
        param: 'window',
      });
    from = now - span;
  }
  const [events, checks] = await Promise.all([context.events.events(from, to), context.events.revalidations(from, to)]);
  const computed = computeStats(events, checks, { from, to }, Math.max(1000, Math.ceil((to - from) / 60)));
  const semantic = context.cache.semantic?.status();
  const entries = (await context.cache.catalog?.list({ sort: 'created', order: 'desc', offset: 0, limit: 0 }))?.total ?? 0;
  return {
    ...computed,
    cache: { entries, vectors: semantic?.entries ?? null, caching: context.options.cachingEnabled },
    shared: context.team ? teamStatus(context.team.status()) : null,
    semantic: {
      ...(semantic
        ? { state: semantic.state, reason: semantic.reason, model: semantic.model }
        : { state: 'off', reason: 'switched off (--semantic off)', model: context.options.embeddingModel }),
      threshold: context.options.semanticThreshold,
      mode: context.options.semanticMode,
      maxFalseHitRate: context.options.maxFalseHitRate,
      judge: context.judge.kind,
      judgeCost: context.judge instanceof LlmJudge ? { ...context.judge.cost } : null,
      judgeCheck: context.judge instanceof EmbeddingJudge ? context.judge.check() : null,
      learned: (context.cache.semantic?.learnedGroups() ?? []).map(({ endpoint, observations, wrong, threshold, fewest }) => ({
        endpoint,
        observations,
        wrong,
        servedFrom: threshold ?? null,
        fewest,
      })),
    },
    vllm: context.vllm.figures(),
    prefixStability: context.prefixStability.report(),
    volatileUserParts: context.prefixStability.userReport(),
  };
}

/** The admin API under /deja/v1: stats, entries, eviction, skipped requests, live events, the caching switch. */
export function adminRouter(context: GatewayContext): Router {
  const router = Router();
  router.use(adminAuth(context.adminToken));
  const catalog = () => {
    if (!context.cache.catalog) throw invalidRequest({ code: 'unsupported', message: 'This gateway keeps no entry list' });
    return context.cache.catalog;
  };
  const send = (res: Response, body: unknown) => sendJson(res, 200, body);

  router.get('/stats', async (req, res) => send(res, await stats(context, req)));

  router.get('/entries', async (req, res) => {
    const sort = (queryText(req, 'sort') ?? 'created') as EntrySort;
    if (!ENTRY_SORTS.includes(sort))
      throw invalidRequest({ code: 'invalid_value', message: `'sort' must be one of ${ENTRY_SORTS.join(', ')}`, param: 'sort' });
    const order = queryText(req, 'order') ?? 'desc';
    if (order !== 'asc' && order !== 'desc')
      throw invalidRequest({ code: 'invalid_value', message: "'order' must be asc or desc", param: 'order' });
    const page = await catalog().list({
      ...filterFrom(req.query as Record<string, unknown>),
      sort,
      order,
      offset: queryInteger(req, 'offset', 0, Number.MAX_SAFE_INTEGER),
      limit: queryInteger(req, 'limit', 50, MAX_PAGE),
    });
    send(res, page);
  });

  router.get('/entries/:id', async (req, res) => {
    const id = String(req.params.id);
    const entry = await context.cache.entry(id);
    if (!entry) throw notFound({ code: 'entry_not_found', message: `No entry ${id}`, param: 'id' });
    const summary = await catalog().get(id);
    const learned = entry.endpoint === 'embeddings' ? undefined : context.cache.semantic?.learned(id, entry.endpoint);
    send(res, {
      ...(summary ?? {}),
      id,
      endpoint: entry.endpoint,
      model: entry.model,
      createdAt: entry.createdAt,
      expiresAt: entry.expiresAt,
      request: entry.request,
      response: entry.response,
      source: entry.source,
      normalized: entry.normalized ?? [],
      learned: learned
        ? { observations: [...learned.observations], threshold: learned.threshold ?? null, mode: context.cache.semantic!.mode }
        : null,
    });
  });

  router.delete('/entries/:id', async (req, res) => {
    const evicted = await context.cache.evict(String(req.params.id));
    if (evicted) context.live.publish({ type: 'entries/changed', reason: 'evicted' });
    send(res, { evicted });
  });

  router.post('/entries/evict', jsonBody(1024 * 1024), async (req, res) => {
    const body = req.body as EvictRequestDto;
    let ids: string[];
    if (Array.isArray(body?.ids)) {
      if (!body.ids.every((id) => typeof id === 'string'))
        throw invalidRequest({ code: 'invalid_type', message: "'ids' must be strings", param: 'ids' });
      ids = body.ids;
    } else if (body && typeof body.filter === 'object' && body.filter !== null) {
      const filter = filterFrom(body.filter as Record<string, unknown>);
      if (Object.keys(filter).length === 0)
        throw invalidRequest({
          code: 'invalid_value',
          message: 'An empty filter would evict everything: use DELETE /deja/v1/entries for that',
          param: 'filter',
        });
      ids = await catalog().matching(filter);
    } else {
      throw invalidRequest({
        code: 'missing_required_parameter',
        message: 'Send {"ids": [...]} or {"filter": {"search": ...}}',
        param: 'ids',
      });
    }
    const evicted = await context.cache.evict(ids);
    if (evicted) context.live.publish({ type: 'entries/changed', reason: 'evicted' });
    send(res, { evicted });
  });

  router.delete('/entries', async (req, res) => {
    // `/entries/` is an entry path with an empty id (a client's bug), not a request to clear everything.
    if (req.path.endsWith('/'))
      throw invalidRequest({
        code: 'invalid_value',
        message: 'No entry id: send DELETE /deja/v1/entries/<id>, or DELETE /deja/v1/entries to clear every entry',
        param: 'id',
      });
    const before = (await catalog().list({ sort: 'created', order: 'desc', offset: 0, limit: 0 })).total;
    await context.cache.clear();
    context.live.publish({ type: 'entries/changed', reason: 'cleared' });
    send(res, { evicted: before });
  });

  router.get('/skipped', async (req, res) => {
    send(
      res,
      await context.events.skipped({
        reason: queryText(req, 'reason'),
        offset: queryInteger(req, 'offset', 0, Number.MAX_SAFE_INTEGER),
        limit: queryInteger(req, 'limit', 50, MAX_PAGE),
      }),
    );
  });

  router.post('/caching', jsonBody(1024), (req, res) => {
    const enabled = (req.body as { enabled?: unknown })?.enabled;
    if (typeof enabled !== 'boolean')
      throw invalidRequest({ code: 'invalid_type', message: 'Send {"enabled": true|false}', param: 'enabled' });
    context.options.cachingEnabled = enabled;
    context.logger.info(`caching turned ${enabled ? 'on' : 'off'}`);
    context.live.publish({ type: 'caching/changed', enabled });
    send(res, { enabled });
  });

  router.get('/events', (req, res) => {
    res.writeHead(200, SSE_HEADERS);
    // A HEAD answer has no body: without end() its headers would never be sent.
    if (req.method === 'HEAD') return void res.end();
    res.write(': deja live events\n\n');
    const unsubscribe = context.live.subscribe((event) => res.write(sseFrame(JSON.stringify(event), event.type)));
    const keepalive = setInterval(() => res.write(': ping\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    req.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
    });
  });

  return router;
}
