/**
 * One control link between a streaming unit and the CSM over a TCP socket (mediasoup's Channel):
 * framed msgpack messages, requests answered by id, one-way notifications, every payload validated
 * against protocol/control-messages.ts on receipt. Anything malformed or unknown closes the link with
 * a FATAL frame that names the error code; every pending request is rejected when the link closes.
 */
import type { Socket } from 'node:net';
import { Compile } from 'typebox/compile';
import type { TSchema } from 'typebox';
import {
  NotificationSchemas,
  RequestSchemas,
  type Method,
  type Notification,
  type NotificationPayload,
  type RequestParams,
  type RequestResult,
} from './control-messages.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameReader, decodeEnvelope, encodeEnvelope, type Envelope } from './control-codec.js';
import { CodedError, ControlError, ControlErrorCode } from './control-errors.js';
import { TypedEmitter } from './typed-emitter.js';

type Validator = { Check(value: unknown): boolean; Errors(value: unknown): Iterable<{ instancePath: string; message: string }> };

/** Compiled once per schema for the whole process: validation is on the hot path of every message. */
const validators = new WeakMap<TSchema, Validator>();
function validatorFor(schema: TSchema): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema) as unknown as Validator;
    validators.set(schema, validator);
  }
  return validator;
}

export function describeInvalid(schema: TSchema, value: unknown): string | null {
  const validator = validatorFor(schema);
  if (validator.Check(value)) return null;
  const first = [...validator.Errors(value)][0];
  return first ? `${first.instancePath || '/'} ${first.message}` : 'invalid';
}

export interface ControlChannelOptions {
  maxFrameBytes?: number;
  requestTimeoutMs?: number;
}

export type ControlChannelEvents = {
  /** The link closed; `reason` is set when it closed because of an error (ours or the peer's). */
  close: [reason: CodedError | undefined];
};

type RequestHandler<M extends Method> = (params: RequestParams<M>) => RequestResult<M> | Promise<RequestResult<M>>;
type NotificationHandler<N extends Notification> = (payload: NotificationPayload<N>) => void;

