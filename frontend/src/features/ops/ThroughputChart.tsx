import { memo } from "react";
import type { OpsSummary } from "@/lib/schemas";

type Point = OpsSummary["throughput"][number];
// Drawn in this order, so the placed line stays on top where the lines meet at zero.
const SERIES = [
  { key: "cancelled", label: "Cancelled", className: "stroke-destructive fill-destructive" },
  { key: "delivered", label: "Delivered", className: "stroke-success fill-success" },
  { key: "placed", label: "Placed", className: "stroke-sky-600 fill-sky-600 dark:stroke-sky-400 dark:fill-sky-400" },
] as const;
const READING_ORDER = [...SERIES].reverse();

const W = 480;
const H = 140;
const PAD = { left: 28, right: 8, top: 8, bottom: 20 };

/** Orders placed, delivered and cancelled per minute, as a small inline SVG line chart. */
export const ThroughputChart = memo(function ThroughputChart({ points }: { points: Point[] }) {
  if (points.length === 0) {
    return <p className="py-8 text-center text-sm text-muted-foreground">No orders in the last minutes.</p>;
  }
  const max = Math.max(1, ...points.flatMap((p) => [p.placed, p.delivered, p.cancelled]));
  const x = (i: number) => PAD.left + (points.length === 1 ? 0 : (i * (W - PAD.left - PAD.right)) / (points.length - 1));
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / max);
  const totals = READING_ORDER.map((s) => `${points.reduce((sum, p) => sum + p[s.key], 0)} ${s.label.toLowerCase()}`);
  const minuteLabel = (iso: string) => new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  return (
    <figure>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        className="h-auto w-full"
        role="img"
        aria-label={`Throughput over the last ${points.length} minutes: ${totals.join(", ")}`}
      >
        {[0, max].map((v) => (
          <g key={v}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} className="stroke-border" strokeDasharray="3 3" />
            <text x={PAD.left - 4} y={y(v) + 4} textAnchor="end" className="fill-muted-foreground text-[10px]">
              {v}
            </text>
          </g>
        ))}
        {[0, points.length - 1].map((i) => (
          <text
            key={i}
            x={x(i)}
            y={H - 4}
            textAnchor={i === 0 ? "start" : "end"}
            className="fill-muted-foreground text-[10px]"
          >
            {minuteLabel(points[i]!.minute)}
          </text>
        ))}
        {SERIES.map((s) => (
          <g key={s.key} className={s.className}>
            <polyline
              fill="none"
              strokeWidth={2}
              strokeLinejoin="round"
              points={points.map((p, i) => `${x(i)},${y(p[s.key])}`).join(" ")}
              style={{ fill: "none" }}
            />
            {points.map((p, i) => (p[s.key] > 0 ? <circle key={i} cx={x(i)} cy={y(p[s.key])} r={2.5} /> : null))}
          </g>
        ))}
      </svg>
      <figcaption className="mt-2 flex flex-wrap gap-4 text-xs text-muted-foreground">
        {READING_ORDER.map((s) => (
          <span key={s.key} className="flex items-center gap-1.5">
            <svg className={`size-2.5 ${s.className}`} aria-hidden="true" viewBox="0 0 10 10">
              <rect width="10" height="10" rx="2" />
            </svg>
            {s.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
});
