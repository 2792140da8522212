import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { Radio } from "lucide-react";
import { useEffect, useState } from "react";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { opsSummaryQuery, sessionQuery } from "@/lib/api";
import { formatTime } from "@/lib/format";
import { type FeedState, LiveFeed } from "@/lib/live";
import type { NotifyMessage } from "@/lib/schemas";
import { DeadLetters } from "./DeadLetters";
import { Pipeline } from "./Pipeline";
import { PrometheusLink } from "./PrometheusLink";
import { StockLevels } from "./StockLevels";
import { batchedEvents, throttledRefresh } from "./refresh";
import { ThroughputChart } from "./ThroughputChart";

// Every change of the counts comes with a live event, which refreshes the summary at most once
// per SUMMARY_MIN_GAP_MS (so the counts are at most that stale); with no events, the summary
// is fetched every SUMMARY_REFRESH_MS for what time alone changes (the throughput's minutes).
// Each summary costs the data store tens of ms that saga writes wait behind: an open /ops tab must
// not load the saga.
export const SUMMARY_REFRESH_MS = 30_000;
export const SUMMARY_MIN_GAP_MS = 5000;
/** What the live badge says; a refused feed says so instead of connecting forever. */
const FEED_LABELS: Record<FeedState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  closed: "Feed refused",
};
const RECENT_EVENTS = 12;
// Live events reach the page at most this often, in one render: a busy saga sends hundreds a
// second, and a render of the whole view per event cost the browser about twice the CPU
// (bench growth mode: 62 ms per saga, 33 ms batched), on the cores the saga runs on.
export const EVENTS_FLUSH_MS = 500;

/**
 * Every saga event live from notify. Events also refresh the summary, throttled to one per
 * SUMMARY_MIN_GAP_MS from the last fetch (the periodic one included), plus one after a burst.
 */
function useAllOrdersFeed() {
  const queryClient = useQueryClient();
  const [events, setEvents] = useState<NotifyMessage[]>([]);
  const [state, setState] = useState<FeedState>("connecting");
  useEffect(() => {
    const batches = batchedEvents<NotifyMessage>(
      (arrived) => setEvents((current) => [...arrived, ...current].slice(0, RECENT_EVENTS)),
      EVENTS_FLUSH_MS,
      RECENT_EVENTS,
    );
    const throttle = throttledRefresh(
      () => void queryClient.invalidateQueries({ queryKey: opsSummaryQuery.queryKey }),
      SUMMARY_MIN_GAP_MS,
      () => queryClient.getQueryState(opsSummaryQuery.queryKey)?.dataUpdatedAt ?? 0,
    );
    const feed = new LiveFeed({
      path: "/orders",
      onMessage: (message) => {
        if (message.event_id) batches.push(message);
        throttle.request();
      },
      onState: (next) => {
        setState(next);
        // Refused for good (4401: the session ended): the route shows the sign-in form again.
        if (next === "closed") void queryClient.invalidateQueries({ queryKey: sessionQuery.queryKey });
      },
    });
    feed.start();
    return () => {
      feed.stop();
      throttle.cancel();
      batches.cancel();
    };
  }, [queryClient]);
  return { events, state };
}

function RecentEvents({ events }: { events: NotifyMessage[] }) {
  if (events.length === 0) return <p className="text-sm text-muted-foreground">Waiting for events…</p>;
  return (
    <ol className="space-y-1 text-sm" aria-label="Recent events">
      {events.map((event) => (
        <li key={event.cursor} className="flex items-baseline gap-2">
          <time className="tabular-nums text-xs text-muted-foreground" dateTime={event.at ?? undefined}>
            {event.at ? formatTime(event.at) : ""}
          </time>
          <span className="font-medium">{event.type}</span>
          {event.order_id && (
            <Link
              to="/orders/$orderId"
              params={{ orderId: event.order_id }}
              className="truncate font-mono text-xs text-primary underline-offset-2 hover:underline"
            >
              {event.order_id.slice(0, 8)}
            </Link>
          )}
        </li>
      ))}
    </ol>
  );
}

/** The operations view: the saga as a pipeline, throughput, stock and dead letters, live. */
export function OpsPage() {
  const summary = useQuery({ ...opsSummaryQuery, refetchInterval: SUMMARY_REFRESH_MS });
  const live = useAllOrdersFeed();
  const data = summary.data;

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div>
          <h1 className="text-2xl font-bold tracking-tight">Operations</h1>
          <p className="text-sm text-muted-foreground">The order saga, live.</p>
          <PrometheusLink />
        </div>
        <Badge variant={live.state === "live" ? "success" : "warning"} data-testid="feed-state">
          <Radio className="size-3" aria-hidden="true" />
          {FEED_LABELS[live.state]}
        </Badge>
      </div>
      {summary.isError && !data && (
        <Alert variant="destructive">
          <AlertTitle>The summary could not be loaded</AlertTitle>
          <AlertDescription>{summary.error.message}</AlertDescription>
        </Alert>
      )}
      <Card>
        <CardHeader>
          <CardTitle>Pipeline</CardTitle>
          <CardDescription>Orders in each status right now.</CardDescription>
        </CardHeader>
        <CardContent>{data ? <Pipeline counts={data.orders_by_status} /> : <Skeleton className="h-16" />}</CardContent>
      </Card>
      <div className="grid gap-6 lg:grid-cols-2">
        <Card>
          <CardHeader>
            <CardTitle>Throughput</CardTitle>
            <CardDescription>Per minute, last 15 minutes.</CardDescription>
          </CardHeader>
          <CardContent>{data ? <ThroughputChart points={data.throughput} /> : <Skeleton className="h-36" />}</CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Event stream</CardTitle>
            <CardDescription>
              {data
                ? `${data.stream.length} entries · ${data.stream.pending} pending · ${data.stream.dead_letters} dead letters`
                : "Loading…"}
            </CardDescription>
          </CardHeader>
          <CardContent>
            <RecentEvents events={live.events} />
          </CardContent>
        </Card>
      </div>
      <div className="grid gap-6 lg:grid-cols-2">
        <Card>
          <CardHeader>
            <CardTitle>Stock</CardTitle>
            <CardDescription>Available, reserved, and refills (the mark is the initial stock).</CardDescription>
          </CardHeader>
          <CardContent>{data ? <StockLevels stock={data.stock} /> : <Skeleton className="h-64" />}</CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Dead letters</CardTitle>
            <CardDescription>Events a function kept failing on; replay one to put it back on the saga stream.</CardDescription>
          </CardHeader>
          <CardContent>
            <DeadLetters />
          </CardContent>
        </Card>
      </div>
    </div>
  );
}
