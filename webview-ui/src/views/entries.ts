/**
 * The Entries tab: search, sort, one page of entries at a time (the host pages,
 * the table never holds more than a page), selection and eviction, and the
 * detail pane of the clicked entry.
 */

import {
  PAGE_SIZE,
  type EntryDetailDto,
  type EntryFilterDto,
  type EntryPageDto,
  type EntryQueryDto,
  type EntrySort,
  type EntrySummaryDto,
} from '../../../src/shared/protocol';
import { Pager } from '../components/pager';
import { button, h, icon, iconButton, loading, select, setOptions, srOnly } from '../dom';
import { bytes, count, dateTime, oneLine, relative, shortModel } from '../format';
import { EntryDetailView } from './entryDetail';

const SEARCH_DEBOUNCE_MS = 250;

const SORTS: Array<{ value: EntrySort; label: string }> = [
  { value: 'created', label: 'Created' },
  { value: 'lastHit', label: 'Last hit' },
  { value: 'hits', label: 'Hits' },
  { value: 'size', label: 'Size' },
];

type Column = { key: string; label: string; sort?: EntrySort; className: string };
const COLUMNS: Column[] = [
  { key: 'prompt', label: 'Prompt', className: 'col-prompt' },
  { key: 'answer', label: 'Answer', className: 'col-answer' },
  { key: 'model', label: 'Model', className: 'col-model' },
  { key: 'hits', label: 'Hits', sort: 'hits', className: 'col-hits num' },
  { key: 'lastHit', label: 'Last hit', sort: 'lastHit', className: 'col-last' },
  { key: 'created', label: 'Created', sort: 'created', className: 'col-created' },
  { key: 'size', label: 'Size', sort: 'size', className: 'col-size num' },
];

/** What the user asks of the tab; the app talks to the host and keeps the saved state. */
export interface EntriesIntents {
  /** Search, filter, sort or page changed: remember the query and load its page. */
  onQuery(query: EntryQueryDto): void;
  /** An entry's detail pane opened: load the whole entry. */
  onOpen(id: string): void;
  onEvict(ids: string[]): void;
  onEvictMatching(filter: EntryFilterDto): void;
  /** Evict every entry (the host asks first). */
  onClear(): void;
}

export class EntriesView {
  readonly element: HTMLDivElement;
  private query: EntryQueryDto;
  private page: EntryPageDto | null = null;
  private readonly selected = new Set<string>();
  private searchTimer: number | undefined;
  private models: string[] = [];

  private readonly search: HTMLElementTagNameMap['vscode-textfield'];
  private readonly modelSelect: HTMLElementTagNameMap['vscode-single-select'];
  private readonly sortSelect: HTMLElementTagNameMap['vscode-single-select'];
  private readonly orderButton: HTMLButtonElement;
  private readonly evictSelected: HTMLElementTagNameMap['vscode-button'];
  private readonly evictMatching: HTMLElementTagNameMap['vscode-button'];
  private readonly headCheckbox: HTMLElementTagNameMap['vscode-checkbox'];
  private readonly headRow: HTMLTableRowElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly status: HTMLDivElement;
  private readonly pager: Pager;
  private readonly detail: EntryDetailView;
  private readonly split: HTMLDivElement;

