import { describe, expect, it } from "vitest";
import { History } from "../src/history";
import { ObjectEdits, type ObjectEntry } from "../src/objectEdits";
import { fromServer, type LocalObject } from "../src/objects";
import type { ServerObject } from "../src/api";

const server: ServerObject = {
  id: 7, image: 1, author: 1, author_name: "ann", area: 1, version: 1, number: 1, label: 1,
  polygons: [{ outer: [[1, 1], [9, 1], [5, 8]], holes: [] }], clicks: [],
} as unknown as ServerObject;

function setup() {
  const touched: LocalObject[] = [];
  const history = new History<ObjectEntry>();
  const edits = new ObjectEdits({ width: 20, height: 20 }, history, {
    touch: (obj) => void touched.push(obj),
    changed: () => undefined,
    dragging: () => undefined,
    flash: () => undefined,
  });
  const obj = fromServer(server);
  edits.objects = [obj];
  edits.selected = obj.localId;
  return { edits, obj, touched, history };
}

describe("a vertex drag", () => {
  it("is recorded and saved on drop", () => {
    const { edits, obj, touched, history } = setup();
    edits.moveVertex({ polygon: 0, ring: -1, index: 2 }, 6, 9, false);
    edits.moveVertex({ polygon: 0, ring: -1, index: 2 }, 7, 10, true);
    expect(obj.polygons[0].outer[2]).toEqual([7, 10]);
    expect(touched).toEqual([obj]);
    expect(history.canUndo).toBe(true);
  });

  it("deselected mid-drag (its lease lost) is still recorded on its object: what is shown is kept", () => {
    const { edits, obj, touched } = setup();
    edits.moveVertex({ polygon: 0, ring: -1, index: 2 }, 6, 9, false);
    edits.selected = null; // a lease_lost / lease_refused arrived while the mouse was down
    edits.moveVertex({ polygon: 0, ring: -1, index: 2 }, 7, 10, true);
    expect(obj.polygons[0].outer[2]).toEqual([7, 10]);
    expect(touched).toEqual([obj]);
    // the next drag starts afresh on whatever is selected then
    edits.moveVertex({ polygon: 0, ring: -1, index: 0 }, 2, 2, true);
    expect(touched).toEqual([obj]);
  });
});
