import { memo } from "react";
import { RefreshCw } from "lucide-react";
import { formatTime } from "@/lib/format";
import type { OpsSummary } from "@/lib/schemas";
import { cn } from "@/lib/utils";

type Stock = OpsSummary["stock"][number];

/** Each sku's stock as a bar (available, reserved) with a mark where refills took it. */
export const StockLevels = memo(function StockLevels({ stock }: { stock: Stock[] }) {
  if (stock.length === 0) return <p className="text-sm text-muted-foreground">No menu items.</p>;
  return (
    <ul className="space-y-2.5" aria-label="Stock levels">
      {stock.map((item) => {
        const capacity = Math.max(1, item.initial + item.refilled, item.available + item.reserved);
        const availablePct = (item.available / capacity) * 100;
        const reservedPct = (item.reserved / capacity) * 100;
        const initialPct = (item.initial / capacity) * 100;
        return (
          <li key={item.sku} className="text-sm" data-sku={item.sku}>
            <div className="flex items-baseline justify-between gap-2">
              <span className="truncate">
                {item.name} <span className="font-mono text-xs text-muted-foreground">{item.sku}</span>
              </span>
              <span className={cn("tabular-nums", item.available === 0 && "font-semibold text-destructive")}>
                {item.available === 0 ? "sold out" : `${item.available} left`}
                {item.reserved > 0 && <span className="text-muted-foreground"> · {item.reserved} reserved</span>}
              </span>
            </div>
            <div
              className="relative mt-1 h-2 overflow-hidden rounded-full bg-muted"
              role="meter"
              aria-label={`${item.name} stock`}
              aria-valuemin={0}
              aria-valuemax={capacity}
              aria-valuenow={item.available}
            >
              <div className="absolute inset-y-0 left-0 bg-primary" style={{ width: `${availablePct}%` }} />
              <div
                className="absolute inset-y-0 bg-warning/70"
                style={{ left: `${availablePct}%`, width: `${reservedPct}%` }}
              />
              {item.refilled > 0 && (
                <div
                  className="absolute inset-y-0 w-0.5 bg-foreground/70"
                  style={{ left: `${initialPct}%` }}
                  title="Initial stock; beyond it came from refills"
                />
              )}
            </div>
            {item.refilled > 0 && (
              <p className="mt-0.5 flex items-center gap-1 text-xs text-muted-foreground">
                <RefreshCw className="size-3" aria-hidden="true" />
                refilled +{item.refilled}
                {item.last_refill_at && <> · last at {formatTime(item.last_refill_at)}</>}
              </p>
            )}
          </li>
        );
      })}
    </ul>
  );
});
