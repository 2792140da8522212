import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createMemoryHistory, RouterProvider } from "@tanstack/react-router";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { FakeWebSocket, json, menuItem, mockFetch, order } from "@/test/helpers";
import { makeRouter } from "./router";

function renderAt(path: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = makeRouter(createMemoryHistory({ initialEntries: [path] }));
  render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

beforeEach(() => {
  vi.stubGlobal("WebSocket", FakeWebSocket);
  mockFetch((url) => {
    if (url.startsWith("/function/order-status/")) return json(200, order());
    return json(200, [menuItem()]);
  });
});

describe("routes", () => {
  it("opens an order's tracking page from its address (a reload or a shared link)", async () => {
    renderAt(`/orders/${order().order_id}`);
    expect(await screen.findByRole("heading", { name: "Order tracking" })).toBeInTheDocument();
    expect(screen.getByText(order().order_id)).toBeInTheDocument();
  });

  it("says when a page does not exist, with a way back to the shop", async () => {
    renderAt("/nowhere");
    expect(await screen.findByRole("heading", { name: "Page not found" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Back to the shop" })).toHaveAttribute("href", "/");
  });

  it("switches to dark mode with the toggle and remembers the choice", async () => {
    renderAt("/");
    await userEvent.click(await screen.findByRole("button", { name: "Switch to dark mode" }));
    expect(document.documentElement).toHaveClass("dark");
    expect(localStorage.getItem("theme")).toBe("dark");
    expect(screen.getByRole("button", { name: "Switch to light mode" })).toHaveAttribute("aria-pressed", "true");
  });
});
