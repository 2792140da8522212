import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { operatorQueryKey, opsSummaryQuery } from "@/lib/api";
import { FakeEventSource, FakeWebSocket, json, mockFetch, renderWithQuery } from "@/test/helpers";
import { OpsRoute } from "./OpsRoute";

const summary = {
  orders_by_status: { PENDING: 1 },
  throughput: [],
  stock: [],
  stream: { length: 1, pending: 0, dead_letters: 0 },
  orders_counted: { complete: true, checkpoint_at: null },
  at: "2026-11-27T10:00:00+00:00",
};

/** The UI server as far as /ops sees it: a session behind the password "s3cret". */
function uiServer({ signedIn = false, attemptsLeft = 5 } = {}) {
  const state = { signedIn, attemptsLeft };
  const fetch = mockFetch((url, init) => {
    const method = init?.method ?? "GET";
    if (url === "/session" && method === "GET") return json(200, { signed_in: state.signedIn });
    if (url === "/session" && method === "DELETE") {
      state.signedIn = false;
      return json(200, { signed_in: false });
    }
    if (url === "/session") {
      if (state.attemptsLeft <= 0) return json(429, { error: "too_many_attempts", field: "password", message: "retry in 42 s" });
      if (JSON.parse(String(init?.body)).password !== "s3cret") {
        state.attemptsLeft -= 1;
        return json(401, { error: "unauthorized", field: "password", message: "wrong password" });
      }
      state.signedIn = true;
      return json(200, { signed_in: true, expires_at: "2026-11-27T18:00:00+00:00" });
    }
    if (!state.signedIn) return json(401, { error: "unauthorized", field: "session", message: "sign in on /ops first" });
    if (url === "/function/ops-summary") return json(200, summary);
    if (url === "/function/dead-letters") return json(200, []);
    return json(404, { error: "not_found", message: "no" });
  });
  return { state, fetch };
}

beforeEach(() => {
  FakeWebSocket.instances = [];
  FakeEventSource.instances = [];
  vi.stubGlobal("WebSocket", FakeWebSocket);
  vi.stubGlobal("EventSource", FakeEventSource);
});

describe("signing in to the operations view", () => {
  it("asks for the admin password first, and loads nothing of the operator's before", async () => {
    const { fetch } = uiServer();
    renderWithQuery(<OpsRoute />);
    expect(await screen.findByLabelText("Admin password")).toBeInTheDocument();
    expect(fetch.mock.calls.map(([url]) => url)).toEqual(["/session"]);
    expect(FakeWebSocket.instances).toEqual([]);
  });

  it("says a wrong password is wrong, then signs in with the right one and shows the live view", async () => {
    uiServer();
    const user = userEvent.setup();
    renderWithQuery(<OpsRoute />);
    await user.type(await screen.findByLabelText("Admin password"), "guess");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong password.");
    expect(screen.getByLabelText("Admin password")).toHaveAttribute("aria-invalid", "true");
    await user.clear(screen.getByLabelText("Admin password"));
    await user.type(screen.getByLabelText("Admin password"), "s3cret");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByTestId("count-PENDING")).toHaveTextContent("1");
    await waitFor(() => expect(FakeWebSocket.instances.length).toBe(1));
    expect(FakeWebSocket.latest().url).toMatch(/\/ws\/orders$/);
    expect(FakeWebSocket.latest().url).not.toMatch(/token|password/);
  });

  it("tells a client that tried too often to wait", async () => {
    uiServer({ attemptsLeft: 0 });
    const user = userEvent.setup();
    renderWithQuery(<OpsRoute />);
    await user.type(await screen.findByLabelText("Admin password"), "s3cret");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Too many failed attempts: retry in 42 s.");
  });

  it("signs out back to the form", async () => {
    const { state } = uiServer({ signedIn: true });
    const user = userEvent.setup();
    renderWithQuery(<OpsRoute />);
    await user.click(await screen.findByRole("button", { name: "Sign out" }));
    expect(await screen.findByLabelText("Admin password")).toBeInTheDocument();
    expect(state.signedIn).toBe(false);
  });

  it("keeps nothing an operator saw once signed out", async () => {
    uiServer({ signedIn: true });
    const user = userEvent.setup();
    const { client } = renderWithQuery(<OpsRoute />);
    await screen.findByTestId("count-PENDING");
    expect(client.getQueryData(opsSummaryQuery.queryKey)).toBeDefined();
    await user.click(screen.getByRole("button", { name: "Sign out" }));
    await screen.findByLabelText("Admin password");
    expect(client.getQueryCache().findAll({ queryKey: operatorQueryKey })).toEqual([]);
  });

  it("goes back to the sign-in form when the feed is refused because the session ended", async () => {
    const { state } = uiServer({ signedIn: true });
    renderWithQuery(<OpsRoute />);
    await screen.findByTestId("count-PENDING");
    state.signedIn = false; // the session ended on the server
    const socket = FakeWebSocket.latest();
    socket.open();
    socket.drop(4401);
    expect(await screen.findByText(/Your session ended/)).toBeInTheDocument();
    expect(screen.getByLabelText("Admin password")).toBeInTheDocument();
  });

  it("says a feed refused for another reason is refused, instead of connecting forever", async () => {
    uiServer({ signedIn: true });
    renderWithQuery(<OpsRoute />);
    await screen.findByTestId("count-PENDING");
    const socket = FakeWebSocket.latest();
    socket.open();
    expect(await screen.findByTestId("feed-state")).toHaveTextContent("Live");
    socket.drop(1008);
    await waitFor(() => expect(screen.getByTestId("feed-state")).toHaveTextContent("Feed refused"));
    expect(screen.queryByLabelText("Admin password")).toBeNull();
  });
});
