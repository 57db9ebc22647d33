// The resource tree as a graph: Application → managed objects → owned children, laid out in
// columns by depth, each child placed beside its parent. Kind icons are inline SVG paths.

import { h, svg } from "./dom.js";
import { statusClass } from "./status.js";

const NODE_W = 230;
const NODE_H = 54;
const COL_GAP = 60;
const ROW_GAP = 14;

// 16x16 strokes, one per common kind; anything else gets the generic cube.
const KIND_ICONS = {
  Application: "M2 8h12M8 2v12M3.5 3.5l9 9M12.5 3.5l-9 9",
  Deployment: "M2 4h12v8H2zM5 7h6M5 9.5h6",
  StatefulSet: "M2 3h12v3H2zM2 7h12v3H2zM2 11h12v3H2z",
  DaemonSet: "M2 2h5v5H2zM9 2h5v5H9zM2 9h5v5H2zM9 9h5v5H9z",
  ReplicaSet: "M3 3h8v8H3zM5 5h8v8",
  Pod: "M8 1.5l5.5 3.2v6.6L8 14.5l-5.5-3.2V4.7zM8 8l5.5-3.3M8 8v6.5M8 8L2.5 4.7",
  Service: "M8 2v4M3 14l2-5h6l2 5M8 6a1.5 1.5 0 1 0 0 .1",
  Ingress: "M1 8h9M7 5l3 3-3 3M12 2v12",
  ConfigMap: "M3 2h7l3 3v9H3zM5 7h6M5 9.5h6M5 12h4",
  Secret: "M4 7V5a4 4 0 0 1 8 0v2M3 7h10v7H3zM8 10v2",
  Namespace: "M2 3h12v10H2zM2 6h12",
  Job: "M8 2a6 6 0 1 0 0.1 0M8 4.5V8l2.5 2",
  CronJob: "M8 2a6 6 0 1 0 0.1 0M8 4.5V8l2.5 2M1 1l2 2",
  EndpointSlice: "M2 8h3M11 8h3M5 5h6v6H5z",
  ServiceAccount: "M8 7a2.5 2.5 0 1 0 0-.1M3 14c0-3 2.2-5 5-5s5 2 5 5",
  PersistentVolumeClaim: "M3 4c0-1.5 10-1.5 10 0v8c0 1.5-10 1.5-10 0zM3 4c0 1.5 10 1.5 10 0",
  ControllerRevision: "M3 2h10v12H3zM6 5h4M6 8h4M6 11h2",
};
const GENERIC = "M8 1.5l6 3.2v6.6L8 14.5l-6-3.2V4.7zM8 8l6-3.3M8 8v6.5M8 8L2 4.7";

/** Inline SVG icon for a Kubernetes kind. */
export function kindIcon(kind, size = 18) {
  return svg("svg", { viewBox: "0 0 16 16", width: size, height: size, "aria-hidden": "true", class: "kind-icon" },
    svg("path", { d: KIND_ICONS[kind] || GENERIC, fill: "none", stroke: "currentColor", "stroke-width": 1.3, "stroke-linejoin": "round" }));
}

export const nodeKey = (n) => `${n.group || ""}/${n.kind}/${n.namespace || ""}/${n.name}`;

/**
 * The nodes of an app's tree: the resource-tree nodes with sync status from
 * status.resources, plus managed objects missing from the cluster.
 */
export function treeNodes(app, tree) {
  const statuses = new Map(((app.status || {}).resources || []).map((r) => [nodeKey(r), r]));
  const nodes = (tree.nodes || []).map((n) => {
    const managed = statuses.get(nodeKey(n));
    return { ...n, managed: Boolean(managed), status: managed ? managed.status : undefined, health: n.health || (managed && managed.health) };
  });
  const present = new Set(nodes.map(nodeKey));
  for (const [key, r] of statuses) {
    if (!present.has(key)) nodes.push({ ...r, managed: true, health: r.health || { status: "Missing" } });
  }
  return nodes;
}

