import { describe, expect, it } from "vitest";
import { CheckoutAttempts } from "./idempotency";

function counter() {
  let n = 0;
  return () => `key-${++n}`;
}

describe("checkout attempts", () => {
  it("reuses the key for the same order body (double click, retry)", () => {
    const attempts = new CheckoutAttempts(sessionStorage, counter());
    const body = { items: [{ sku: "A", quantity: 1 }] };
    expect(attempts.keyFor(body)).toBe("key-1");
    expect(attempts.keyFor({ items: [{ sku: "A", quantity: 1 }] })).toBe("key-1");
  });

  it("makes a new key when the order changes", () => {
    const attempts = new CheckoutAttempts(sessionStorage, counter());
    attempts.keyFor({ items: [{ sku: "A", quantity: 1 }] });
    expect(attempts.keyFor({ items: [{ sku: "A", quantity: 2 }] })).toBe("key-2");
  });

  it("keeps the key across a reload and forgets it once the order is placed", () => {
    const body = { items: [{ sku: "A", quantity: 1 }] };
    const first = new CheckoutAttempts(sessionStorage, counter()).keyFor(body);
    const afterReload = new CheckoutAttempts(sessionStorage, () => "fresh");
    expect(afterReload.keyFor(body)).toBe(first);
    afterReload.finish();
    expect(afterReload.keyFor(body)).toBe("fresh");
  });
});
