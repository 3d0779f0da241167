/** Reads a server-sent-events stream (the console's live feed) into a list, with a wait for a matching event. */
import { waitFor } from '../support/processes.js';

export interface FeedEvent {
  event: string;
  data: unknown;
}

export class FeedReader {
  readonly events: FeedEvent[] = [];
  readonly #abort = new AbortController();
  status = 0;
  contentType = '';

  static async open(url: string, headers: Record<string, string>): Promise<FeedReader> {
    const reader = new FeedReader();
    const response = await fetch(url, { headers, signal: reader.#abort.signal });
    reader.status = response.status;
    reader.contentType = response.headers.get('content-type') ?? '';
    if (response.ok && response.body) void reader.#read(response.body);
    else await response.text();
    return reader;
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of body) {
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) this.events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted by close()
    }
  }

  /** The first event (from `from` on) of this name that `match` accepts. */
  next<T>(event: string, match: (data: T) => boolean = () => true, timeoutMs = 10_000, from = 0): Promise<T> {
    return waitFor(`feed event "${event}"`, () => {
      const found = this.events.slice(from).find((e) => e.event === event && match(e.data as T));
      return found ? (found.data as T) : undefined;
    }, timeoutMs);
  }

  close(): void {
    this.#abort.abort();
  }
}
