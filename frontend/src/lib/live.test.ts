import { beforeEach, describe, expect, it } from "vitest";
import { FakeEventSource, FakeWebSocket, notifyMessage } from "@/test/helpers";
import { compareCursors, cursorBefore, LiveFeed, type LiveFeedOptions } from "./live";
import type { NotifyMessage } from "./schemas";

function harness(overrides: Partial<LiveFeedOptions> = {}) {
  const received: NotifyMessage[] = [];
  const timers: (() => void)[] = [];
  const feed = new LiveFeed({
    path: "/orders/abc",
    origin: "http://127.0.0.1:3000",
    onMessage: (m) => received.push(m),
    createWebSocket: (url) => new FakeWebSocket(url) as unknown as WebSocket,
    createEventSource: (url) => new FakeEventSource(url) as unknown as EventSource,
    setTimer: (fn) => timers.push(fn),
    clearTimer: () => {},
    ...overrides,
  });
  const fireTimers = () => timers.splice(0).forEach((fn) => fn());
  return { feed, received, fireTimers };
}

beforeEach(() => {
  FakeWebSocket.instances = [];
  FakeEventSource.instances = [];
});

describe("cursors", () => {
  it("orders stream ids by time, then sequence", () => {
    expect(compareCursors("1700-1", "1700-0")).toBeGreaterThan(0);
    expect(compareCursors("1699-9", "1700-0")).toBeLessThan(0);
    expect(compareCursors("1700-2", "1700-2")).toBe(0);
  });

  it("starts an order's replay a little before it was created", () => {
    expect(cursorBefore("2026-11-27T10:00:05.000Z", 5000)).toBe(`${Date.parse("2026-11-27T10:00:00.000Z")}-0`);
  });
});

describe("LiveFeed", () => {
  it("connects over WebSocket to /ws with the starting cursor", () => {
    const { feed } = harness({ after: "100-0" });
    feed.start();
    expect(FakeWebSocket.latest().url).toBe("ws://127.0.0.1:3000/ws/orders/abc?after=100-0");
  });

  it("reconnects after a dropped connection asking for what came after the last message", () => {
    const { feed, received, fireTimers } = harness();
    feed.start();
    const socket = FakeWebSocket.latest();
    socket.open();
    socket.message(notifyMessage("200-0", "STOCK_RESERVED"));
    socket.message(notifyMessage("200-1", "DISPATCHED"));
    socket.drop();
    fireTimers();
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(FakeWebSocket.latest().url).toContain("after=200-1");
    expect(received.map((m) => m.cursor)).toEqual(["200-0", "200-1"]);
  });

  it("drops messages at or before the last cursor (replay overlap after reconnecting)", () => {
    const { feed, received } = harness({ after: "200-0" });
    feed.start();
    const socket = FakeWebSocket.latest();
    socket.open();
    socket.message(notifyMessage("199-5", "PENDING"));
    socket.message(notifyMessage("200-0", "STOCK_RESERVED"));
    socket.message(notifyMessage("201-0", "DISPATCHED"));
    socket.message(notifyMessage("201-0", "DISPATCHED"));
    expect(received.map((m) => m.cursor)).toEqual(["201-0"]);
    expect(feed.lastCursor).toBe("201-0");
  });

  it("ignores messages that do not match the contract", () => {
    const { feed, received } = harness();
    feed.start();
    const socket = FakeWebSocket.latest();
    socket.open();
    socket.onmessage?.(new MessageEvent("message", { data: "not json" }));
    socket.message({ hello: "world" });
    expect(received).toEqual([]);
  });

  it("falls back to SSE when WebSockets never open, keeping the cursor", () => {
    const states: string[] = [];
    const { feed, received, fireTimers } = harness({
      after: "300-0",
      onState: (state, transport) => states.push(`${state}/${transport}`),
    });
    feed.start();
    FakeWebSocket.latest().drop();
    fireTimers();
    FakeWebSocket.latest().drop();
    fireTimers();
    expect(FakeWebSocket.instances).toHaveLength(2);
    const source = FakeEventSource.instances.at(-1)!;
    expect(source.url).toBe("http://127.0.0.1:3000/sse/orders/abc?after=300-0");
    source.open();
    source.message(notifyMessage("301-0", "DISPATCHED"), "delivery.dispatched");
    source.message(notifyMessage("302-0", "PREPARING"));
    expect(received.map((m) => m.cursor)).toEqual(["301-0", "302-0"]);
    expect(states).toContain("live/sse");
  });

  it("reopens SSE with the last cursor when the browser gives up on it", () => {
    const { feed, fireTimers } = harness({ wsAttempts: 1 });
    feed.start();
    FakeWebSocket.latest().drop();
    fireTimers();
    const first = FakeEventSource.instances[0]!;
    first.open();
    first.message(notifyMessage("400-0", "DISPATCHED"));
    first.fail(false); // EventSource reconnects by itself: no new one
    fireTimers();
    expect(FakeEventSource.instances).toHaveLength(1);
    first.fail(true);
    fireTimers();
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(FakeEventSource.instances[1]!.url).toContain("after=400-0");
  });

  it("reconnects when notify says try again later (1013), but not when it refuses for good", () => {
    const states: string[] = [];
    const { feed, fireTimers } = harness({ onState: (state) => states.push(state) });
    feed.start();
    FakeWebSocket.latest().open();
    FakeWebSocket.latest().drop(1013);
    fireTimers();
    expect(FakeWebSocket.instances).toHaveLength(2);
    FakeWebSocket.latest().open();
    FakeWebSocket.latest().drop(4404);
    fireTimers();
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(states.at(-1)).toBe("closed");
  });

  it("gives up on the all-orders feed once refused for want of a session (4401)", () => {
    const states: string[] = [];
    const { feed, fireTimers } = harness({ path: "/orders", onState: (state) => states.push(state) });
    feed.start();
    FakeWebSocket.latest().open();
    FakeWebSocket.latest().drop(4401);
    fireTimers();
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(FakeEventSource.instances).toHaveLength(0);
    expect(states.at(-1)).toBe("closed");
  });

  it("stops reconnecting once stopped", () => {
    const { feed, fireTimers } = harness();
    feed.start();
    FakeWebSocket.latest().open();
    feed.stop();
    FakeWebSocket.latest().drop();
    fireTimers();
    expect(FakeWebSocket.instances).toHaveLength(1);
  });
});
