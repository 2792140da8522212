import { screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockFetch, renderWithQuery } from "@/test/helpers";
import { PrometheusLink } from "./PrometheusLink";

describe("link to Prometheus", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("links to the stack's Prometheus when the server names it", async () => {
    mockFetch(() => json(200, { prometheus_url: "http://127.0.0.1:9090" }));
    renderWithQuery(<PrometheusLink />);
    const link = await screen.findByRole("link", { name: /prometheus/i });
    expect(link).toHaveAttribute("href", "http://127.0.0.1:9090");
  });

  it("shows nothing when the stack runs without Prometheus", async () => {
    const fetch = mockFetch(() => json(200, { prometheus_url: null }));
    renderWithQuery(<PrometheusLink />);
    await vi.waitFor(() => expect(fetch).toHaveBeenCalled());
    expect(screen.queryByRole("link")).toBeNull();
  });
});
