// The resource panel: one object's live manifest, desired manifest, diff (unified or side by
// side) and events. Secret values arrive masked from the server and stay that way.

import { api, query } from "./api.js";
import { h, replace } from "./dom.js";
import { badge } from "./status.js";
import { kindIcon } from "./tree.js";
import { splitView, unifiedView } from "./diff.js";
import { forDiff, toYaml, withoutManagedFields } from "./yaml.js";
import { eventsTable } from "./events.js";

const parse = (text) => (text ? JSON.parse(text) : null);

export function resourcePanel(panel, { app, node, managed, base }) {
  const tabs = [["live", "Live manifest"], ["desired", "Desired manifest"], ["diff", "Diff"], ["events", "Events"]];
  let tab = managed && managed.modified ? "diff" : "live";
  let split = false;
  const content = h("div", { class: "panel-body" });
  const bar = h("div", { class: "tabs", role: "tablist", "aria-label": "Resource views" });
  // Focus goes back to what opened the panel, so keyboard users keep their place.
  const opener = document.activeElement;
  const close = () => {
    panel.hidden = true;
    panel.replaceChildren();
    if (opener && opener.isConnected) opener.focus();
  };
  replace(panel,
    h("div", { class: "panel-head" },
      kindIcon(node.kind, 22), h("h2", {}, `${node.kind}/${node.name}`),
      node.status ? badge(node.status) : null, node.health ? badge(node.health.status) : null,
      h("span", { class: "spacer" }),
      h("button", { type: "button", class: "btn", "aria-label": "Close resource details", onclick: close }, "Close")),
    bar, content);
  panel.hidden = false;
  panel.onkeydown = (event) => { if (event.key === "Escape") close(); };
  for (const [id, label] of tabs) {
    bar.append(h("button", { type: "button", role: "tab", "data-tab": id, onclick: () => { tab = id; draw(); },
      onkeydown: (event) => {
        const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        const ids = tabs.map(([t]) => t);
        const next = bar.children[(ids.indexOf(id) + step + ids.length) % ids.length];
        next.focus();
        next.click();
      } }, label));
  }

  let liveCache;
  async function live() {
    if (liveCache !== undefined) return liveCache;
    if (managed && managed.liveState) return (liveCache = parse(managed.liveState));
    const params = query({ kind: node.kind, resourceName: node.name, namespace: node.namespace, group: node.group });
    try {
      liveCache = parse((await api("GET", `${base}/resource${params}`)).manifest);
    } catch (error) {
      if (error.status !== 404) throw error;
      liveCache = null;
    }
    return liveCache;
  }
  const desired = () => (managed ? parse(managed.targetState) : null);

  async function draw() {
    for (const button of bar.children) button.setAttribute("aria-selected", String(button.dataset.tab === tab));
    replace(content, h("p", { class: "muted" }, "Loading…"));
    try {
      if (tab === "live") {
        const obj = await live();
        replace(content, obj ? h("pre", { class: "manifest", "data-testid": "live-manifest" }, toYaml(withoutManagedFields(obj))) : h("p", { class: "muted" }, "Not in the cluster."));
      } else if (tab === "desired") {
        const obj = desired();
        replace(content, obj ? h("pre", { class: "manifest", "data-testid": "desired-manifest" }, toYaml(obj)) : h("p", { class: "muted" }, managed ? "Not in Git (would be pruned)." : "Not managed by the application (owned by another object)."));
      } else if (tab === "diff") {
        const liveText = toYaml(forDiff(await live()));
        const desiredText = toYaml(forDiff(desired()));
        const toggle = h("label", { class: "check" }, h("input", { type: "checkbox", checked: split, id: "split-diff", onchange: (e) => { split = e.target.checked; draw(); } }), "Side by side");
        replace(content, toggle, !managed ? h("p", { class: "muted" }, "Only managed objects have a desired state.") : split ? splitView(liveText, desiredText) : unifiedView(liveText, desiredText));
      } else {
        const params = query({ resourceName: node.name, resourceNamespace: node.namespace });
        const events = await api("GET", `${base}/events${params}`);
        replace(content, eventsTable(events.items || []));
      }
    } catch (error) {
      replace(content, h("p", { class: "error" }, error.message));
    }
  }
  draw();
  panel.querySelector("button[data-tab]").focus();
}
