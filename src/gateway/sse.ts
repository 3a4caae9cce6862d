import { StringDecoder } from 'node:string_decoder';

/** One server-sent event as received: its `data` lines joined, and its `event` name if any. */
export interface SseEvent {
  data: string;
  event: string | undefined;
}

/**
 * An incremental SSE parser: feed it bytes as they arrive, get back the events
 * completed so far. Handles LF and CRLF, multi-line data, comments and events
 * split across network chunks (UTF-8 sequences included).
 */
export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  private dataLines: string[] = [];
  private eventName: string | undefined;

  push(chunk: Buffer | string): SseEvent[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const events: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const newline = this.buffer.indexOf('\n', start);
      if (newline === -1) break;
      let line = this.buffer.slice(start, newline);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      start = newline + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** Flushes a final event that was not followed by a blank line. */
  end(): SseEvent[] {
    const rest = this.buffer + this.decoder.end();
    this.buffer = '';
    const events: SseEvent[] = [];
    if (rest !== '') {
      const event = this.line(rest.replace(/\r$/, ''));
      if (event) events.push(event);
    }
    const last = this.line('');
    if (last) events.push(last);
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.dataLines.length === 0) {
        this.eventName = undefined;
        return undefined;
      }
      const event = { data: this.dataLines.join('\n'), event: this.eventName };
      this.dataLines = [];
      this.eventName = undefined;
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.dataLines.push(value);
    else if (field === 'event') this.eventName = value;
    return undefined;
  }
}

/** Frames one event for the wire. */
export function sseFrame(data: string, event?: string): string {
  const lines = data.split('\n').map((line) => `data: ${line}`);
  return `${event ? `event: ${event}\n` : ''}${lines.join('\n')}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  // Tells reverse proxies such as nginx not to buffer the stream.
  'x-accel-buffering': 'no',
};
