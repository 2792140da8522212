import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { menuItem } from "@/test/helpers";
import { MenuList } from "./MenuList";

describe("menu", () => {
  const items = [
    menuItem(),
    menuItem({ sku: "DES-TIRA", name: "Tiramisu", category: "Desserts", stock: 0, sold_out: true }),
    menuItem({ sku: "DRK-WATR", name: "Water", category: "Drinks", price_cents: 250, stock: 2 }),
  ];

  it("shows prices and stock, grouped by category", () => {
    render(<MenuList items={items} inCart={() => 0} onAdd={vi.fn()} />);
    expect(screen.getByRole("heading", { name: "Desserts" })).toBeInTheDocument();
    expect(screen.getAllByText("€9.50")).toHaveLength(2);
    expect(screen.getByText("10 in stock")).toBeInTheDocument();
    expect(screen.getByText("Only 2 left")).toBeInTheDocument();
  });

  it("disables a sold-out dish", async () => {
    const onAdd = vi.fn();
    render(<MenuList items={items} inCart={() => 0} onAdd={onAdd} />);
    const soldOut = screen.getByRole("button", { name: "Tiramisu is sold out" });
    expect(soldOut).toBeDisabled();
    await userEvent.click(screen.getByRole("button", { name: "Add Pizza Margherita to cart" }));
    expect(onAdd).toHaveBeenCalledWith("PIZ-MARG");
  });

  it("does not let the cart take more than the stock", () => {
    render(<MenuList items={items} inCart={(sku) => (sku === "DRK-WATR" ? 2 : 0)} onAdd={vi.fn()} />);
    expect(screen.getByRole("button", { name: "Add Water to cart" })).toBeDisabled();
  });
});
