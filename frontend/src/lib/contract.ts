import contract from "./contract.gen.json";

/**
 * The saga as the Python domain defines it, read from `contract.gen.json` (written by
 * `make contract`): statuses in saga order with their labels, the happy path, the final
 * statuses and every event type. Nothing here is kept by hand.
 */
export const SAGA = {
  statuses: contract.saga.statuses.map((entry) => entry.status) as [string, ...string[]],
  labels: new Map(contract.saga.statuses.map((entry) => [entry.status, entry.label])),
  happyPath: contract.saga.happy_path,
  final: new Set(contract.saga.final),
  eventTypes: contract.saga.event_types,
} as const;

/** JSON Schema of every response model, by model name (serialisation mode). */
export const RESPONSE_SCHEMAS: Record<string, unknown> = contract.schemas;
