// Sync and health badges: one colour and one icon per Argo CD status value, so status is
// never told by colour alone.

import { h, svg } from "./dom.js";

const ICONS = {
  Healthy: "M4 8.5l2.5 2.5L12 5",
  Synced: "M4 8.5l2.5 2.5L12 5",
  OutOfSync: "M8 3v6M8 11.5v1.5",
  Degraded: "M4 4l8 8M12 4l-8 8",
  Missing: "M5 6a3 3 0 1 1 3 3v1.5M8 12.5v1",
  Progressing: "M8 2a6 6 0 1 1-6 6",
  Suspended: "M5.5 4v8M10.5 4v8",
  Unknown: "M5 6a3 3 0 1 1 3 3v1.5M8 12.5v1",
  Running: "M8 2a6 6 0 1 1-6 6",
  Terminating: "M4 4l8 8M12 4l-8 8",
  Succeeded: "M4 8.5l2.5 2.5L12 5",
  Failed: "M4 4l8 8M12 4l-8 8",
  Error: "M4 4l8 8M12 4l-8 8",
};

/** Lower-case CSS class for a status value ("OutOfSync" -> "outofsync"). */
export function statusClass(value) {
  return `st-${String(value || "unknown").toLowerCase()}`;
}

/**
 * A badge: icon plus text, coloured by status. `tone` (a status value) lends its colour
 * and icon to a badge whose text is not a status (an ApplicationSet condition's type).
 */
export function badge(value, { title, testid, tone } = {}) {
  const text = value || "Unknown";
  const look = tone || text;
  const path = ICONS[look] || ICONS.Unknown;
  const spin = look === "Progressing" || look === "Running";
  return h("span", { class: `badge ${statusClass(look)}`, title: title || text, "data-testid": testid, "data-status": tone ? undefined : text, "data-tone": tone },
    svg("svg", { viewBox: "0 0 16 16", width: 14, height: 14, "aria-hidden": "true", class: spin ? "spin" : undefined },
      svg("path", { d: path, fill: "none", stroke: "currentColor", "stroke-width": 2, "stroke-linecap": "round" })),
    text);
}

/** The sync status, health and operation phase of an Application object. */
export function appStatus(app) {
  const status = app.status || {};
  return {
    sync: (status.sync || {}).status || "Unknown",
    health: (status.health || {}).status || "Unknown",
    healthMessage: (status.health || {}).message || "",
    revision: (status.sync || {}).revision || "",
    operation: status.operationState || null,
    conditions: status.conditions || [],
    reconciledAt: status.reconciledAt || "",
  };
}

/** The single source of an app (the first of spec.sources when there are several). */
export function appSource(app) {
  const spec = app.spec || {};
  return spec.source || (spec.sources || [])[0] || {};
}

/** Whether automated sync is on. */
export function autoSync(app) {
  const policy = (app.spec || {}).syncPolicy || {};
  return Boolean(policy.automated) && policy.automated.enabled !== false;
}

const IN_CLUSTER = "https://kubernetes.default.svc";

/** The destination: cluster (its name; "in-cluster" for the local API server) and namespace. */
export function destination(app) {
  const dest = (app.spec || {}).destination || {};
  const cluster = dest.name || (dest.server === IN_CLUSTER ? "in-cluster" : dest.server || "");
  return { cluster, server: dest.server || "", namespace: dest.namespace || "" };
}
