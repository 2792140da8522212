import { useQuery, useQueryClient } from "@tanstack/react-query";
import { CheckCircle2, Circle, Radio, XCircle } from "lucide-react";
import { useState } from "react";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { orderQuery } from "@/lib/api";
import { formatCents, formatTime, statusLabel } from "@/lib/format";
import type { FeedState, Transport } from "@/lib/live";
import type { Order, OrderStatus } from "@/lib/schemas";
import { cn } from "@/lib/utils";
import { currentStatus, HAPPY_PATH, isFinal, mergeTimeline, type TimelineEntry } from "./timeline";
import { useOrderFeed } from "./useOrderFeed";

function ConnectionBadge({ state, transport, final }: { state: FeedState; transport: Transport; final: boolean }) {
  if (final) return <Badge variant="secondary">Final</Badge>;
  const via = transport === "websocket" ? "WebSocket" : "SSE";
  if (state === "live")
    return (
      <Badge variant="success" data-testid="live-badge">
        <Radio className="size-3" aria-hidden="true" /> Live · {via}
      </Badge>
    );
  if (state === "closed") return <Badge variant="secondary">Not live: reload to retry</Badge>;
  return <Badge variant="warning">{state === "connecting" ? "Connecting…" : `Reconnecting (${via})…`}</Badge>;
}

function Timeline({ entries, status }: { entries: TimelineEntry[]; status: OrderStatus }) {
  const reached = new Map(entries.map((e) => [e.status, e]));
  const cancelled = reached.get("CANCELLED");
  const steps: readonly OrderStatus[] = cancelled
    ? [...HAPPY_PATH.filter((s) => reached.has(s)), "CANCELLED"]
    : HAPPY_PATH;
  return (
    <ol className="relative space-y-0" aria-label="Order timeline">
      {steps.map((step, index) => {
        const entry = reached.get(step);
        const isCurrent = step === status;
        const last = index === steps.length - 1;
        const Icon = step === "CANCELLED" ? XCircle : entry ? CheckCircle2 : Circle;
        return (
          <li key={step} className="relative flex gap-3 pb-5" data-status={step} data-reached={entry ? "true" : "false"}>
            {!last && (
              <span
                className={cn("absolute left-[11px] top-6 h-[calc(100%-1.25rem)] w-0.5", entry ? "bg-primary" : "bg-border")}
                aria-hidden="true"
              />
            )}
            <Icon
              className={cn(
                "relative z-10 size-6 shrink-0 rounded-full bg-card",
                step === "CANCELLED" ? "text-destructive" : entry ? "text-primary" : "text-muted-foreground/50",
              )}
              aria-hidden="true"
            />
            <div className="min-w-0 flex-1">
              <p className={cn("font-medium", !entry && "text-muted-foreground", isCurrent && "text-foreground")}>
                {statusLabel(step)}
                {isCurrent && <span className="sr-only"> (current status)</span>}
              </p>
              {entry ? (
                <p className="text-sm text-muted-foreground">
                  <time dateTime={entry.at}>{formatTime(entry.at)}</time>
                  {entry.reason && <span> · {entry.reason}</span>}
                </p>
              ) : (
                <p className="text-sm text-muted-foreground">Waiting</p>
              )}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

function OrderDetails({ order }: { order: Order }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle>Details</CardTitle>
        <CardDescription>
          For {order.customer.name}, {order.customer.address}
        </CardDescription>
      </CardHeader>
      <CardContent>
        <ul className="divide-y text-sm">
          {order.items.map((item) => (
            <li key={item.sku} className="flex justify-between py-1.5">
              <span>
                {item.quantity} × {item.name}
              </span>
              <span className="tabular-nums">{formatCents(item.quantity * item.unit_price_cents)}</span>
            </li>
          ))}
        </ul>
        <p className="mt-2 flex justify-between border-t pt-2 font-semibold">
          <span>Total</span>
          <span className="tabular-nums">{formatCents(order.total_cents)}</span>
        </p>
        {order.delivery && (
          <p className="mt-3 text-sm text-muted-foreground">
            Courier <span className="font-medium text-foreground">{order.delivery.courier}</span>
            {order.delivery.eta_minutes != null && <>, about {order.delivery.eta_minutes} min</>}
          </p>
        )}
      </CardContent>
    </Card>
  );
}

/** One order's progress, updated live from notify without reloading. */
export function OrderTracking({ orderId }: { orderId: string }) {
  const queryClient = useQueryClient();
  const query = useQuery({ ...orderQuery(orderId), retry: 1 });
  const order = query.data;
  // Follow the order live when it was still moving as this page first had it (from the shop's
  // answer to placing it, or the first fetch). A later fetch that finds it finished does not cut
  // the feed short: the feed ends itself once it has delivered the final status.
  const [first, setFirst] = useState<{ orderId: string; moving: boolean } | null>(null);
  if (order && first?.orderId !== orderId) setFirst({ orderId, moving: !isFinal(order.status) });
  const follow = first?.orderId === orderId && first.moving;
  const feed = useOrderFeed(orderId, order?.created_at, follow, (message) => {
    // The event is shown at once; the order document adds the courier and the reason.
    if (message.status) void queryClient.invalidateQueries({ queryKey: orderQuery(orderId).queryKey });
  });

  if (query.isPending) {
    return (
      <div className="space-y-3" aria-busy="true" aria-label="Loading the order">
        <Skeleton className="h-8 w-64" />
        <Skeleton className="h-72" />
      </div>
    );
  }
  if (query.isError || !order) {
    return (
      <Alert variant="destructive">
        <AlertTitle>Order not found</AlertTitle>
        <AlertDescription>{query.error?.message ?? "No such order."}</AlertDescription>
      </Alert>
    );
  }

  const timeline = mergeTimeline(order.history, feed.messages);
  const status = currentStatus(timeline, order.status);
  const cancelReason =
    order.cancel_reason ?? timeline.find((entry) => entry.status === "CANCELLED")?.reason ?? null;

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div>
          <h1 className="text-2xl font-bold tracking-tight">Order tracking</h1>
          <p className="font-mono text-xs text-muted-foreground">{order.order_id}</p>
        </div>
        <ConnectionBadge state={feed.state} transport={feed.transport} final={isFinal(status)} />
      </div>
      <div className="grid gap-6 md:grid-cols-[1fr_20rem]">
        <Card>
          <CardHeader>
            <CardTitle>
              Status:{" "}
              <span role="status" aria-live="polite" aria-atomic="true" data-testid="order-status" data-status={status}>
                {statusLabel(status)}
              </span>
            </CardTitle>
          </CardHeader>
          <CardContent>
            {status === "CANCELLED" && (
              <Alert variant="destructive" className="mb-4">
                <AlertTitle>Order cancelled</AlertTitle>
                <AlertDescription data-testid="cancel-reason">{cancelReason ?? "No reason given."}</AlertDescription>
              </Alert>
            )}
            <Timeline entries={timeline} status={status} />
          </CardContent>
        </Card>
        <OrderDetails order={order} />
      </div>
    </div>
  );
}
