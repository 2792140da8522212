import { SAGA } from "@/lib/contract";
import type { HistoryEntry, NotifyMessage, OrderStatus } from "@/lib/schemas";

export interface TimelineEntry {
  status: OrderStatus;
  at: string;
  eventId: string;
  reason?: string | null;
}

/** The happy path; CANCELLED may end the saga after any step before DELIVERED. */
export const HAPPY_PATH: readonly OrderStatus[] = SAGA.happyPath;

export const isFinal = (status: OrderStatus) => SAGA.final.has(status);

function reasonOf(message: NotifyMessage): string | null {
  const reason = message.data.reason;
  return typeof reason === "string" ? reason : null;
}

/**
 * The order's timeline: its stored history plus statuses seen live since, one entry per event
 * (a live event the history already holds is not repeated), oldest first.
 */
export function mergeTimeline(history: HistoryEntry[], live: NotifyMessage[]): TimelineEntry[] {
  const byEvent = new Map<string, TimelineEntry>();
  for (const entry of history) {
    byEvent.set(entry.event_id, { status: entry.status, at: entry.at, eventId: entry.event_id, reason: entry.reason });
  }
  for (const message of live) {
    if (!message.status || !message.event_id || !message.at || byEvent.has(message.event_id)) continue;
    byEvent.set(message.event_id, {
      status: message.status,
      at: message.at,
      eventId: message.event_id,
      reason: reasonOf(message),
    });
  }
  // One entry per status (a re-announced event may carry a new id); keep the first time reached.
  const byStatus = new Map<OrderStatus, TimelineEntry>();
  for (const entry of [...byEvent.values()].sort((a, b) => Date.parse(a.at) - Date.parse(b.at))) {
    if (!byStatus.has(entry.status)) byStatus.set(entry.status, entry);
  }
  return [...byStatus.values()].sort(
    (a, b) => Date.parse(a.at) - Date.parse(b.at) || rank(a.status) - rank(b.status),
  );
}

function rank(status: OrderStatus): number {
  return status === "CANCELLED" ? HAPPY_PATH.length : HAPPY_PATH.indexOf(status);
}

/** The status the timeline ends in (a final status wins over a later-stamped earlier one). */
export function currentStatus(timeline: TimelineEntry[], fallback: OrderStatus): OrderStatus {
  const final = timeline.find((entry) => isFinal(entry.status));
  if (final) return final.status;
  return timeline.reduce<OrderStatus>((best, entry) => (rank(entry.status) > rank(best) ? entry.status : best), fallback);
}
