import { describe, expect, it } from "vitest";
import { z } from "zod";
import { compareWithZod, differences, shapeOf } from "@/test/schemaShape";
import { RESPONSE_SCHEMAS, SAGA } from "./contract";
import {
  apiErrorSchema,
  deadLetterSchema,
  menuItemSchema,
  notifyMessageSchema,
  opsSummarySchema,
  orderSchema,
  replayResultSchema,
} from "./schemas";

// Each Zod schema the UI parses an answer with, and the Python response model behind it.
const PAIRS: [string, z.ZodType][] = [
  ["MenuEntry", menuItemSchema],
  ["OrderView", orderSchema],
  ["ErrorBody", apiErrorSchema],
  ["OpsSummary", opsSummarySchema],
  ["DeadLetterSummary", deadLetterSchema],
  ["ReplayResult", replayResultSchema],
  ["NotifyMessage", notifyMessageSchema],
];

describe("the Zod schemas agree with the Python response models (contract.gen.json)", () => {
  it.each(PAIRS)("%s: same properties, same required ones, same enums", (name, schema) => {
    const python = RESPONSE_SCHEMAS[name] as Record<string, unknown>;
    expect(python, `${name} is not in contract.gen.json: run make contract`).toBeDefined();
    expect(compareWithZod(name, python, python, schema)).toEqual([]);
  });

  it("names the field that only one side has", () => {
    const python = RESPONSE_SCHEMAS.ErrorBody as Record<string, unknown>;
    const withExtra = apiErrorSchema.extend({ retry_after: z.number() });
    expect(compareWithZod("ErrorBody", python, python, withExtra)).toEqual(["ErrorBody.retry_after: only in the Zod schema"]);
    const withoutField = apiErrorSchema.omit({ field: true });
    expect(compareWithZod("ErrorBody", python, python, withoutField)).toEqual(["ErrorBody.field: only in the Python model"]);
  });

  it("names a status enum that differs", () => {
    const python = RESPONSE_SCHEMAS.OrderView as Record<string, unknown>;
    const lagging = orderSchema.extend({ status: z.enum(["PENDING", "DELIVERED"]) });
    expect(compareWithZod("OrderView", python, python, lagging)).toEqual([
      expect.stringMatching(/^OrderView\.status: enum .* in Python, DELIVERED\|PENDING in Zod$/),
    ]);
  });

  it("tells a required field from an optional one", () => {
    const python = { type: "object", properties: { a: { type: "string" } }, required: ["a"] };
    const zodSide = shapeOf(z.toJSONSchema(z.object({ a: z.string().optional() })), {});
    expect(differences(shapeOf(python, python), zodSide, "M")).toEqual(["M.a: required in Python, optional in Zod"]);
  });
});

describe("the saga lists come from the generated contract", () => {
  it("has every status of the order enum, a label for each, and the happy path in order", () => {
    const orderStatusEnum = (RESPONSE_SCHEMAS.OrderView as { $defs: { OrderStatus: { enum: string[] } } }).$defs.OrderStatus.enum;
    expect([...SAGA.statuses].sort()).toEqual([...orderStatusEnum].sort());
    for (const status of SAGA.statuses) expect(SAGA.labels.get(status)).toBeTruthy();
    expect(SAGA.happyPath[0]).toBe("PENDING");
    expect(SAGA.happyPath.at(-1)).toBe("DELIVERED");
    expect(SAGA.final.has("CANCELLED")).toBe(true);
    expect(SAGA.eventTypes).toContain("order.placed");
  });
});
