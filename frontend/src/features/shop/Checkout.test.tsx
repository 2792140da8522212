import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useEffect } from "react";
import { describe, expect, it, vi } from "vitest";
import { orderQuery } from "@/lib/api";
import { CheckoutAttempts } from "@/lib/idempotency";
import type { MenuItem, Order } from "@/lib/schemas";
import { json, menuItem, mockFetch, order, renderWithQuery } from "@/test/helpers";
import { Checkout } from "./Checkout";
import { useCart } from "./useCart";

function Harness({ menu, skus, onPlaced }: { menu: MenuItem[]; skus: string[]; onPlaced: (o: Order) => void }) {
  const cart = useCart();
  // biome-ignore lint/correctness/useExhaustiveDependencies: fill the cart once
  useEffect(() => skus.forEach((sku) => cart.add(sku)), []);
  let n = 0;
  const attempts = new CheckoutAttempts(sessionStorage, () => `key-${++n}`);
  return <Checkout menu={menu} cart={cart} onPlaced={onPlaced} attempts={attempts} />;
}

async function fillCustomer(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText("Name"), "Ada Lovelace");
  await user.type(screen.getByLabelText("Delivery address"), "1 Loop St");
}

describe("checkout", () => {
  it("flags a required field when it is left empty, before anything is sent", async () => {
    const fetch = mockFetch(() => json(500, {}));
    const user = userEvent.setup();
    renderWithQuery(<Harness menu={[menuItem()]} skus={["PIZ-MARG"]} onPlaced={vi.fn()} />);
    await user.click(screen.getByLabelText("Name"));
    await user.tab();
    expect(await screen.findByText("Enter your name")).toBeInTheDocument();
    expect(screen.getByLabelText("Name")).toHaveAttribute("aria-invalid", "true");
    await user.click(screen.getByRole("button", { name: /place order/i }));
    expect(screen.getByText("Enter a delivery address")).toBeInTheDocument();
    expect(screen.getByLabelText("Name")).toHaveFocus();
    expect(fetch).not.toHaveBeenCalled();
  });

  it("flags a malformed phone number inline", async () => {
    mockFetch(() => json(500, {}));
    const user = userEvent.setup();
    renderWithQuery(<Harness menu={[menuItem()]} skus={["PIZ-MARG"]} onPlaced={vi.fn()} />);
    await user.type(screen.getByLabelText(/phone/i), "call me maybe");
    await user.tab();
    expect(screen.getByText(/Use digits/)).toBeInTheDocument();
  });

  it("asks for something in the cart", async () => {
    const fetch = mockFetch(() => json(500, {}));
    const user = userEvent.setup();
    renderWithQuery(<Harness menu={[menuItem()]} skus={[]} onPlaced={vi.fn()} />);
    await fillCustomer(user);
    await user.click(screen.getByRole("button", { name: /place order/i }));
    expect(screen.getByText("Add something to your cart first")).toBeInTheDocument();
    expect(fetch).not.toHaveBeenCalled();
  });

  it("places the order with an Idempotency-Key and hands the order on", async () => {
    const placed = order();
    const fetch = mockFetch(() => json(201, placed));
    const onPlaced = vi.fn();
    const user = userEvent.setup();
    const { client } = renderWithQuery(<Harness menu={[menuItem()]} skus={["PIZ-MARG", "PIZ-MARG"]} onPlaced={onPlaced} />);
    await fillCustomer(user);
    await user.click(screen.getByRole("button", { name: /place order · €19\.00/i }));
    await waitFor(() => expect(onPlaced).toHaveBeenCalledWith(placed));
    // The tracking page opens on the order as placed, not on a later fetch of it.
    expect(client.getQueryData(orderQuery(placed.order_id).queryKey)).toEqual(placed);
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe("/function/place-order");
    expect(new Headers(init?.headers).get("Idempotency-Key")).toBe("key-1");
    expect(JSON.parse(String(init?.body))).toEqual({
      customer: { name: "Ada Lovelace", address: "1 Loop St" },
      items: [{ sku: "PIZ-MARG", quantity: 2 }],
    });
  });

  it("retries with the same Idempotency-Key after a network failure", async () => {
    let calls = 0;
    const fetch = mockFetch(() => {
      calls += 1;
      if (calls === 1) throw new TypeError("Failed to fetch");
      return json(200, order());
    });
    const onPlaced = vi.fn();
    const user = userEvent.setup();
    renderWithQuery(<Harness menu={[menuItem()]} skus={["PIZ-MARG"]} onPlaced={onPlaced} />);
    await fillCustomer(user);
    await user.click(screen.getByRole("button", { name: /place order/i }));
    expect(await screen.findByText(/Cannot reach the server/)).toBeInTheDocument();
    expect(screen.getByText(/a retry cannot place the order twice/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: /place order/i }));
    await waitFor(() => expect(onPlaced).toHaveBeenCalled());
    const keys = fetch.mock.calls.map(([, init]) => new Headers(init?.headers).get("Idempotency-Key"));
    expect(keys).toEqual(["key-1", "key-1"]);
  });

  it("shows the gateway's error with its field, next to that field", async () => {
    mockFetch(() => json(400, { error: "validation", field: "customer.address", message: "Address is too vague" }));
    const user = userEvent.setup();
    renderWithQuery(<Harness menu={[menuItem()]} skus={["PIZ-MARG"]} onPlaced={vi.fn()} />);
    await fillCustomer(user);
    await user.click(screen.getByRole("button", { name: /place order/i }));
    const alert = await screen.findByTestId("order-error");
    expect(alert).toHaveTextContent("Order not placed");
    expect(alert).toHaveTextContent("Field: customer.address");
    expect(screen.getByLabelText("Delivery address")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getAllByText("Address is too vague")).toHaveLength(2);
  });

  it("marks the cart line the gateway says is sold out", async () => {
    mockFetch(() => json(409, { error: "sold_out", field: "items[1].sku", message: "Tiramisu is sold out" }));
    const menu = [menuItem(), menuItem({ sku: "DES-TIRA", name: "Tiramisu", price_cents: 590 })];
    const user = userEvent.setup();
    renderWithQuery(<Harness menu={menu} skus={["PIZ-MARG", "DES-TIRA"]} onPlaced={vi.fn()} />);
    await fillCustomer(user);
    await user.click(screen.getByRole("button", { name: /place order/i }));
    expect(await screen.findByTestId("order-error")).toHaveTextContent("Field: items[1].sku");
    expect(screen.getByLabelText("Quantity of Tiramisu")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Quantity of Pizza Margherita")).not.toHaveAttribute("aria-invalid");
  });

  it("warns when a line asks for more than is left", () => {
    mockFetch(() => json(500, {}));
    renderWithQuery(<Harness menu={[menuItem({ stock: 1 })]} skus={["PIZ-MARG", "PIZ-MARG"]} onPlaced={vi.fn()} />);
    expect(screen.getByText(/Only 1 left/)).toBeInTheDocument();
  });
});
