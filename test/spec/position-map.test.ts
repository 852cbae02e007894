// PositionMap: the DFlash drafter's cache positions after gaps continue its own, and cuts and saved
// states map target positions back to them.
import { describe, expect, it } from "vitest";
import { PositionMap } from "../../src/spec/position-map.js";

describe("PositionMap", () => {
  it("places consecutive positions as they are and a gap's positions right after the last placed", () => {
    const m = new PositionMap();
    expect(m.place(0, 10)).toBe(0);
    expect(m.place(10, 5)).toBe(0);
    expect(m.next).toBe(15);
    // a plain stretch of 300 positions not followed: the next rows continue at drafter position 15
    expect(m.place(315, 4)).toBe(300);
    expect(m.toDrafter(316)).toBe(16);
    expect(m.toDrafter(12)).toBe(12);
    // a draft block at the end (n = 0) after another gap; its cells are dropped again at toDrafter(pos)
    expect(m.place(400, 0)).toBe(381);
    expect(m.toDrafter(400)).toBe(19);
    // the block's position is where the next rows go: no segment is left empty behind it
    expect(m.place(500, 0)).toBe(481);
    expect(m.place(500, 3)).toBe(481);
    expect(m.toDrafter(501)).toBe(20);
    expect(Array.from(m.save())).toEqual([503, 0, 0, 315, 300, 500, 481]);
  });

  it("cuts back into earlier segments and goes on from there", () => {
    const m = new PositionMap();
    m.place(0, 10);
    m.place(100, 10); // drafter 10..19
    m.place(200, 10); // drafter 20..29
    expect(m.toDrafter(105)).toBe(15);
    m.cut(105);
    expect(m.next).toBe(105);
    expect(m.toDrafter(105)).toBe(15);
    // continuing without a gap stays in the segment; a cut past the end changes nothing
    expect(m.place(105, 2)).toBe(90);
    m.cut(1000);
    expect(m.next).toBe(107);
    // a cut at a segment's start drops it: the next rows continue the segment before
    m.cut(100);
    expect(m.next).toBe(100);
    expect(m.place(100, 1)).toBe(0);
    expect(m.toDrafter(100)).toBe(100);
    m.cut(0);
    expect(Array.from(m.save())).toEqual([0, 0, 0]);
  });

  it("saves and loads itself", () => {
    const m = new PositionMap();
    m.place(0, 8);
    m.place(50, 8);
    const copy = new PositionMap();
    copy.load(m.save());
    expect(copy.toDrafter(55)).toBe(m.toDrafter(55));
    expect(copy.next).toBe(58);
    expect(() => copy.load(new Int32Array(2))).toThrow(/bad position map/);
  });
});
