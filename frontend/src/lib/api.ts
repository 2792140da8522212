import { queryOptions } from "@tanstack/react-query";
import type { z } from "zod";
import {
  apiErrorSchema,
  deadLettersSchema,
  menuSchema,
  type OrderForm,
  opsSummarySchema,
  orderSchema,
  replayResultSchema,
  sessionSchema,
} from "./schemas";

/** An error the gateway answered (`{"error","field","message"}`), or a transport failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string | null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

async function errorFrom(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: fall through to a generic message
  }
  const parsed = apiErrorSchema.safeParse(body);
  if (parsed.success) {
    return new ApiError(response.status, parsed.data.error, parsed.data.message, parsed.data.field);
  }
  return new ApiError(response.status, "http_error", `The server answered ${response.status} ${response.statusText}`.trim());
}

/** Fetch JSON and validate it; anything unexpected becomes an ApiError a person can read. */
export async function requestJson<S extends z.ZodType>(
  url: string,
  schema: S,
  init?: RequestInit,
): Promise<{ status: number; data: z.infer<S> }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, headers: { Accept: "application/json", ...init?.headers } });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server. Check your connection and try again.");
  }
  if (!response.ok) throw await errorFrom(response);
  const parsed = schema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) {
    throw new ApiError(response.status, "bad_response", `Unexpected answer from ${url}`);
  }
  return { status: response.status, data: parsed.data };
}

/*
 * Each resource the UI reads: its query key and its fetcher together, one `queryOptions`
 * factory each. Components spread them (`useQuery({ ...menuQuery, refetchInterval })`) and
 * invalidate through their `queryKey`, never through a key written out again.
 */

/** The menu with live stock. */
export const menuQuery = queryOptions({
  queryKey: ["menu"],
  queryFn: async () => (await requestJson("/function/menu", menuSchema)).data,
});

/** One order with its status history (its id is the capability to read it). */
export const orderQuery = (orderId: string) =>
  queryOptions({
    queryKey: ["order", orderId],
    queryFn: async () => (await requestJson(`/function/order-status/${encodeURIComponent(orderId)}`, orderSchema)).data,
  });

/** Whether this browser holds an operator session (an HttpOnly cookie scripts cannot read). */
export const sessionQuery = queryOptions({
  queryKey: ["session"],
  queryFn: async () => (await requestJson("/session", sessionSchema)).data,
  staleTime: 30_000,
});

/** The prefix of every query only a signed-in operator may make: what leaves with the session. */
export const operatorQueryKey = ["operator"] as const;

/** The operations summary: orders per status, throughput, stock, the stream's health. */
export const opsSummaryQuery = queryOptions({
  queryKey: [...operatorQueryKey, "ops-summary"],
  queryFn: async () => (await requestJson("/function/ops-summary", opsSummarySchema)).data,
});

/** The dead letters waiting for an operator, oldest first. */
export const deadLettersQuery = queryOptions({
  queryKey: [...operatorQueryKey, "dead-letters"],
  queryFn: async () => (await requestJson("/function/dead-letters", deadLettersSchema)).data,
});

/** Place an order; the same `idempotencyKey` on a retry returns the first order (200, not 201). */
export async function placeOrder(form: OrderForm, idempotencyKey: string) {
  const { status, data } = await requestJson("/function/place-order", orderSchema, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey },
    body: JSON.stringify(form),
  });
  return { created: status === 201, order: data };
}

/** Replay a dead letter: an operator call, so the UI server adds the session's credentials. */
export async function replayDeadLetter(id: string) {
  return (await requestJson(`/function/dead-letters/${encodeURIComponent(id)}/replay`, replayResultSchema, { method: "POST" }))
    .data;
}

/** Exchange the admin password for a session cookie; 401 wrong password, 429 too many tries. */
export async function signIn(password: string) {
  return (
    await requestJson("/session", sessionSchema, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ password }),
    })
  ).data;
}

export const signOut = async () => (await requestJson("/session", sessionSchema, { method: "DELETE" })).data;
