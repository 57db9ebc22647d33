// Line diffs of two YAML texts, shown unified or side by side.
// Myers' O(ND) algorithm: manifests differ in few lines, so this stays fast on large objects.

import { h } from "./dom.js";

/** Edit script between two line arrays: [{op: " "|"-"|"+", a, b, text}]. */
export function diffLines(a, b) {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace = [];
  let done = false;
  for (let d = 0; d <= max && !done; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        done = true;
        break;
      }
    }
  }
  const ops = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0 && (x > 0 || y > 0); d--) {
    const vd = trace[d];
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[offset + k - 1] < vd[offset + k + 1]) ? k + 1 : k - 1;
    const prevX = vd[offset + prevK];
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) ops.push({ op: " ", a: --x, b: --y, text: a[x] });
    if (d > 0) {
      if (x === prevX) ops.push({ op: "+", b: --y, text: b[y] });
      else ops.push({ op: "-", a: --x, text: a[x] });
    }
  }
  return ops.reverse();
}

/** Group an edit script into hunks with `context` unchanged lines around changes. */
function hunks(ops, context = 3) {
  const keep = new Uint8Array(ops.length);
  ops.forEach((op, i) => {
    if (op.op !== " ") for (let j = Math.max(0, i - context); j <= Math.min(ops.length - 1, i + context); j++) keep[j] = 1;
  });
  const groups = [];
  let current = null;
  ops.forEach((op, i) => {
    if (!keep[i]) {
      current = null;
      return;
    }
    if (!current) groups.push((current = []));
    current.push(op);
  });
  return groups;
}

/** A unified diff view of live (a) against desired (b). */
export function unifiedView(aText, bText) {
  const ops = diffLines(aText.split("\n"), bText.split("\n"));
  const groups = hunks(ops);
  if (!groups.length) return h("p", { class: "muted", "data-testid": "no-diff" }, "No differences.");
  return h("pre", { class: "diff unified", "data-testid": "diff" },
    groups.map((group, i) => [
      i ? h("span", { class: "hunk" }, "…\n") : null,
      group.map((op) => h("span", { class: op.op === "+" ? "add" : op.op === "-" ? "del" : "ctx" }, `${op.op} ${op.text}\n`)),
    ]));
}

/** A side-by-side diff: live on the left, desired on the right, aligned by the edit script. */
export function splitView(aText, bText) {
  const ops = diffLines(aText.split("\n"), bText.split("\n"));
  const groups = hunks(ops);
  if (!groups.length) return h("p", { class: "muted", "data-testid": "no-diff" }, "No differences.");
  const rows = [];
  for (const [i, group] of groups.entries()) {
    if (i) rows.push(h("tr", { class: "hunk" }, h("td", { colspan: 4 }, "…")));
    let dels = [];
    let adds = [];
    const flush = () => {
      for (let j = 0; j < Math.max(dels.length, adds.length); j++) {
        const d = dels[j];
        const a = adds[j];
        rows.push(h("tr", {},
          h("td", { class: "num" }, d ? d.a + 1 : ""), h("td", { class: d ? "del" : "empty" }, d ? d.text : ""),
          h("td", { class: "num" }, a ? a.b + 1 : ""), h("td", { class: a ? "add" : "empty" }, a ? a.text : "")));
      }
      dels = [];
      adds = [];
    };
    for (const op of group) {
      if (op.op === "-") dels.push(op);
      else if (op.op === "+") adds.push(op);
      else {
        flush();
        rows.push(h("tr", {}, h("td", { class: "num" }, op.a + 1), h("td", {}, op.text), h("td", { class: "num" }, op.b + 1), h("td", {}, op.text)));
      }
    }
    flush();
  }
  return h("table", { class: "diff split", "data-testid": "diff" },
    h("thead", {}, h("tr", {}, h("th", { colspan: 2, scope: "col" }, "Live"), h("th", { colspan: 2, scope: "col" }, "Desired"))),
    h("tbody", {}, rows));
}
