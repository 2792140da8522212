import { describe, expect, it } from "vitest";
import { order } from "@/test/helpers";
import {
  fieldPath,
  formErrors,
  menuSchema,
  notifyMessageSchema,
  opsSummarySchema,
  orderFormSchema,
  orderSchema,
} from "./schemas";

const validForm = {
  customer: { name: "Ada", address: "1 Loop St", phone: "", email: "" },
  items: [{ sku: "PIZ-MARG", quantity: 2 }],
  note: "",
};

describe("API response schemas", () => {
  it("accepts the menu as the menu function returns it", () => {
    const menu = menuSchema.parse([
      { sku: "PIZ-MARG", name: "Pizza", description: "", category: "Pizza", price: 9.5, price_cents: 950, stock: 0, sold_out: true },
    ]);
    expect(menu[0]?.sold_out).toBe(true);
  });

  it("rejects a menu item whose stock is not a number", () => {
    const result = menuSchema.safeParse([{ sku: "X", name: "X", price: 1, price_cents: 100, stock: "many", sold_out: false }]);
    expect(result.success).toBe(false);
  });

  it("accepts an order with Python's isoformat timestamps, delivery and cancel reason", () => {
    const parsed = orderSchema.parse({
      ...order(),
      status: "CANCELLED",
      cancel_reason: "out of stock: PIZ-MARG",
      delivery: { courier: "Grace", eta_minutes: 25, dispatched_at: "2026-11-27T10:00:03.123456+00:00" },
    });
    expect(parsed.cancel_reason).toBe("out of stock: PIZ-MARG");
  });

  it("rejects an order in a status the saga does not have", () => {
    expect(orderSchema.safeParse({ ...order(), status: "LOST" }).success).toBe(false);
  });

  it("accepts notify messages with a null status and refuses a cursor that is not a stream id", () => {
    const message = { cursor: "1700000000000-0", event_id: "e", type: "stock.released", order_id: "o", status: null, at: "2026-11-27T10:00:00Z", data: {} };
    expect(notifyMessageSchema.parse(message).status).toBeNull();
    expect(notifyMessageSchema.safeParse({ ...message, cursor: "latest" }).success).toBe(false);
  });

  it("accepts a resync message for the all-orders stream", () => {
    const resync = { cursor: "5-0", event_id: null, type: "resync", order_id: null, status: null, at: null, data: { reason: "trimmed" } };
    expect(notifyMessageSchema.parse(resync).type).toBe("resync");
  });

  it("accepts the ops summary contract", () => {
    const summary = opsSummarySchema.parse({
      orders_by_status: { PENDING: 1, DELIVERED: 4 },
      throughput: [{ minute: "2026-11-27T10:00:00+00:00", placed: 2, delivered: 1, cancelled: 0 }],
      stock: [{ sku: "PIZ-MARG", name: "Pizza", available: 3, reserved: 1, initial: 40, refilled: 10, last_refill_at: "2026-11-27T09:55:00+00:00" }],
      stream: { length: 10, pending: 0, dead_letters: 1 },
      orders_counted: { complete: true, checkpoint_at: "2026-11-27T09:59:00+00:00" },
      at: "2026-11-27T10:00:30+00:00",
    });
    expect(summary.stock[0]?.refilled).toBe(10);
  });
});

describe("order form schema", () => {
  it("accepts a complete order and drops empty optional fields", () => {
    const parsed = orderFormSchema.parse(validForm);
    expect(parsed.customer.phone).toBeUndefined();
    expect(parsed.note).toBeUndefined();
  });

  it("names each bad field with the API's path", () => {
    const result = orderFormSchema.safeParse({
      customer: { name: "  ", address: "", phone: "call me", email: "nope" },
      items: [{ sku: "PIZ-MARG", quantity: 0 }],
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    const errors = formErrors(result.error);
    expect(Object.keys(errors).sort()).toEqual(
      ["customer.address", "customer.email", "customer.name", "customer.phone", "items[0].quantity"].sort(),
    );
    expect(errors["items[0].quantity"]).toBe("At least 1");
  });

  it("refuses more than 50 of one item, as place-order does", () => {
    const result = orderFormSchema.safeParse({ ...validForm, items: [{ sku: "PIZ-MARG", quantity: 51 }] });
    expect(result.success).toBe(false);
  });

  it("refuses an empty cart", () => {
    const result = orderFormSchema.safeParse({ ...validForm, items: [] });
    expect(result.success || formErrors(result.error)).toEqual({ items: "Add something to your cart first" });
  });

  it("builds field paths like the API", () => {
    expect(fieldPath(["items", 3, "sku"])).toBe("items[3].sku");
    expect(fieldPath([])).toBe("body");
  });
});
