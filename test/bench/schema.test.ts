// The committed JSON Schemas are what the zod schemas generate (regenerate them when this fails:
// bench/results.schema.json = resultsJsonSchema(), bench/profile.schema.json = profileJsonSchema()).
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { profileJsonSchema } from "../../src/bench/profile.js";
import { resultsJsonSchema } from "../../src/bench/results.js";

const committed = (f: string) => JSON.parse(readFileSync(path.join(import.meta.dirname, "../../bench", f), "utf8"));

describe("committed JSON Schemas", () => {
  it("bench/results.schema.json matches ResultsSchema", () => {
    expect(committed("results.schema.json")).toEqual(resultsJsonSchema());
  });
  it("bench/profile.schema.json matches ProfileSchema", () => {
    expect(committed("profile.schema.json")).toEqual(profileJsonSchema());
  });
});
