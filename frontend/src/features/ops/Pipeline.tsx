import { memo } from "react";
import { ChevronRight } from "lucide-react";
import { statusLabel } from "@/lib/format";
import type { OrderStatus } from "@/lib/schemas";
import { cn } from "@/lib/utils";
import { HAPPY_PATH } from "../orders/timeline";

/**
 * Orders per status, laid out as the saga's pipeline with the cancelled ones beside it. A null
 * count (a final status whose checkpoint is being rebuilt) shows as a dash.
 */
export const Pipeline = memo(function Pipeline({ counts }: { counts: Record<string, number | null> }) {
  const count = (status: OrderStatus) => {
    const n = counts[status];
    return n === undefined ? 0 : n;
  };
  return (
    <div className="flex flex-col gap-3 lg:flex-row lg:items-stretch">
      <ol className="flex flex-1 flex-wrap items-stretch gap-1" aria-label="Orders per status">
        {HAPPY_PATH.map((status, index) => (
          <li key={status} className="flex items-center gap-1" data-status={status}>
            <div
              className={cn(
                "min-w-24 rounded-lg border px-3 py-2 text-center",
                (count(status) ?? 0) > 0 && status !== "DELIVERED" && "border-primary/60 bg-accent",
              )}
            >
              <div className="text-2xl font-bold tabular-nums" data-testid={`count-${status}`}>
                {count(status) ?? "–"}
              </div>
              <div className="text-xs text-muted-foreground">{statusLabel(status)}</div>
            </div>
            {index < HAPPY_PATH.length - 1 && (
              <ChevronRight className="size-4 text-muted-foreground" aria-hidden="true" />
            )}
          </li>
        ))}
      </ol>
      <div className="min-w-24 rounded-lg border border-destructive/40 px-3 py-2 text-center" data-status="CANCELLED">
        <div className="text-2xl font-bold tabular-nums text-destructive" data-testid="count-CANCELLED">
          {count("CANCELLED") ?? "–"}
        </div>
        <div className="text-xs text-muted-foreground">{statusLabel("CANCELLED")}</div>
      </div>
    </div>
  );
});
