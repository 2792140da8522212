import { act, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeWebSocket, json, mockFetch, notifyMessage, order, renderWithQuery } from "@/test/helpers";
import { orderQuery } from "@/lib/api";
import { OrderTracking } from "./OrderTracking";

const ID = "0123456789abcdef0123456789abcdef";
// A stream id one second after the order was created (the feed starts a little before that).
const CURSOR = `${Date.parse(order().created_at) + 1000}-0`;

beforeEach(() => {
  FakeWebSocket.instances = [];
  vi.stubGlobal("WebSocket", FakeWebSocket);
});
afterEach(() => vi.unstubAllGlobals());

describe("order tracking", () => {
  it("moves to DISPATCHED when notify says so, without reloading", async () => {
    let current = order();
    mockFetch(() => json(200, current));
    renderWithQuery(<OrderTracking orderId={ID} />);
    expect(await screen.findByTestId("order-status")).toHaveTextContent("Order placed");
    await waitFor(() => expect(FakeWebSocket.instances).toHaveLength(1));
    const socket = FakeWebSocket.latest();
    expect(socket.url).toMatch(new RegExp(`/ws/orders/${ID}\\?after=\\d+-0$`));
    current = order({
      status: "DISPATCHED",
      delivery: { courier: "Grace", eta_minutes: 20 },
      history: [
        ...order().history,
        { status: "STOCK_RESERVED", at: "2026-11-27T10:00:01+00:00", event_id: "evt-r" },
        { status: "DISPATCHED", at: "2026-11-27T10:00:05+00:00", event_id: `evt-${CURSOR}` },
      ],
    });
    act(() => {
      socket.open();
      socket.message(notifyMessage(CURSOR, "DISPATCHED"));
    });
    expect(screen.getByTestId("order-status")).toHaveTextContent("Courier assigned");
    expect(screen.getByTestId("live-badge")).toHaveTextContent("Live · WebSocket");
    expect(await screen.findByText("Grace")).toBeInTheDocument();
    expect(sessionStorage.getItem(`order-cursor:${ID}`)).toBe(CURSOR);
  });

  it("follows an order placed here from its first step, even when it has finished by the time it is fetched", async () => {
    const cancelled = order({
      status: "CANCELLED",
      cancel_reason: "payment declined",
      history: [
        ...order().history,
        { status: "STOCK_RESERVED", at: "2026-11-27T10:00:01+00:00", event_id: "evt-r" },
        { status: "CANCELLED", at: "2026-11-27T10:00:02+00:00", event_id: "evt-c", reason: "payment declined" },
      ],
    });
    const fetch = mockFetch(() => json(200, cancelled));
    renderWithQuery(<OrderTracking orderId={ID} />, (client) =>
      client.setQueryData(orderQuery(ID).queryKey, order()),
    );
    await waitFor(() => expect(FakeWebSocket.instances).toHaveLength(1));
    const socket = FakeWebSocket.latest();
    // The refetch finds the order already cancelled; the feed still delivers what led there.
    await waitFor(() => expect(fetch).toHaveBeenCalled());
    expect(await screen.findByTestId("cancel-reason")).toHaveTextContent("payment declined");
    expect(socket.readyState).not.toBe(3);
    act(() => {
      socket.open();
      socket.message(notifyMessage(CURSOR, null, { type: "payment.declined" }));
    });
    expect(socket.readyState).toBe(1);
    act(() => socket.message(notifyMessage(`${Date.parse(order().created_at) + 2000}-0`, "CANCELLED")));
    // The final status is the last thing the page shows: the feed ends there.
    expect(socket.readyState).toBe(3);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it("resumes after the cursor this tab saw last", async () => {
    sessionStorage.setItem(`order-cursor:${ID}`, "1700000000000-4");
    mockFetch(() => json(200, order()));
    renderWithQuery(<OrderTracking orderId={ID} />);
    await waitFor(() => expect(FakeWebSocket.instances).toHaveLength(1));
    expect(FakeWebSocket.latest().url).toContain("after=1700000000000-4");
  });

  it("shows the cancellation reason and does not listen to a finished order", async () => {
    mockFetch(() =>
      json(
        200,
        order({
          status: "CANCELLED",
          cancel_reason: "out of stock: PIZ-MARG",
          history: [
            ...order().history,
            { status: "CANCELLED", at: "2026-11-27T10:00:01+00:00", event_id: "evt-c", reason: "out of stock: PIZ-MARG" },
          ],
        }),
      ),
    );
    renderWithQuery(<OrderTracking orderId={ID} />);
    expect(await screen.findByTestId("cancel-reason")).toHaveTextContent("out of stock: PIZ-MARG");
    expect(screen.getByTestId("order-status")).toHaveTextContent("Cancelled");
    expect(FakeWebSocket.instances).toHaveLength(0);
  });

  it("says so when the order does not exist", async () => {
    mockFetch(() => json(404, { error: "not_found", field: "order_id", message: `no order has id ${ID}` }));
    renderWithQuery(<OrderTracking orderId={ID} />);
    expect(await screen.findByText("Order not found", {}, { timeout: 3000 })).toBeInTheDocument();
  });
});
