import { describe, expect, it } from "vitest";
import { notifyMessage } from "@/test/helpers";
import { currentStatus, mergeTimeline } from "./timeline";

const history = [
  { status: "PENDING" as const, at: "2026-11-27T10:00:00+00:00", event_id: "evt-placed" },
  { status: "STOCK_RESERVED" as const, at: "2026-11-27T10:00:01+00:00", event_id: "evt-reserved" },
];

describe("order timeline", () => {
  it("adds live statuses after the stored history, without repeating an event", () => {
    const live = [
      notifyMessage("1-0", "STOCK_RESERVED", { event_id: "evt-reserved", at: "2026-11-27T10:00:01+00:00" }),
      notifyMessage("2-0", "DISPATCHED", { event_id: "evt-dispatched", at: "2026-11-27T10:00:02+00:00" }),
      notifyMessage("3-0", null, { event_id: "evt-released", type: "stock.released" }),
    ];
    const timeline = mergeTimeline(history, live);
    expect(timeline.map((e) => e.status)).toEqual(["PENDING", "STOCK_RESERVED", "DISPATCHED"]);
    expect(currentStatus(timeline, "PENDING")).toBe("DISPATCHED");
  });

  it("ends in CANCELLED with the reason the event carried", () => {
    const live = [
      notifyMessage("2-0", "CANCELLED", {
        event_id: "evt-cancel",
        type: "order.cancelled",
        at: "2026-11-27T10:00:02+00:00",
        data: { reason: "out of stock: PIZ-MARG" },
      }),
    ];
    const timeline = mergeTimeline(history.slice(0, 1), live);
    expect(currentStatus(timeline, "PENDING")).toBe("CANCELLED");
    expect(timeline.at(-1)?.reason).toBe("out of stock: PIZ-MARG");
  });

  it("leaves a resync out of the timeline (the refetched order brings its history)", () => {
    const resync = notifyMessage("9-0", "DISPATCHED", { type: "resync", event_id: null, data: { reason: "trimmed" } });
    expect(mergeTimeline(history, [resync]).map((e) => e.status)).toEqual(["PENDING", "STOCK_RESERVED"]);
  });

  it("keeps saga order for statuses stamped in the same instant", () => {
    const at = "2026-11-27T10:00:00+00:00";
    const timeline = mergeTimeline(
      [
        { status: "STOCK_RESERVED", at, event_id: "b" },
        { status: "PENDING", at, event_id: "a" },
      ],
      [],
    );
    expect(timeline.map((e) => e.status)).toEqual(["PENDING", "STOCK_RESERVED"]);
  });
});
