/** Small DOM helpers the pages share; a page that misses an element it needs fails at load, loudly. */

/** The element with this id, of the expected class, or a thrown error naming it. */
export function byId<T extends HTMLElement>(id: string, kind: abstract new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof kind)) throw new Error(`page: #${id} is missing or not a ${kind.name}`);
  return element;
}

/** Sets an element's text only when it changes (stats refresh often; unchanged text is no work). */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

/** Creates an element with a class and, optionally, text. */
export function make<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text?: string): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}