  constructor(
    initial: EntryQueryDto,
    private readonly intents: EntriesIntents,
  ) {
    this.query = { ...initial, limit: PAGE_SIZE };

    this.search = h('vscode-textfield', { type: 'search', placeholder: 'Search prompts and answers', class: 'search' });
    this.search.label = 'Search entries';
    this.search.setAttribute('aria-label', 'Search entries');
    this.search.value = this.query.search ?? '';
    const glass = icon('search');
    glass.slot = 'content-before';
    this.search.append(glass);
    this.search.addEventListener('input', () => this.onSearchInput());
    this.search.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') this.applySearch();
      if (ev.key === 'Escape' && this.search.value) {
        this.search.value = '';
        this.applySearch();
      }
    });

    this.modelSelect = select('Filter by model', [{ value: '', label: 'All models' }], this.query.model ?? '', (value) => {
      this.setQuery({ model: value || undefined, offset: 0 });
    });
    this.modelSelect.classList.add('model-select');
    this.sortSelect = select('Sort by', SORTS, this.query.sort, (value) => this.setQuery({ sort: value as EntrySort, offset: 0 }));
    this.sortSelect.classList.add('sort-select');
    this.orderButton = iconButton('arrow-down', 'Descending', () =>
      this.setQuery({ order: this.query.order === 'desc' ? 'asc' : 'desc', offset: 0 }),
    );

    this.evictSelected = button('Evict selected', { icon: 'trash', secondary: true, onClick: () => this.evictChecked() });
    this.evictMatching = button('Evict all matching', { icon: 'filter', secondary: true, onClick: () => this.evictAllMatching() });
    const clear = button('Clear cache', {
      icon: 'clear-all',
      secondary: true,
      title: 'Evict every entry (asks first)',
      onClick: () => this.intents.onClear(),
    });

    const toolbar = h(
      'div',
      { class: 'toolbar', role: 'toolbar', 'aria-label': 'Entries' },
      this.search,
      this.modelSelect,
      h('span', { class: 'toolbar-label', 'aria-hidden': 'true' }, 'Sort'),
      this.sortSelect,
      this.orderButton,
      h('span', { class: 'spacer' }),
      this.evictSelected,
      this.evictMatching,
      clear,
    );

    this.headCheckbox = h('vscode-checkbox', {}, srOnly('Select all entries on this page'));
    this.headCheckbox.addEventListener('change', () => this.toggleAll(this.headCheckbox.checked));
    this.headRow = h('tr', {});
    this.tbody = h('tbody', {});
    this.tbody.addEventListener('keydown', (ev) => this.onTableKey(ev));
    const table = h(
      'table',
      { class: 'data-table entries-table', 'aria-label': 'Cache entries' },
      h('colgroup', {}, h('col', { class: 'col-check' }), ...COLUMNS.map((c) => h('col', { class: c.className }))),
      h('thead', {}, this.headRow),
      this.tbody,
    );
    this.status = h('div', { class: 'table-status' }, loading('Loading entries…'));
    this.pager = new Pager(PAGE_SIZE, (offset) => this.setQuery({ offset }), 'entries');

    this.detail = new EntryDetailView(
      (id) => {
        this.selected.delete(id);
        this.intents.onEvict([id]);
        this.closeDetail();
      },
      () => this.closeDetail(),
    );
    const listPane = h('div', { class: 'list-pane' }, h('div', { class: 'table-wrap' }, table, this.status), this.pager.element);
    this.split = h('div', { class: 'split' }, listPane, this.detail.element);
    this.element = h('div', { class: 'entries' }, toolbar, this.split);
    this.renderHead();
    this.renderControls();
  }

  /** The query to ask for when the dashboard starts. */
  currentQuery(): EntryQueryDto {
    return { ...this.query };
  }

  /** Models known from the stats, for the filter. */
  setModels(models: string[]): void {
    const next = [...new Set([...models, ...(this.query.model ? [this.query.model] : [])])].sort();
    if (next.join('\n') === this.models.join('\n')) return;
    this.models = next;
    setOptions(
      this.modelSelect,
      [{ value: '', label: 'All models' }, ...next.map((m) => ({ value: m, label: m }))],
      this.query.model ?? '',
    );
  }

  showPage(query: EntryQueryDto, page: EntryPageDto): void {
    // After an eviction the current page may have emptied: step back to the last page that exists.
    if (page.items.length === 0 && page.total > 0 && page.offset > 0) {
      this.setQuery({ offset: Math.max(0, Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE) });
      return;
    }
    // Never more than a page, whatever the host sends.
    page = { ...page, items: page.items.slice(0, PAGE_SIZE) };
    this.page = page;
    // The host's answer is the truth for sort and paging; the search box keeps what the user is typing.
    this.query = { ...this.query, sort: query.sort, order: query.order, offset: page.offset };
    this.renderRows(page.items);
    this.pager.update(page.offset, page.items.length, page.total);
    this.renderHead();
    this.renderControls();
    if (page.items.length === 0) {
      const filtered = this.hasFilter();
      this.status.replaceChildren(
        h(
          'div',
          { class: 'empty-table' },
          icon(filtered ? 'search' : 'database'),
          h('p', {}, filtered ? 'No entries match this search.' : 'The cache is empty. Answers are stored here as requests miss.'),
        ),
      );
    } else {
      this.status.replaceChildren();
    }
  }

  showDetail(entry: EntryDetailDto): void {
    this.detail.show(entry);
    this.split.classList.add('has-detail');
  }

  private hasFilter(): boolean {
    return Boolean(this.query.search || this.query.model || this.query.endpoint);
  }

  private filter(): EntryFilterDto {
    const f: EntryFilterDto = {};
    if (this.query.search) f.search = this.query.search;
    if (this.query.model) f.model = this.query.model;
    if (this.query.endpoint) f.endpoint = this.query.endpoint;
    return f;
  }

  private setQuery(patch: Partial<EntryQueryDto>): void {
    const next: EntryQueryDto = { ...this.query, ...patch, limit: PAGE_SIZE };
    for (const key of ['search', 'model', 'endpoint'] as const) if (!next[key]) delete next[key];
    const filterChanged = next.search !== this.query.search || next.model !== this.query.model || next.endpoint !== this.query.endpoint;
    this.query = next;
    if (filterChanged) this.selected.clear();
    this.renderHead();
    this.renderControls();
    this.intents.onQuery({ ...next });
  }

  private onSearchInput(): void {
    window.clearTimeout(this.searchTimer);
    this.searchTimer = window.setTimeout(() => this.applySearch(), SEARCH_DEBOUNCE_MS);
  }

  private applySearch(): void {
    window.clearTimeout(this.searchTimer);
    const value = this.search.value.trim();
    if (value === (this.query.search ?? '')) return;
    this.setQuery({ search: value || undefined, offset: 0 });
  }

  private renderHead(): void {
    const cells: HTMLTableCellElement[] = [h('th', { class: 'col-check', scope: 'col' }, this.headCheckbox)];
    for (const c of COLUMNS) {
      const th = h('th', { class: c.className, scope: 'col' });
      if (c.sort) {
        const active = this.query.sort === c.sort;
        th.setAttribute('aria-sort', active ? (this.query.order === 'asc' ? 'ascending' : 'descending') : 'none');
        const sort = c.sort;
        const btn = h(
          'button',
          { type: 'button', class: `sort-button${active ? ' active' : ''}`, title: `Sort by ${c.label.toLowerCase()}` },
          c.label,
          active ? icon(this.query.order === 'asc' ? 'arrow-up' : 'arrow-down') : null,
        );
        btn.addEventListener('click', () =>
          this.setQuery(active ? { order: this.query.order === 'desc' ? 'asc' : 'desc', offset: 0 } : { sort, order: 'desc', offset: 0 }),
        );
        th.append(btn);
      } else {
        th.append(c.label);
      }
      cells.push(th);
    }
    this.headRow.replaceChildren(...cells);
  }

  private renderControls(): void {
    this.sortSelect.value = this.query.sort;
    const desc = this.query.order === 'desc';
    this.orderButton.replaceChildren(icon(desc ? 'arrow-down' : 'arrow-up'));
    this.orderButton.title = desc ? 'Descending (click for ascending)' : 'Ascending (click for descending)';
    this.orderButton.setAttribute('aria-label', desc ? 'Sort order: descending' : 'Sort order: ascending');

    const n = this.selected.size;
    this.evictSelected.disabled = n === 0;
    this.setLabel(this.evictSelected, n > 0 ? `Evict selected (${count(n)})` : 'Evict selected');
    const filtered = this.hasFilter();
    this.evictMatching.hidden = !filtered;
    const total = this.page && filtered ? this.page.total : null;
    this.setLabel(this.evictMatching, total !== null ? `Evict all ${count(total)} matching` : 'Evict all matching');
    this.evictMatching.disabled = total === 0;

    const onPage = this.page?.items ?? [];
    const checked = onPage.filter((e) => this.selected.has(e.id)).length;
    this.headCheckbox.checked = onPage.length > 0 && checked === onPage.length;
    this.headCheckbox.indeterminate = checked > 0 && checked < onPage.length;
    this.headCheckbox.disabled = onPage.length === 0;
  }

  /** Replaces a vscode-button's text, keeping its slotted icon. */
  private setLabel(btn: HTMLElement, text: string): void {
    for (const node of Array.from(btn.childNodes)) if (node.nodeType === Node.TEXT_NODE) node.remove();
    btn.append(text);
  }

  private renderRows(items: EntrySummaryDto[]): void {
    const now = Date.now();
    const rows = items.map((e) => {
      const box = h('vscode-checkbox', {}, srOnly(`Select entry ${oneLine(e.prompt).slice(0, 60)}`));
      box.checked = this.selected.has(e.id);
      box.addEventListener('change', () => {
        if (box.checked) this.selected.add(e.id);
        else this.selected.delete(e.id);
        row.classList.toggle('checked', box.checked);
        this.renderControls();
      });
      const checkCell = h('td', { class: 'col-check' }, box);
      checkCell.addEventListener('click', (ev) => {
        ev.stopPropagation();
        // The whole cell is the target, not only the 16 px box (the box's own label toggles itself).
        if (ev.composedPath().some((node) => node instanceof HTMLLabelElement)) return;
        box.checked = !box.checked;
        box.dispatchEvent(new Event('change', { bubbles: true }));
      });
      const open = h('button', { type: 'button', class: 'row-open', title: e.prompt }, oneLine(e.prompt) || '(empty prompt)');
      const row = h(
        'tr',
        {
          class: `${this.selected.has(e.id) ? 'checked' : ''}${this.detail.id === e.id ? ' active' : ''}`,
          'data-id': e.id,
          'aria-selected': this.detail.id === e.id ? 'true' : 'false',
        },
        checkCell,
        h('td', { class: 'col-prompt' }, open),
        h('td', { class: 'col-answer', title: e.answer }, oneLine(e.answer)),
        h('td', { class: 'col-model', title: e.model }, shortModel(e.model)),
        h('td', { class: 'col-hits num' }, count(e.hits)),
        h(
          'td',
          { class: 'col-last', title: e.lastHitAt ? dateTime(e.lastHitAt) : 'Never hit' },
          e.lastHitAt ? relative(e.lastHitAt, now) : h('span', { class: 'muted' }, 'never'),
        ),
        h('td', { class: 'col-created', title: dateTime(e.createdAt) }, relative(e.createdAt, now)),
        h('td', { class: 'col-size num' }, bytes(e.size)),
      );
      // A click with detail 0 came from the keyboard (Enter/Space on the row's button): move focus into the pane.
      row.addEventListener('click', (ev) => this.openDetail(e, ev.detail === 0));
      return row;
    });
    this.tbody.replaceChildren(...rows);
  }

  private openDetail(entry: EntrySummaryDto, focus = false): void {
    this.detail.open(entry);
    if (focus) this.detail.focus();
    this.split.classList.add('has-detail');
    for (const row of Array.from(this.tbody.rows)) {
      const active = row.dataset.id === entry.id;
      row.classList.toggle('active', active);
      row.setAttribute('aria-selected', active ? 'true' : 'false');
    }
    this.intents.onOpen(entry.id);
  }

  private closeDetail(): void {
    const id = this.detail.id;
    this.detail.close();
    this.split.classList.remove('has-detail');
    for (const row of Array.from(this.tbody.rows)) {
      row.classList.remove('active');
      row.setAttribute('aria-selected', 'false');
    }
    // Give focus back to the row that opened the pane.
    const back = id ? this.tbody.querySelector<HTMLButtonElement>(`tr[data-id="${CSS.escape(id)}"] .row-open`) : null;
    back?.focus();
  }

  /** Up and down move between rows; the prompt button of each row is the tab stop. */
  private onTableKey(ev: KeyboardEvent): void {
    if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
    const target = ev.target as HTMLElement;
    const row = target.closest('tr');
    if (!row) return;
    const next = (ev.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling) as HTMLTableRowElement | null;
    const button = next?.querySelector<HTMLButtonElement>('.row-open');
    if (button) {
      ev.preventDefault();
      button.focus();
    }
  }

  private toggleAll(checked: boolean): void {
    for (const e of this.page?.items ?? []) {
      if (checked) this.selected.add(e.id);
      else this.selected.delete(e.id);
    }
    for (const row of Array.from(this.tbody.rows)) {
      row.classList.toggle('checked', checked);
      const box = row.querySelector('vscode-checkbox');
      if (box) box.checked = checked;
    }
    this.renderControls();
  }

  private evictChecked(): void {
    const ids = [...this.selected];
    if (ids.length === 0) return;
    this.intents.onEvict(ids);
    if (this.detail.id && this.selected.has(this.detail.id)) this.closeDetail();
    this.selected.clear();
    this.renderControls();
  }

  private evictAllMatching(): void {
    if (!this.hasFilter()) return;
    this.intents.onEvictMatching(this.filter());
    this.selected.clear();
    this.closeDetail();
    this.renderControls();
  }
}
