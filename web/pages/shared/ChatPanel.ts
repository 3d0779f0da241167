/**
 * The chat box of the broadcast and watch pages: the channel's lines (newest at the bottom, the
 * oldest dropped past a cap) and an input that sends one. Lines are text nodes, never HTML.
 */
import { MAX_CHAT_LENGTH } from '../../../protocol/media-messages.js';

export interface ChatLine {
  from: string;
  text: string;
  /** ms since the epoch, stamped by the channel's root unit */
  at: number;
}

const MAX_LINES = 200;

export class ChatPanel {
  readonly #log: HTMLElement;
  readonly #input: HTMLInputElement;

  /**
   * `root` holds `.chat-log`, an `input.chat-input` and a `button.chat-send` (or a form around them);
   * `send` returns false while not connected (the text then stays in the input).
   */
  constructor(root: HTMLElement, send: (text: string) => boolean, options: { self?: string } = {}) {
    this.#log = required(root, '.chat-log');
    this.#input = required<HTMLInputElement>(root, '.chat-input');
    this.#input.maxLength = MAX_CHAT_LENGTH;
    const button = required<HTMLButtonElement>(root, '.chat-send');
    const submit = (): void => {
      const text = this.#input.value.trim();
      if (text === '' || !send(text)) return;
      this.#input.value = '';
    };
    button.addEventListener('click', submit);
    this.#input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') submit();
    });
    this.#self = options.self ?? null;
  }

  #self: string | null;

  /** Who "me" is in the lines (the viewer id once joined), so the page can mark its own lines. */
  set self(id: string | null) {
    this.#self = id;
  }

  add(line: ChatLine): void {
    const row = document.createElement('li');
    row.className = line.from === this.#self ? 'chat-line own' : line.from === 'broadcaster' ? 'chat-line broadcaster' : 'chat-line';
    const time = document.createElement('time');
    time.dateTime = new Date(line.at).toISOString();
    time.textContent = new Date(line.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const from = document.createElement('b');
    from.textContent = line.from === 'broadcaster' ? 'broadcaster' : line.from === this.#self ? 'you' : `viewer ${line.from.slice(-6)}`;
    const text = document.createElement('span');
    text.textContent = line.text;
    row.append(time, ' ', from, ' ', text);
    const atBottom = this.#log.scrollTop + this.#log.clientHeight >= this.#log.scrollHeight - 4;
    this.#log.append(row);
    while (this.#log.childElementCount > MAX_LINES) this.#log.firstElementChild?.remove();
    if (atBottom) this.#log.scrollTop = this.#log.scrollHeight;
  }
}

function required<T extends HTMLElement = HTMLElement>(root: HTMLElement, selector: string): T {
  const element = root.querySelector<T>(selector);
  if (!element) throw new Error(`chat panel: ${selector} missing`);
  return element;
}
