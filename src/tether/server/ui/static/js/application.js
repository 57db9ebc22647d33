// The application page: header (sync, health, revision, conditions, operation), the resource
// tree as a graph or a list, history with rollback, events, and the resource panel with
// live and desired manifests, diffs and events. Live over the SSE stream.

import { api, streamApplications } from "./api.js";
import { age, h, replace } from "./dom.js";
import { appSource, appStatus, autoSync, badge, destination } from "./status.js";
import { kindIcon, nodeKey, treeGraph, treeNodes } from "./tree.js";
import { deleteDialog, notify, rollbackDialog, syncDialog } from "./operations.js";
import { resourcePanel } from "./resource.js";
import { eventsTable } from "./events.js";

const TABS = [["tree", "Tree"], ["list", "List"], ["history", "History"], ["events", "Events"]];

export function renderApplication(main, name, navigate) {
  const base = `/api/v1/applications/${encodeURIComponent(name)}`;
  const state = { app: null, tree: { nodes: [] }, managed: [], tab: new URLSearchParams(location.search).get("view") || "tree", selected: null };
  const header = h("section", { class: "app-header", "aria-label": "Application status" });
  const tablist = h("div", { class: "tabs", role: "tablist", "aria-label": "Application views" });
  const body = h("section", { class: "tab-body", role: "tabpanel", id: "app-tabpanel" });
  const panel = h("aside", { class: "panel", id: "resource-panel", hidden: true, "aria-label": "Resource details" });

  replace(main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/applications" }, "Applications"), " / ", h("span", {}, name)),
    header, tablist, body, panel);

  for (const [id, label] of TABS) {
    tablist.append(h("button", { type: "button", role: "tab", id: `tab-${id}`, "aria-controls": "app-tabpanel", "data-tab": id,
      onclick: () => { state.tab = id; history.replaceState(null, "", `${location.pathname}?view=${id}`); drawTabs(); drawBody(); },
      onkeydown: (event) => {
        const ids = TABS.map(([t]) => t);
        const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        const next = ids[(ids.indexOf(id) + step + ids.length) % ids.length];
        document.getElementById(`tab-${next}`).focus();
        document.getElementById(`tab-${next}`).click();
      } }, label));
  }

  function drawTabs() {
    for (const tab of tablist.children) {
      const on = tab.dataset.tab === state.tab;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
  }

  function drawHeader() {
    const app = state.app;
    const s = appStatus(app);
    const source = appSource(app);
    const dest = destination(app);
    const op = s.operation;
    const results = op && op.syncResult ? op.syncResult.resources || [] : [];
    const deployed = (op && op.syncResult && op.syncResult.revision) || "";
    const waiting = [...s.conditions.map((c) => ({ type: c.type, message: c.message }))];
    if (op && op.phase === "Running" && op.message) waiting.push({ type: "Operation", message: op.message });
    replace(header,
      h("div", { class: "title-row" },
        kindIcon("Application", 26), h("h1", {}, name),
        h("div", { class: "badges" }, badge(s.sync, { testid: "app-sync" }), badge(s.health, { testid: "app-health", title: s.healthMessage }),
          op ? badge(op.phase, { testid: "op-phase", title: op.message || op.phase }) : null),
        h("span", { class: "spacer" }),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "btn primary", id: "sync-button", onclick: () => syncDialog(app, (app.status || {}).resources || []) }, "Sync"),
          h("button", { type: "button", class: "btn", id: "refresh-button", onclick: () => refresh("normal") }, "Refresh"),
          h("button", { type: "button", class: "btn", onclick: () => refresh("hard") }, "Hard refresh"),
          op && op.phase === "Running" ? h("button", { type: "button", class: "btn", onclick: terminate }, "Terminate") : null,
          h("button", { type: "button", class: "btn danger", onclick: () => deleteDialog(app, () => navigate("/applications")) }, "Delete"))),
      h("dl", { class: "summary" },
        h("div", {}, h("dt", {}, "Project"), h("dd", {}, app.spec.project || "default")),
        h("div", {}, h("dt", {}, "Repository"), h("dd", { class: "ellipsis", title: source.repoURL || "" }, source.repoURL || "")),
        h("div", {}, h("dt", {}, "Path"), h("dd", {}, source.path || source.chart || "")),
        h("div", {}, h("dt", {}, "Target"), h("dd", {}, source.targetRevision || "HEAD")),
        h("div", {}, h("dt", {}, "Target at"), h("dd", { title: s.revision, "data-testid": "revision" }, h("code", {}, s.revision.slice(0, 12) || "—"))),
        h("div", {}, h("dt", {}, "Deployed"), h("dd", { title: deployed, "data-testid": "deployed-revision" }, h("code", {}, deployed.slice(0, 12) || "—"))),
        h("div", {}, h("dt", {}, "Destination"), h("dd", {}, `${dest.cluster} / ${dest.namespace || "—"}`)),
        h("div", {}, h("dt", {}, "Auto-sync"), h("dd", {}, autoSync(app) ? "on" : "off")),
        h("div", {}, h("dt", {}, "Reconciled"), h("dd", {}, age(s.reconciledAt) || "never"))),
      op ? h("div", { class: `operation ${op.phase}`, "data-testid": "operation" },
        h("strong", {}, `Last operation: ${op.phase}`), " ",
        op.phase === "Running" ? h("progress", { max: Math.max(results.length, 1), value: results.filter((r) => r.status).length, "aria-label": "Sync progress" }) : null,
        h("span", {}, ` ${op.message || ""}`),
        h("span", { class: "muted" }, op.startedAt ? ` · started ${age(op.startedAt)}` : "", op.finishedAt ? `, finished ${age(op.finishedAt)}` : "")) : null,
      waiting.length ? h("div", { class: "conditions", role: "note", "data-testid": "conditions" },
        h("strong", {}, op && op.phase === "Running" ? "Why it is waiting" : "Conditions"),
        h("ul", {}, waiting.map((c) => h("li", {}, h("span", { class: "cond-type" }, c.type), ": ", c.message)))) : null);
  }

  function drawBody() {
    if (!state.app) return;
    const nodes = treeNodes(state.app, state.tree);
    if (state.tab === "tree") {
      replace(body, h("div", { class: "tree-wrap" }, treeGraph(state.app, nodes, select)));
    } else if (state.tab === "list") {
      replace(body, h("table", { class: "table", "data-testid": "resource-list" },
        h("thead", {}, h("tr", {}, ["Kind", "Namespace", "Name", "Sync", "Health", "Created"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, nodes.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name)).map((n) =>
          h("tr", {},
            h("td", {}, kindIcon(n.kind, 14), " ", n.kind), h("td", {}, n.namespace || ""),
            h("td", {}, h("button", { type: "button", class: "link", onclick: () => select(n) }, n.name)),
            h("td", {}, n.status ? badge(n.status) : ""), h("td", {}, n.health ? badge(n.health.status) : ""),
            h("td", {}, age(n.createdAt)))))));
    } else if (state.tab === "history") {
      const entries = [...((state.app.status || {}).history || [])].reverse();
      replace(body, entries.length ? h("table", { class: "table", "data-testid": "history" },
        h("thead", {}, h("tr", {}, ["ID", "Revision", "Deployed", "Initiated by", ""].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, entries.map((e) => h("tr", {},
          h("td", {}, String(e.id)), h("td", {}, h("code", { title: e.revision }, (e.revision || "").slice(0, 12))),
          h("td", { title: e.deployedAt }, age(e.deployedAt)),
          h("td", {}, e.initiatedBy ? (e.initiatedBy.automated ? "auto-sync" : e.initiatedBy.username || "") : ""),
          h("td", {}, h("button", { type: "button", class: "btn", "data-rollback": e.id, "data-rollback-revision": e.revision, onclick: () => rollbackDialog(state.app, e) }, "Rollback"))))))
        : h("p", { class: "muted" }, "No deployments yet."));
    } else if (state.tab === "events") {
      replace(body, h("p", { class: "muted" }, "Loading events…"));
      api("GET", `${base}/events`).then((events) => replace(body, eventsTable(events.items || []))).catch((e) => replace(body, h("p", { class: "error" }, e.message)));
    }
  }

  function select(node) {
    state.selected = node;
    const managed = state.managed.find((m) => nodeKey(m) === nodeKey(node));
    resourcePanel(panel, { app: state.app, node, managed, base });
  }

  async function refresh(kind) {
    try {
      state.app = await api("GET", `${base}?refresh=${kind}`);
      await loadDetails();
      drawHeader();
      drawBody();
      notify(`${name} refreshed`);
    } catch (error) {
      notify(`Refresh failed: ${error.message}`);
    }
  }

  async function terminate() {
    try {
      await api("DELETE", `${base}/operation`);
    } catch (error) {
      notify(`Terminate failed: ${error.message}`);
    }
  }

  async function loadDetails() {
    const [tree, managed] = await Promise.all([
      api("GET", `${base}/resource-tree`).catch(() => ({ nodes: [] })),
      api("GET", `${base}/managed-resources`).catch(() => ({ items: [] })),
    ]);
    state.tree = tree;
    state.managed = managed.items || [];
  }

  // Tree and manifests change when the app's status does; refetch them at most every 2 s.
  let detailTimer = null;
  function scheduleDetails() {
    if (detailTimer) return;
    detailTimer = setTimeout(async () => {
      detailTimer = null;
      await loadDetails();
      if (state.tab === "tree" || state.tab === "list") drawBody();
    }, 1000);
  }

  let closeStream = () => {};
  (async () => {
    try {
      state.app = await api("GET", base);
      await loadDetails();
    } catch (error) {
      replace(header, h("p", { class: "error" }, error.status === 404 || error.status === 403 ? `Application ${name} not found.` : error.message));
      return;
    }
    drawTabs();
    drawHeader();
    drawBody();
    closeStream = streamApplications({ name }, ({ type, application }) => {
      if (type === "DELETED") {
        notify(`${name} was deleted`);
        navigate("/applications");
        return;
      }
      const before = JSON.stringify((state.app.status || {}).resources) + JSON.stringify((state.app.status || {}).operationState);
      state.app = application;
      drawHeader();
      if (state.tab === "history") drawBody();
      if (before !== JSON.stringify((application.status || {}).resources) + JSON.stringify((application.status || {}).operationState)) scheduleDetails();
    });
  })();
  return () => {
    closeStream();
    clearTimeout(detailTimer);
  };
}
