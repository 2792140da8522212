import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { vi } from "vitest";
import type { MenuItem, Order } from "@/lib/schemas";

export type Handler = (url: string, init: RequestInit | undefined) => Response | Promise<Response>;

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** Replace `fetch` with `handler`; returns the mock so tests can inspect calls. */
export function mockFetch(handler: Handler) {
  const mock = vi.fn((input: RequestInfo | URL, init?: RequestInit) => Promise.resolve(handler(String(input), init)));
  vi.stubGlobal("fetch", mock);
  return mock;
}

/** Render `ui` with a fresh query client; `seed` may fill its cache first. */
export function renderWithQuery(ui: ReactElement, seed?: (client: QueryClient) => void) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  seed?.(client);
  return { client, ...render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>) };
}

export function menuItem(overrides: Partial<MenuItem> = {}): MenuItem {
  return {
    sku: "PIZ-MARG",
    name: "Pizza Margherita",
    description: "Tomato, mozzarella",
    category: "Pizza",
    price: 9.5,
    price_cents: 950,
    stock: 10,
    sold_out: false,
    ...overrides,
  };
}

export function order(overrides: Partial<Order> = {}): Order {
  return {
    order_id: "0123456789abcdef0123456789abcdef",
    status: "PENDING",
    customer: { name: "Ada", address: "1 Loop St" },
    items: [{ sku: "PIZ-MARG", name: "Pizza Margherita", quantity: 2, unit_price_cents: 950 }],
    total_cents: 1900,
    total: 19,
    history: [{ status: "PENDING", at: "2026-11-27T10:00:00.000000+00:00", event_id: "evt-placed" }],
    created_at: "2026-11-27T10:00:00.000000+00:00",
    updated_at: "2026-11-27T10:00:00.000000+00:00",
    ...overrides,
  };
}

/** A WebSocket stand-in the test drives: `open()`, `message(obj)`, `drop()`. */
export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }
  static latest(): FakeWebSocket {
    const last = FakeWebSocket.instances.at(-1);
    if (!last) throw new Error("no WebSocket was opened");
    return last;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  message(body: unknown) {
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify(body) }));
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code }));
  }
  send() {}
  close() {
    this.readyState = 3;
  }
}

/** An EventSource stand-in: `open()`, `message(obj)`, `fail(closed)`. */
export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  listeners = new Map<string, (event: MessageEvent) => void>();
  constructor(readonly url: string) {
    FakeEventSource.instances.push(this);
  }
  addEventListener(type: string, listener: (event: MessageEvent) => void) {
    this.listeners.set(type, listener);
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  message(body: unknown, type = "message") {
    const event = new MessageEvent(type, { data: JSON.stringify(body) });
    if (type === "message") this.onmessage?.(event);
    else this.listeners.get(type)?.(event);
  }
  fail(closed: boolean) {
    this.readyState = closed ? 2 : 0;
    this.onerror?.(new Event("error"));
  }
  close() {
    this.readyState = 2;
  }
}

export function notifyMessage(cursor: string, status: Order["status"] | null, extra: Record<string, unknown> = {}) {
  return {
    cursor,
    event_id: `evt-${cursor}`,
    type: "delivery.dispatched",
    order_id: "0123456789abcdef0123456789abcdef",
    status,
    at: "2026-11-27T10:00:05.000000+00:00",
    data: {},
    ...extra,
  };
}
