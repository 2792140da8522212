import { SAGA } from "./contract";
import type { OrderStatus } from "./schemas";

const money = new Intl.NumberFormat("en-IE", { style: "currency", currency: "EUR" });

/** 1290 → "€12.90". */
export function formatCents(cents: number): string {
  return money.format(cents / 100);
}

/** A time of day with seconds, in the viewer's zone: "14:03:27". */
export function formatTime(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** A status as a person reads it (labels from the Python saga, through `make contract`). */
export function statusLabel(status: OrderStatus): string {
  return SAGA.labels.get(status) ?? status;
}
