import { z } from "zod";

type Json = Record<string, unknown>;

/** The part of a JSON Schema both sides must agree on: property names, required ones, enums. */
type Shape =
  | { kind: "object"; properties: Record<string, Shape>; required: string[] }
  | { kind: "map"; values: Shape }
  | { kind: "array"; items: Shape }
  | { kind: "enum"; values: string[] }
  | { kind: "leaf" };

const isNull = (schema: unknown) => (schema as Json)?.type === "null";

function resolve(schema: Json, root: Json): Json {
  let current = schema;
  for (let hops = 0; typeof current.$ref === "string" && hops < 20; hops += 1) {
    const path = current.$ref.replace(/^#\//, "").split("/");
    let target: unknown = root;
    for (const part of path) target = (target as Json)?.[part];
    if (!target) throw new Error(`unresolved ${current.$ref}`);
    const { $ref: _ignored, ...siblings } = current;
    current = { ...(target as Json), ...siblings };
  }
  return current;
}

/** Reduce a JSON Schema (pydantic's or Zod's) to its shape, following `$ref`s against `root`. */
export function shapeOf(input: unknown, root: Json): Shape {
  const schema = resolve((input ?? {}) as Json, root);
  const union = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (union) {
    const variants = union.filter((variant) => !isNull(variant));
    return variants.length === 1 ? shapeOf(variants[0], root) : { kind: "leaf" };
  }
  if (Array.isArray(schema.enum)) {
    return { kind: "enum", values: schema.enum.filter((v) => v !== null).map(String).sort() };
  }
  if (schema.type === "array" || schema.items) return { kind: "array", items: shapeOf(schema.items, root) };
  if (schema.properties) {
    const properties: Record<string, Shape> = {};
    for (const [name, property] of Object.entries(schema.properties as Json)) properties[name] = shapeOf(property, root);
    return { kind: "object", properties, required: [...((schema.required as string[]) ?? [])].sort() };
  }
  if (typeof schema.additionalProperties === "object") return { kind: "map", values: shapeOf(schema.additionalProperties, root) };
  if (schema.additionalProperties === true) return { kind: "map", values: { kind: "leaf" } };
  return { kind: "leaf" };
}

/** Every way two shapes differ, each naming the field (`OrderView.customer.email: …`). */
export function differences(python: Shape, zod: Shape, path: string): string[] {
  if (python.kind !== zod.kind) return [`${path}: Python has ${python.kind}, Zod has ${zod.kind}`];
  switch (python.kind) {
    case "object": {
      const other = zod as Extract<Shape, { kind: "object" }>;
      const out: string[] = [];
      const names = new Set([...Object.keys(python.properties), ...Object.keys(other.properties)]);
      for (const name of names) {
        const [p, z] = [python.properties[name], other.properties[name]];
        if (!p) out.push(`${path}.${name}: only in the Zod schema`);
        else if (!z) out.push(`${path}.${name}: only in the Python model`);
        else out.push(...differences(p, z, `${path}.${name}`));
        const [pr, zr] = [python.required.includes(name), other.required.includes(name)];
        if (p && z && pr !== zr) out.push(`${path}.${name}: ${pr ? "required" : "optional"} in Python, ${zr ? "required" : "optional"} in Zod`);
      }
      return out;
    }
    case "map":
      return differences(python.values, (zod as Extract<Shape, { kind: "map" }>).values, `${path}{}`);
    case "array":
      return differences(python.items, (zod as Extract<Shape, { kind: "array" }>).items, `${path}[]`);
    case "enum": {
      const other = (zod as Extract<Shape, { kind: "enum" }>).values;
      return python.values.join() === other.join() ? [] : [`${path}: enum ${python.values.join("|")} in Python, ${other.join("|")} in Zod`];
    }
    default:
      return [];
  }
}

/** How a Zod response schema differs from the Python model's JSON Schema (empty: they agree). */
export function compareWithZod(name: string, pythonSchema: unknown, root: Json, schema: z.ZodType): string[] {
  const zodJson = z.toJSONSchema(schema, { io: "output", unrepresentable: "any" }) as Json;
  return differences(shapeOf(pythonSchema, root), shapeOf(zodJson, zodJson), name);
}
