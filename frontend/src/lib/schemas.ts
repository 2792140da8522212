import { z } from "zod";
import { SAGA } from "./contract";

/** Every status an order can be in, in saga order; CANCELLED can follow any non-final one. */
export const ORDER_STATUSES = SAGA.statuses;
export const orderStatus = z.enum(ORDER_STATUSES);
/** A status of the saga (the list comes from the Python saga through `make contract`). */
export type OrderStatus = z.infer<typeof orderStatus>;

const timestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), {
  message: "not a date",
});

export const menuItemSchema = z.object({
  sku: z.string().min(1),
  name: z.string(),
  description: z.string().default(""),
  category: z.string().default(""),
  price: z.number(),
  price_cents: z.number().int().nonnegative(),
  stock: z.number().int().nonnegative(),
  sold_out: z.boolean(),
});
export type MenuItem = z.infer<typeof menuItemSchema>;
export const menuSchema = z.array(menuItemSchema);

export const apiErrorSchema = z.object({
  error: z.string(),
  message: z.string(),
  field: z.string().nullish(),
});
export type ApiErrorBody = z.infer<typeof apiErrorSchema>;

export const historyEntrySchema = z.object({
  status: orderStatus,
  at: timestamp,
  event_id: z.string(),
  reason: z.string().nullish(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

export const orderSchema = z.object({
  order_id: z.string(),
  status: orderStatus,
  customer: z.object({
    name: z.string(),
    address: z.string(),
    phone: z.string().nullish(),
    email: z.string().nullish(),
  }),
  items: z.array(
    z.object({
      sku: z.string(),
      name: z.string(),
      quantity: z.number().int(),
      unit_price_cents: z.number().int(),
    }),
  ),
  total_cents: z.number().int(),
  total: z.number(),
  history: z.array(historyEntrySchema),
  note: z.string().nullish(),
  cancel_reason: z.string().nullish(),
  delivery: z
    .object({
      courier: z.string(),
      eta_minutes: z.number().nullish(),
      dispatched_at: timestamp.nullish(),
    })
    .nullish(),
  created_at: timestamp,
  updated_at: timestamp,
});
export type Order = z.infer<typeof orderSchema>;

/**
 * One message from notify (WebSocket or SSE): a saga event with the status it announces, or a
 * `resync` (no event id) telling the client that events were trimmed and to reload its view.
 */
export const notifyMessageSchema = z.object({
  cursor: z.string().regex(/^\d+-\d+$/),
  event_id: z.string().nullable(),
  type: z.string(),
  order_id: z.string().nullable(),
  status: orderStatus.nullable(),
  at: timestamp.nullable(),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type NotifyMessage = z.infer<typeof notifyMessageSchema>;

export const opsSummarySchema = z.object({
  // Final statuses are null while their checkpoint is being rebuilt (orders_counted.complete).
  orders_by_status: z.record(z.string(), z.number().int().nonnegative().nullable()),
  throughput: z.array(
    z.object({
      minute: timestamp,
      placed: z.number().int().nonnegative(),
      delivered: z.number().int().nonnegative(),
      cancelled: z.number().int().nonnegative(),
    }),
  ),
  stock: z.array(
    z.object({
      sku: z.string(),
      name: z.string(),
      available: z.number().int(),
      reserved: z.number().int(),
      initial: z.number().int(),
      refilled: z.number().int(),
      last_refill_at: timestamp.nullish(),
    }),
  ),
  stream: z.object({
    length: z.number().int(),
    pending: z.number().int(),
    dead_letters: z.number().int(),
  }),
  orders_counted: z.object({ complete: z.boolean(), checkpoint_at: timestamp.nullable() }),
  at: timestamp,
});
export type OpsSummary = z.infer<typeof opsSummarySchema>;

export const deadLetterSchema = z.object({
  id: z.string(),
  source_id: z.string(),
  type: z.string(),
  order_id: z.string(),
  function: z.string(),
  reason: z.string(),
  status_code: z.number().int().nullable(),
  body_excerpt: z.string(),
  deliveries: z.number().int(),
  failed_at: timestamp,
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;
export const deadLettersSchema = z.array(deadLetterSchema);

// `new_id` is null when the order had moved past the letter's event: nothing was appended,
// and `skipped` says why.
export const replayResultSchema = z.object({
  replayed: z.string(),
  new_id: z.string().nullable(),
  skipped: z.string().optional(),
});

/** The operator's session on the UI server (`GET/POST/DELETE /session`). */
export const sessionSchema = z.object({ signed_in: z.boolean(), expires_at: timestamp.nullish() });
export type OperatorSession = z.infer<typeof sessionSchema>;

// Limits mirror ordersaga/domain/models.py so the form flags what the server would refuse.
export const MAX_LINES = 20;
export const MAX_QUANTITY = 50;

const optionalText = (schema: z.ZodString) =>
  z.preprocess((value) => (typeof value === "string" && value.trim() === "" ? undefined : value), schema.optional());

/** The checkout form; field paths (`customer.name`, `items[0].quantity`) match the API's. */
export const orderFormSchema = z.object({
  customer: z.object({
    name: z.string().trim().min(1, "Enter your name").max(100, "At most 100 characters"),
    address: z.string().trim().min(1, "Enter a delivery address").max(300, "At most 300 characters"),
    phone: optionalText(
      z.string().trim().regex(/^\+?[0-9 ()-]{5,20}$/, "Use digits, spaces, ( ) or - (5–20 characters)"),
    ),
    email: optionalText(z.string().trim().regex(/^[^@\s]{1,64}@[^@\s]{1,190}$/, "Enter an email like ada@example.com")),
  }),
  items: z
    .array(
      z.object({
        sku: z.string().min(1),
        quantity: z
          .number({ error: "Enter a number" })
          .int("Whole numbers only")
          .min(1, "At least 1")
          .max(MAX_QUANTITY, `At most ${MAX_QUANTITY}`),
      }),
    )
    .min(1, "Add something to your cart first")
    .max(MAX_LINES, `At most ${MAX_LINES} different items`),
  note: optionalText(z.string().max(300, "At most 300 characters")),
});
export type OrderForm = z.infer<typeof orderFormSchema>;

/** `["items", 0, "quantity"]` → `"items[0].quantity"`, the API's way of naming a field. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || "body";
}

/** Validation messages of the checkout form, keyed by field path (first message per field). */
export function formErrors(error: z.ZodError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = fieldPath(issue.path);
    errors[key] ??= issue.message;
  }
  return errors;
}