/** Lay the nodes out: returns {positions: Map(key → {x, y, depth}), width, height}. */
export function layout(nodes) {
  const byUid = new Map(nodes.filter((n) => n.uid).map((n) => [n.uid, n]));
  const children = new Map();
  const roots = [];
  for (const node of nodes) {
    const parents = (node.parentRefs || []).filter((p) => byUid.has(p.uid));
    if (!parents.length) roots.push(node);
    else {
      const parent = byUid.get(parents[0].uid);
      if (!children.has(parent.uid)) children.set(parent.uid, []);
      children.get(parent.uid).push(node);
    }
  }
  const order = (a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name);
  roots.sort(order);
  const positions = new Map();
  let row = 0;
  let maxDepth = 0;
  const place = (node, depth, seen) => {
    if (seen.has(node)) return;
    seen.add(node);
    maxDepth = Math.max(maxDepth, depth);
    const kids = (children.get(node.uid) || []).sort(order);
    const first = row;
    for (const kid of kids) place(kid, depth + 1, seen);
    const mid = kids.length ? (first + row - 1) / 2 : row++;
    positions.set(nodeKey(node), { depth, y: mid });
  };
  const seen = new Set();
  for (const root of roots) place(root, 1, seen);
  const rows = Math.max(row, 1);
  positions.set("app", { depth: 0, y: (rows - 1) / 2 });
  const toPixels = (p) => ({ x: p.depth * (NODE_W + COL_GAP) + 10, y: p.y * (NODE_H + ROW_GAP) + 10 });
  const pixels = new Map([...positions].map(([k, p]) => [k, toPixels(p)]));
  return { positions: pixels, roots, byUid, width: (maxDepth + 1) * (NODE_W + COL_GAP) + 20, height: rows * (NODE_H + ROW_GAP) + 20 };
}

function nodeBox(node, at, onSelect, label) {
  const health = (node.health || {}).status;
  const cls = `node ${statusClass(health || "none")} ${node.status === "OutOfSync" ? "outofsync" : ""}`;
  const group = svg("g", {
    class: cls, transform: `translate(${at.x},${at.y})`, tabindex: 0, role: "button",
    "aria-label": `${node.kind} ${node.name}${health ? `, ${health}` : ""}${node.status ? `, ${node.status}` : ""}`,
    "data-kind": node.kind, "data-name": node.name,
    onclick: () => onSelect(node),
    onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); onSelect(node); } },
  },
    svg("rect", { width: NODE_W, height: NODE_H, rx: 6 }),
    svg("rect", { class: "health-bar", width: 5, height: NODE_H, rx: 2 }),
    svg("g", { transform: "translate(12,8)" }, kindIcon(node.kind, 20)),
    svg("text", { x: 40, y: 22, class: "node-name" }, truncate(node.name, 24)),
    svg("text", { x: 40, y: 40, class: "node-kind" }, label || [node.kind, health, node.status].filter(Boolean).join(" · ")),
    svg("title", {}, `${node.kind}/${node.namespace ? `${node.namespace}/` : ""}${node.name}`));
  return group;
}

function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The graph as an SVG element; onSelect(node) on click or Enter. */
export function treeGraph(app, nodes, onSelect) {
  const { positions, roots, byUid, width, height } = layout(nodes);
  const edges = [];
  const appAt = positions.get("app");
  const link = (from, to) => {
    const x1 = from.x + NODE_W;
    const y1 = from.y + NODE_H / 2;
    const x2 = to.x;
    const y2 = to.y + NODE_H / 2;
    const mid = (x1 + x2) / 2;
    edges.push(svg("path", { class: "edge", d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` }));
  };
  const boxes = [];
  for (const node of nodes) {
    const at = positions.get(nodeKey(node));
    if (!at) continue;
    const parentRef = (node.parentRefs || []).find((p) => byUid.has(p.uid));
    link(parentRef ? positions.get(nodeKey(byUid.get(parentRef.uid))) : appAt, at);
    boxes.push(nodeBox(node, at, onSelect));
  }
  const status = app.status || {};
  const appNode = { kind: "Application", name: app.metadata.name, health: status.health, status: (status.sync || {}).status };
  boxes.push(nodeBox(appNode, appAt, () => {}, `Application · ${roots.length} object${roots.length === 1 ? "" : "s"}`));
  return svg("svg", { class: "tree", width, height, viewBox: `0 0 ${width} ${height}`, role: "group", "aria-label": "Resource tree" }, edges, boxes);
}
