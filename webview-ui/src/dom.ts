/**
 * Tiny DOM builders. Everything the dashboard shows is built with createElement
 * and text nodes: prompts and answers are untrusted text, so there is no
 * innerHTML anywhere.
 */

export type Child = Node | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | null | undefined>;

function setAttrs(el: Element, attrs: Attrs | undefined): void {
  if (!attrs) return;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'number' ? String(child) : child);
  }
}

/** An HTML element with attributes (set with setAttribute) and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element, built in the SVG namespace. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** A codicon glyph; decorative unless given a label. */
export function icon(name: string, label?: string): HTMLSpanElement {
  const el = h('span', { class: `codicon codicon-${name}` });
  if (label) {
    el.setAttribute('role', 'img');
    el.setAttribute('aria-label', label);
  } else {
    el.setAttribute('aria-hidden', 'true');
  }
  return el;
}

/** Text only screen readers read. */
export function srOnly(text: string): HTMLSpanElement {
  return h('span', { class: 'sr-only' }, text);
}

/** A vscode-button; codicons go in the content-before slot so no icon stylesheet id is needed. */
export function button(
  label: string,
  options: { icon?: string; secondary?: boolean; title?: string; ariaLabel?: string; onClick: (ev: MouseEvent) => void },
): HTMLElementTagNameMap['vscode-button'] {
  const el = h('vscode-button', { secondary: options.secondary, title: options.title, 'aria-label': options.ariaLabel });
  if (options.icon) {
    const glyph = icon(options.icon);
    glyph.slot = 'content-before';
    el.append(glyph);
  }
  if (label) el.append(label);
  el.addEventListener('click', (ev) => {
    if (el.disabled) return;
    options.onClick(ev);
  });
  return el;
}

/** A plain <button> holding only a codicon: for close, sort-order and similar toolbar actions. */
export function iconButton(name: string, label: string, onClick: (ev: MouseEvent) => void): HTMLButtonElement {
  const el = h('button', { type: 'button', class: 'icon-button', title: label, 'aria-label': label }, icon(name));
  el.addEventListener('click', onClick);
  return el;
}

/** A vscode-single-select with options; `label` is its accessible name. */
export function select(
  label: string,
  options: Array<{ value: string; label: string }>,
  value: string,
  onChange: (value: string) => void,
): HTMLElementTagNameMap['vscode-single-select'] {
  const el = h('vscode-single-select');
  el.label = label;
  el.setAttribute('aria-label', label);
  setOptions(el, options, value);
  el.addEventListener('change', () => onChange(el.value));
  return el;
}

/** Replaces the options of a vscode-single-select, keeping `value` selected. */
export function setOptions(
  el: HTMLElementTagNameMap['vscode-single-select'],
  options: Array<{ value: string; label: string }>,
  value: string,
): void {
  el.replaceChildren(
    ...options.map((o) => {
      const opt = h('vscode-option', { value: o.value }, o.label);
      if (o.value === value) opt.selected = true;
      return opt;
    }),
  );
  el.value = value;
}

/** A progress ring with a text beside it. */
export function loading(text: string): HTMLDivElement {
  const ring = h('vscode-progress-ring');
  ring.ariaLabel = text;
  return h('div', { class: 'loading', role: 'status' }, ring, h('span', {}, text));
}

/** Replaces an element's children (nulls and falses are skipped). */
export function setChildren(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}
