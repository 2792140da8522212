import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { compareWithZod } from "@/test/schemaShape";
import openapi from "../../public/api/openapi.json";
import {
  apiErrorSchema,
  deadLetterSchema,
  deadLettersSchema,
  menuSchema,
  notifyMessageSchema,
  opsSummarySchema,
  orderSchema,
  replayResultSchema,
} from "./schemas";

type Json = Record<string, unknown>;
const document = openapi as unknown as Json & {
  paths: Record<string, Record<string, { responses: Record<string, Json> }>>;
  components: { schemas: Record<string, Json>; responses: Record<string, Json> };
};

/** The JSON schema an operation answers `status` with (shared responses followed). */
function answerSchema(path: string, method: string, status: string): unknown {
  let answer = document.paths[path]?.[method]?.responses[status];
  const ref = answer?.$ref;
  if (typeof ref === "string") answer = document.components.responses[ref.split("/").pop() ?? ""];
  return (answer?.content as Record<string, { schema: unknown }>)["application/json"]?.schema;
}

// What the UI parses each answer of the OpenAPI document with.
const CALLS: [string, string, string, z.ZodType][] = [
  ["/function/menu", "get", "200", menuSchema],
  ["/function/place-order", "post", "201", orderSchema],
  ["/function/place-order", "post", "200", orderSchema],
  ["/function/place-order", "post", "409", apiErrorSchema],
  ["/function/order-status/{order_id}", "get", "200", orderSchema],
  ["/function/order-status/{order_id}", "get", "404", apiErrorSchema],
  ["/function/ops-summary", "get", "200", opsSummarySchema],
  ["/function/dead-letters", "get", "200", deadLettersSchema],
  ["/function/dead-letters/{id}/replay", "post", "200", replayResultSchema],
];

describe("the Zod schemas agree with the OpenAPI document (public/api/openapi.json)", () => {
  it.each(CALLS)("%s %s answers %s in the shape the UI parses", (path, method, status, schema) => {
    const documented = answerSchema(path, method, status);
    expect(documented, `${method.toUpperCase()} ${path} documents no ${status}: run make openapi`).toBeDefined();
    expect(compareWithZod(`${method.toUpperCase()} ${path} ${status}`, documented, document, schema)).toEqual([]);
  });

  it("documents the feeds' messages and the dead letter list entry the UI reads", () => {
    const { schemas } = document.components;
    expect(compareWithZod("NotifyMessage", schemas.NotifyMessage, document, notifyMessageSchema)).toEqual([]);
    expect(compareWithZod("DeadLetterSummary", schemas.DeadLetterSummary, document, deadLetterSchema)).toEqual([]);
  });

  it("describes every error with the one shared ErrorBody schema", () => {
    for (const answer of Object.values(document.components.responses)) {
      expect((answer.content as Record<string, { schema: unknown }>)["application/json"]?.schema).toEqual({
        $ref: "#/components/schemas/ErrorBody",
      });
    }
  });
});
