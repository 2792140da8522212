import { queryOptions, useQuery } from "@tanstack/react-query";
import { LineChart } from "lucide-react";
import { z } from "zod";
import { requestJson } from "@/lib/api";

const clientConfigSchema = z.object({ prometheus_url: z.string().url().nullable() });

/** What the UI server tells the page about the stack (it does not change while it runs). */
const clientConfigQuery = queryOptions({
  queryKey: ["client-config"],
  queryFn: async () => (await requestJson("/config.json", clientConfigSchema)).data,
  staleTime: Infinity,
});

/** A link to the stack's Prometheus, when the UI server knows where it is (`make up` tells it). */
export function PrometheusLink() {
  const config = useQuery(clientConfigQuery);
  const url = config.data?.prometheus_url;
  if (!url) return null;
  return (
    <a
      href={url}
      target="_blank"
      rel="noreferrer"
      className="inline-flex items-center gap-1 text-sm text-muted-foreground underline-offset-4 hover:underline"
      data-testid="prometheus-link"
    >
      <LineChart className="size-4" aria-hidden="true" />
      Metrics in Prometheus
    </a>
  );
}
