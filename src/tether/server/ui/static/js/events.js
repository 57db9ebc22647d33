// Kubernetes Events as a table (application and resource views share it).

import { age, h } from "./dom.js";

/** A table of Kubernetes Events, newest first. */
export function eventsTable(items) {
  if (!items.length) return h("p", { class: "muted" }, "No events.");
  const sorted = [...items].sort((a, b) => String(b.lastTimestamp || b.eventTime || "").localeCompare(String(a.lastTimestamp || a.eventTime || "")));
  return h("table", { class: "table", "data-testid": "events" },
    h("thead", {}, h("tr", {}, ["Type", "Reason", "Message", "Count", "Last seen"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, sorted.map((e) => h("tr", { class: e.type === "Warning" ? "warning" : "" },
      h("td", {}, e.type || ""), h("td", {}, e.reason || ""), h("td", {}, e.message || ""), h("td", {}, String(e.count || 1)),
      h("td", {}, age(e.lastTimestamp || e.eventTime))))));
}
