import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockFetch, renderWithQuery } from "@/test/helpers";
import { DeadLetters } from "./DeadLetters";
import { Pipeline } from "./Pipeline";
import { batchedEvents, throttledRefresh } from "./refresh";
import { StockLevels } from "./StockLevels";
import { ThroughputChart } from "./ThroughputChart";

const letter = {
  id: "1700000000000-0",
  source_id: "1699999999999-0",
  type: "stock.reserved",
  order_id: "0123456789abcdef0123456789abcdef",
  function: "dispatch-delivery",
  reason: "HTTP 500",
  status_code: 500,
  body_excerpt: "boom",
  deliveries: 5,
  failed_at: "2026-11-27T10:00:00+00:00",
};

describe("operations view", () => {
  it("shows orders per status along the pipeline, zero where none", () => {
    render(<Pipeline counts={{ PENDING: 2, DISPATCHED: 1, CANCELLED: 3 }} />);
    expect(screen.getByTestId("count-PENDING")).toHaveTextContent("2");
    expect(screen.getByTestId("count-IN_TRANSIT")).toHaveTextContent("0");
    expect(screen.getByTestId("count-CANCELLED")).toHaveTextContent("3");
  });

  it("shows a dash for a final status whose count is being rebuilt", () => {
    render(<Pipeline counts={{ PENDING: 1, DELIVERED: null, CANCELLED: null }} />);
    expect(screen.getByTestId("count-DELIVERED")).toHaveTextContent("–");
    expect(screen.getByTestId("count-PENDING")).toHaveTextContent("1");
  });

  it("draws throughput with a summary for screen readers, and says when there is none", () => {
    const { unmount } = render(
      <ThroughputChart
        points={[
          { minute: "2026-11-27T10:00:00+00:00", placed: 3, delivered: 1, cancelled: 0 },
          { minute: "2026-11-27T10:01:00+00:00", placed: 2, delivered: 2, cancelled: 1 },
        ]}
      />,
    );
    expect(screen.getByRole("img")).toHaveAccessibleName(/5 placed, 3 delivered, 1 cancelled/);
    unmount();
    render(<ThroughputChart points={[]} />);
    expect(screen.getByText("No orders in the last minutes.")).toBeInTheDocument();
  });

  it("marks refilled stock and sold-out items", () => {
    render(
      <StockLevels
        stock={[
          { sku: "A", name: "Fries", available: 0, reserved: 0, initial: 10, refilled: 0 },
          { sku: "B", name: "Water", available: 12, reserved: 2, initial: 10, refilled: 5, last_refill_at: "2026-11-27T10:00:00Z" },
        ]}
      />,
    );
    expect(screen.getByText("sold out")).toBeInTheDocument();
    expect(screen.getByText(/refilled \+5/)).toBeInTheDocument();
    expect(screen.getByRole("meter", { name: "Water stock" })).toHaveAttribute("aria-valuenow", "12");
  });

  it("says when there are no dead letters", async () => {
    mockFetch(() => json(200, []));
    renderWithQuery(<DeadLetters />);
    expect(await screen.findByText(/No dead letters/)).toBeInTheDocument();
  });

  it("replays a dead letter on the operator's session, sending no password of its own", async () => {
    const fetch = mockFetch((url) => {
      if (url === "/function/dead-letters") return json(200, [letter]);
      return json(200, { replayed: letter.id, new_id: "1700000000001-0" });
    });
    const user = userEvent.setup();
    renderWithQuery(<DeadLetters />);
    await user.click(await screen.findByRole("button", { name: /replay stock\.reserved/i }));
    const dialog = screen.getByRole("dialog");
    await user.click(within(dialog).getByRole("button", { name: "Replay" }));
    await waitFor(() => expect(screen.getAllByText(/Replayed 1700000000000-0 as 1700000000001-0/).length).toBeGreaterThan(0));
    const replays = fetch.mock.calls.filter(([url]) => url === `/function/dead-letters/${letter.id}/replay`);
    expect(replays.map(([, init]) => init?.method)).toEqual(["POST"]);
    expect(new Headers(replays[0]?.[1]?.headers).get("Authorization")).toBeNull();
  });

  it("says the session ended when a replay is refused with 401", async () => {
    mockFetch((url) => {
      if (url === "/function/dead-letters") return json(200, [letter]);
      return json(401, { error: "unauthorized", field: "session", message: "sign in on /ops first" });
    });
    const user = userEvent.setup();
    renderWithQuery(<DeadLetters />);
    await user.click(await screen.findByRole("button", { name: /replay stock\.reserved/i }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Replay" }));
    expect(await screen.findByText("Your session ended: sign in again.")).toBeInTheDocument();
  });
});

describe("summary refresh on live events", () => {
  afterEach(() => vi.useRealTimers());

  it("fetches at most once per gap during a burst, and once after it", () => {
    vi.useFakeTimers();
    let last = 0;
    const refresh = vi.fn(() => {
      last = Date.now();
    });
    const throttle = throttledRefresh(refresh, 2500, () => last);
    for (let i = 0; i < 100; i++) {
      throttle.request(); // 100 events over 10 s
      vi.advanceTimersByTime(100);
    }
    expect(refresh.mock.calls.length).toBeGreaterThanOrEqual(4);
    expect(refresh.mock.calls.length).toBeLessThanOrEqual(5);
    vi.advanceTimersByTime(2500);
    const afterBurst = refresh.mock.calls.length;
    expect(last).toBeGreaterThanOrEqual(9900); // the last event is reflected
    vi.advanceTimersByTime(10_000);
    expect(refresh).toHaveBeenCalledTimes(afterBurst); // nothing more without events
  });

  it("counts the gap from the last fetch, whoever started it", () => {
    vi.useFakeTimers();
    const refresh = vi.fn();
    const polledAt = Date.now(); // the periodic poll just fetched
    const throttle = throttledRefresh(refresh, 2500, () => polledAt);
    throttle.request();
    expect(refresh).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2500);
    expect(refresh).toHaveBeenCalledTimes(1);
  });
});

describe("live events on the operations view", () => {
  afterEach(() => vi.useRealTimers());

  it("hands a burst on in one batch per gap, newest first, keeping the newest", () => {
    vi.useFakeTimers();
    const flush = vi.fn();
    const batches = batchedEvents<number>(flush, 500, 3);
    for (let n = 1; n <= 10; n++) batches.push(n);
    vi.advanceTimersByTime(499);
    expect(flush).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(flush).toHaveBeenCalledTimes(1);
    expect(flush).toHaveBeenLastCalledWith([10, 9, 8]);
    batches.push(11);
    vi.advanceTimersByTime(500);
    expect(flush).toHaveBeenCalledTimes(2);
    expect(flush).toHaveBeenLastCalledWith([11]);
    vi.advanceTimersByTime(10_000);
    expect(flush).toHaveBeenCalledTimes(2);
  });

  it("drops what is waiting when the page goes away", () => {
    vi.useFakeTimers();
    const flush = vi.fn();
    const batches = batchedEvents<number>(flush, 500, 3);
    batches.push(1);
    batches.cancel();
    vi.advanceTimersByTime(1000);
    expect(flush).not.toHaveBeenCalled();
  });
});
