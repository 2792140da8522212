import { SAGA } from "./contract";
import { type NotifyMessage, notifyMessageSchema } from "./schemas";

export type Transport = "websocket" | "sse";
export type FeedState = "connecting" | "live" | "reconnecting" | "closed";

/** Event types notify may name in SSE `event:` lines (plain `message` is handled too). */
const SSE_EVENT_TYPES = SAGA.eventTypes;

/** Close codes for a request that will never succeed: policy, not signed in, bad cursor, unknown order. */
const PERMANENT_CLOSE_CODES = new Set([1008, 4401, 4400, 4404]);

/** Orders two Redis stream ids (`<ms>-<seq>`): negative when a is older than b. */
export function compareCursors(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split("-").map(Number);
  const [bMs = 0, bSeq = 0] = b.split("-").map(Number);
  return aMs !== bMs ? aMs - bMs : aSeq - bSeq;
}

/** A cursor just before `iso` (with a margin for clock skew), to replay an order from its start. */
export function cursorBefore(iso: string, marginMs = 5000): string {
  return `${Math.max(0, Date.parse(iso) - marginMs)}-0`;
}

export interface LiveFeedOptions {
  /** `/orders/<id>` or `/orders`; becomes `/ws/orders/...` and `/sse/orders/...`. */
  path: string;
  /** The last cursor already seen; the feed resumes after it. */
  after?: string | null;
  onMessage: (message: NotifyMessage) => void;
  onState?: (state: FeedState, transport: Transport) => void;
  /** WebSocket failures in a row (before ever opening) after which SSE is used instead. */
  wsAttempts?: number;
  origin?: string;
  createWebSocket?: (url: string) => WebSocket;
  createEventSource?: (url: string) => EventSource;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/**
 * A live feed of saga events from notify: WebSocket first, SSE when WebSockets do not get
 * through; every reconnect asks for what came after the last cursor, so nothing is missed,
 * and a message at or before that cursor (a replay overlap) is dropped.
 */
export class LiveFeed {
  private cursor: string | null;
  private transport: Transport = "websocket";
  private wsFailures = 0;
  private retries = 0;
  private socket: WebSocket | null = null;
  private source: EventSource | null = null;
  private timer: unknown = null;
  private stopped = false;
  private readonly opts: Required<Pick<LiveFeedOptions, "wsAttempts" | "origin" | "setTimer" | "clearTimer">> &
    LiveFeedOptions;

  constructor(options: LiveFeedOptions) {
    this.opts = {
      wsAttempts: 2,
      origin: typeof window === "undefined" ? "http://localhost" : window.location.origin,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      ...options,
    };
    this.cursor = options.after ?? null;
  }

  /** The cursor of the last message delivered. */
  get lastCursor(): string | null {
    return this.cursor;
  }

  get currentTransport(): Transport {
    return this.transport;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = null;
    this.closeSocket();
    this.source?.close();
    this.source = null;
    this.opts.onState?.("closed", this.transport);
  }

  private url(prefix: "/ws" | "/sse"): string {
    const url = new URL(`${prefix}${this.opts.path}`, this.opts.origin);
    if (this.cursor) url.searchParams.set("after", this.cursor);
    if (prefix === "/ws") url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.toString();
  }

  private connect(): void {
    if (this.stopped) return;
    this.opts.onState?.(this.retries === 0 ? "connecting" : "reconnecting", this.transport);
    if (this.transport === "websocket") this.connectWebSocket();
    else this.connectEventSource();
  }

  private connectWebSocket(): void {
    const create = this.opts.createWebSocket ?? ((url: string) => new WebSocket(url));
    let opened = false;
    let socket: WebSocket;
    try {
      socket = create(this.url("/ws"));
    } catch {
      this.wsFailures = this.opts.wsAttempts;
      this.transport = "sse";
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      this.wsFailures = 0;
      this.retries = 0;
      this.opts.onState?.("live", "websocket");
    };
    socket.onmessage = (event: MessageEvent) => this.receive(event.data);
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (opened && PERMANENT_CLOSE_CODES.has(event.code)) {
        this.stopped = true;
        this.opts.onState?.("closed", "websocket");
        return;
      }
      if (!opened) {
        this.wsFailures += 1;
        if (this.wsFailures >= this.opts.wsAttempts) this.transport = "sse";
      }
      this.scheduleReconnect();
    };
  }

  private connectEventSource(): void {
    const create = this.opts.createEventSource ?? ((url: string) => new EventSource(url));
    const source = create(this.url("/sse"));
    this.source = source;
    const onEvent = (event: MessageEvent) => this.receive(event.data);
    source.onmessage = onEvent;
    for (const type of SSE_EVENT_TYPES) source.addEventListener(type, onEvent as EventListener);
    source.onopen = () => {
      this.retries = 0;
      this.opts.onState?.("live", "sse");
    };
    source.onerror = () => {
      if (this.source !== source) return;
      // EventSource retries by itself with Last-Event-ID; reopen with `after` only when it gave up.
      if (source.readyState === 2) {
        this.source = null;
        this.scheduleReconnect();
      } else {
        this.opts.onState?.("reconnecting", "sse");
      }
    };
  }

  private receive(raw: unknown): void {
    if (typeof raw !== "string") return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return;
    }
    const parsed = notifyMessageSchema.safeParse(json);
    if (!parsed.success) return;
    const message = parsed.data;
    if (this.cursor && compareCursors(message.cursor, this.cursor) <= 0) return;
    this.cursor = message.cursor;
    this.opts.onMessage(message);
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= 1) socket.close();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.retries += 1;
    this.opts.onState?.("reconnecting", this.transport);
    const delay = Math.min(10_000, 250 * 2 ** Math.min(this.retries, 6));
    this.timer = this.opts.setTimer(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }
}
