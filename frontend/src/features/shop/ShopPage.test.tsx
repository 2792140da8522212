import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { json, menuItem, mockFetch, renderWithQuery } from "@/test/helpers";
import { ShopPage } from "./ShopPage";

describe("shop page", () => {
  it("shows a loading state, then the menu, and adds to the cart with an announcement", async () => {
    mockFetch(() => json(200, [menuItem(), menuItem({ sku: "DES-TIRA", name: "Tiramisu", stock: 0, sold_out: true })]));
    const user = userEvent.setup();
    renderWithQuery(<ShopPage onPlaced={vi.fn()} />);
    expect(screen.getByLabelText("Loading the menu")).toBeInTheDocument();
    await user.click(await screen.findByRole("button", { name: "Add Pizza Margherita to cart" }));
    expect(within(screen.getByRole("list", { name: "Cart" })).getByText("Pizza Margherita")).toBeInTheDocument();
    expect(screen.getByText("Pizza Margherita added to your order (1 in the cart)")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: /Cart · 1 items/ })).toHaveAttribute("href", "#checkout");
  });

  it("says when the menu is empty", async () => {
    mockFetch(() => json(200, []));
    renderWithQuery(<ShopPage onPlaced={vi.fn()} />);
    expect(await screen.findByText(/The menu is empty/)).toBeInTheDocument();
  });

  it("says when the menu cannot be loaded, and can try again", async () => {
    let calls = 0;
    mockFetch(() => (++calls === 1 ? json(503, { error: "unavailable", message: "database is down" }) : json(200, [menuItem()])));
    const user = userEvent.setup();
    renderWithQuery(<ShopPage onPlaced={vi.fn()} />);
    expect(await screen.findByText("database is down")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("button", { name: "Add Pizza Margherita to cart" })).toBeInTheDocument();
  });
});