interface Pending {
  method: Method;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class ControlChannel extends TypedEmitter<ControlChannelEvents> {
  readonly #socket: Socket;
  readonly #reader: FrameReader;
  readonly #requestTimeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #requestHandlers = new Map<string, (params: unknown) => unknown>();
  readonly #notificationHandlers = new Map<string, (payload: unknown) => void>();
  #nextId = 1;
  #closed = false;

  constructor(socket: Socket, options: ControlChannelOptions = {}) {
    super();
    this.#socket = socket;
    this.#reader = new FrameReader(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => this.#teardown(undefined));
    socket.on('close', () => this.#teardown(undefined));
  }

  get closed(): boolean {
    return this.#closed;
  }

  get remoteAddress(): string {
    return `${this.#socket.remoteAddress ?? '?'}:${this.#socket.remotePort ?? '?'}`;
  }

  /** Serve a request method. A method without a handler is "unknown" and closes the link. */
  handle<M extends Method>(method: M, handler: RequestHandler<M>): void {
    this.#requestHandlers.set(method, handler as (params: unknown) => unknown);
  }

  /** Accept a notification kind. A kind without a handler is "unknown" and closes the link. */
  handleNotification<N extends Notification>(name: N, handler: NotificationHandler<N>): void {
    this.#notificationHandlers.set(name, handler as (payload: unknown) => void);
  }

  request<M extends Method>(method: M, params: RequestParams<M>): Promise<RequestResult<M>> {
    if (this.#closed) return Promise.reject(new ControlError(ControlErrorCode.CONTROL_ERR_CLOSED));
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
    return new Promise<RequestResult<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ControlError(ControlErrorCode.CONTROL_ERR_TIMEOUT, method));
      }, this.#requestTimeoutMs);
      this.#pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      this.#write({ tag: 0, id, method, params });
    });
  }

  notify<N extends Notification>(name: N, payload: NotificationPayload<N>): void {
    if (!this.#closed) this.#write({ tag: 2, name, payload });
  }

  /** Close the link; with a code, the peer is told why first. Safe to call twice. */
  close(reason?: CodedError): void {
    if (this.#closed) return;
    if (reason) {
      this.#socket.end(encodeEnvelope({ tag: 3, code: reason.code, message: reason.message }));
      // A peer that does not read must not hold the socket open.
      setTimeout(() => this.#socket.destroy(), 1000).unref();
    } else {
      this.#socket.destroy();
    }
    this.#teardown(reason);
  }

  #write(envelope: Envelope): void {
    this.#socket.write(encodeEnvelope(envelope));
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    try {
      for (const frame of this.#reader.push(chunk)) {
        this.#dispatch(decodeEnvelope(frame));
        if (this.#closed) return;
      }
    } catch (error) {
      // Decoding and validation errors are already coded; anything else is a bug in a local handler.
      this.close(error instanceof CodedError ? error : new ControlError(ControlErrorCode.CONTROL_ERR_HANDLER_FAILED, String(error)));
    }
  }

  #dispatch(envelope: Envelope): void {
    switch (envelope.tag) {
      case 0:
        return this.#onRequest(envelope.id, envelope.method, envelope.params);
      case 1:
        return this.#onResponse(envelope);
      case 2:
        return this.#onNotification(envelope.name, envelope.payload);
      case 3:
        this.#socket.destroy();
        this.#teardown(new CodedError(envelope.code, envelope.message, true));
    }
  }

  #onRequest(id: number, method: string, params: unknown): void {
    const handler = this.#requestHandlers.get(method);
    const schemas = (RequestSchemas as Record<string, { params: TSchema } | undefined>)[method];
    if (!handler || !schemas) throw new ControlError(ControlErrorCode.CONTROL_ERR_UNKNOWN_METHOD, method);
    const invalid = describeInvalid(schemas.params, params);
    if (invalid) throw new ControlError(ControlErrorCode.CONTROL_ERR_BAD_PAYLOAD, `${method}: ${invalid}`);
    Promise.resolve()
      .then(() => handler(params))
      .then(
        (result) => this.#closed || this.#write({ tag: 1, id, ok: true, result }),
        (error: unknown) => {
          if (this.#closed) return;
          const coded = error instanceof CodedError ? error : new ControlError(ControlErrorCode.CONTROL_ERR_HANDLER_FAILED, String(error));
          this.#write({ tag: 1, id, ok: false, code: coded.code, message: coded.message });
        },
      );
  }

  #onResponse(envelope: Extract<Envelope, { tag: 1 }>): void {
    const pending = this.#pending.get(envelope.id);
    if (!pending) throw new ControlError(ControlErrorCode.CONTROL_ERR_UNKNOWN_RESPONSE, `id ${envelope.id}`);
    this.#pending.delete(envelope.id);
    clearTimeout(pending.timer);
    if (!envelope.ok) {
      pending.reject(new CodedError(envelope.code, envelope.message, true));
      return;
    }
    const invalid = describeInvalid(RequestSchemas[pending.method].result, envelope.result);
    if (invalid) {
      const error = new ControlError(ControlErrorCode.CONTROL_ERR_BAD_PAYLOAD, `${pending.method} result: ${invalid}`);
      pending.reject(error);
      throw error;
    }
    pending.resolve(envelope.result);
  }

  #onNotification(name: string, payload: unknown): void {
    const handler = this.#notificationHandlers.get(name);
    const schema = (NotificationSchemas as Record<string, TSchema | undefined>)[name];
    if (!handler || !schema) throw new ControlError(ControlErrorCode.CONTROL_ERR_UNKNOWN_NOTIFICATION, name);
    const invalid = describeInvalid(schema, payload);
    if (invalid) throw new ControlError(ControlErrorCode.CONTROL_ERR_BAD_PAYLOAD, `${name}: ${invalid}`);
    handler(payload);
  }

  #teardown(reason: CodedError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(reason ?? new ControlError(ControlErrorCode.CONTROL_ERR_CLOSED, pending.method));
    }
    this.#pending.clear();
    this.safeEmit('close', reason);
  }
}
