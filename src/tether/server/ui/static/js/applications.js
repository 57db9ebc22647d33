// The applications page: tiles or list, filters, search, sort, server-side paging, live badges.
//
// The server filters (project, sync, health, labels, repository, destination cluster and
// namespace, auto-sync, name), sorts every matching app and pages through that order
// (limit/continue), so a page of 10,000 applications costs one request for 100 in any
// order. The filters and the order live in the URL's query string: a reload or a shared
// link shows the same view. Live changes update the cards on screen: over the SSE stream
// when the matches fit one page, by re-reading the page when they do not.

import { api, query, streamApplications } from "./api.js";
import { age, h, replace } from "./dom.js";
import { appSource, appStatus, autoSync, badge, destination } from "./status.js";
import { quickSync } from "./operations.js";

const PAGE = 100;
const MAX_PAGE = 1000;
const POLL_MS = 5000;
const SYNC_VALUES = ["Synced", "OutOfSync", "Unknown"];
const HEALTH_VALUES = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"];
// The server's sortBy values, as offered here.
const SORTS = {
  name: "Name (A–Z)",
  "-name": "Name (Z–A)",
  health: "Health, worst first",
  sync: "Out of sync first",
  "-syncedAt": "Last synced",
  "-createdAt": "Newest",
  createdAt: "Oldest",
};
const DEFAULTS = { sort: "name", view: "tiles" };
const FILTER_KEYS = ["search", "project", "sync", "health", "labels", "repo", "cluster", "namespace", "autosync", "sort", "view"];

function readFilters() {
  const params = new URLSearchParams(location.search);
  const filters = {};
  for (const key of FILTER_KEYS) filters[key] = params.get(key) || "";
  filters.view = filters.view || localStorage.getItem("tether.view") || "tiles";
  filters.sort = filters.sort in SORTS ? filters.sort : "name";
  return filters;
}

/**
 * The destServer values for the cluster filter: what was typed, and the other identity
 * of a known cluster (its server URL for a name, its name for a URL), because an app may
 * address its destination either way.
 */
export function clusterIdentities(typed, clusters) {
  const value = typed.trim();
  if (!value) return [];
  const known = clusters.find((c) => c.name === value || c.server === value);
  return known ? [...new Set([value, known.name, known.server].filter(Boolean))] : [value];
}

function serverQuery(filters, clusters, limit, cont) {
  return query({
    search: filters.search,
    projects: filters.project ? [filters.project] : [],
    syncStatus: filters.sync ? [filters.sync] : [],
    healthStatus: filters.health ? [filters.health] : [],
    selector: filters.labels,
    repo: filters.repo,
    destServer: clusterIdentities(filters.cluster, clusters),
    destNamespace: filters.namespace ? [filters.namespace.trim()] : [],
    autoSync: { on: "true", off: "false" }[filters.autosync],
    sortBy: filters.sort === "name" ? "" : filters.sort,
    limit,
    continue: cont,
  });
}

/** The tile's border: red for failures, orange for drift or anything unsettled. */
function severity(status, errors) {
  const failed = status.operation && ["Failed", "Error"].includes(status.operation.phase);
  if (status.health === "Degraded" || failed || errors.length) return "bad";
  if (status.health !== "Healthy" || status.sync !== "Synced") return "attention";
  return "";
}

function finishedAt(app) {
  return ((app.status || {}).operationState || {}).finishedAt || "";
}

export function renderApplications(main, navigate) {
  const filters = readFilters();
  const state = { items: [], cont: "", loading: false, cards: new Map(), generation: 0, clusters: [] };
  const controls = new AbortController();

  const grid = h("div", { class: "apps", id: "apps", "aria-live": "polite" });
  const summary = h("p", { class: "muted", id: "apps-summary", role: "status" });
  const counts = h("div", { class: "counts", id: "apps-counts", "aria-label": "Status counts" });
  const more = h("button", { type: "button", class: "btn", id: "load-more", hidden: true, onclick: () => load(false) }, "Load more");

  const field = (label, control) => h("label", { class: "field" }, h("span", {}, label), control);
  const select = (name, values, labels = {}) =>
    h("select", { name, "aria-label": name },
      h("option", { value: "" }, "any"),
      values.map((v) => h("option", { value: v, selected: filters[name] === v }, labels[v] || v)));
  const text = (name, placeholder) => h("input", { name, value: filters[name], placeholder, "aria-label": name, autocomplete: "off" });

  const projectSelect = select("project", []);
  const clusterNames = h("datalist", { id: "cluster-names" });
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter applications" },
    field("Search", h("input", { name: "search", type: "search", value: filters.search, placeholder: "name contains…", id: "search", autocomplete: "off" })),
    field("Project", projectSelect),
    field("Sync", select("sync", SYNC_VALUES)),
    field("Health", select("health", HEALTH_VALUES)),
    field("Labels", text("labels", "team=a,env!=prod")),
    field("Repository", text("repo", "https://…")),
    field("Cluster", h("input", { name: "cluster", value: filters.cluster, placeholder: "in-cluster", "aria-label": "cluster", autocomplete: "off", list: "cluster-names" })),
    clusterNames,
    field("Namespace", text("namespace", "exact name")),
    field("Auto-sync", select("autosync", ["on", "off"])),
    field("Sort", h("select", { name: "sort", "aria-label": "sort" },
      Object.entries(SORTS).map(([v, l]) => h("option", { value: v, selected: filters.sort === v }, l)))),
    h("div", { class: "view-toggle", role: "group", "aria-label": "View" },
      ["tiles", "list"].map((v) => h("button", { type: "button", class: "btn", "aria-pressed": String(filters.view === v), "data-view": v,
        onclick: () => { localStorage.setItem("tether.view", v); apply({ view: v }); } }, v === "tiles" ? "Tiles" : "List"))));

  let debounce;
  form.addEventListener("input", (event) => {
    clearTimeout(debounce);
    const delay = event.target.tagName === "SELECT" ? 0 : 250;
    debounce = setTimeout(() => apply(Object.fromEntries(new FormData(form))), delay);
  });
  form.addEventListener("submit", (event) => event.preventDefault());

  function apply(changes) {
    Object.assign(filters, changes);
    const params = {};
    for (const key of FILTER_KEYS) if (filters[key] && filters[key] !== DEFAULTS[key]) params[key] = filters[key];
    history.replaceState(null, "", `/applications${query(params)}`);
    for (const button of form.querySelectorAll("[data-view]")) button.setAttribute("aria-pressed", String(button.dataset.view === filters.view));
    load(true);
  }

  async function load(reset) {
    const generation = reset ? ++state.generation : state.generation;
    if (reset) {
      state.items = [];
      state.cont = "";
    }
    state.loading = true;
    summary.textContent = "Loading…";
    let page;
    try {
      page = await api("GET", `/api/v1/applications${serverQuery(filters, state.clusters, PAGE, state.cont)}`, undefined, { signal: controls.signal });
    } catch (error) {
      if (error.name === "AbortError") return;
      if (generation === state.generation) summary.textContent = `Could not list applications: ${error.message}`;
      return;
    } finally {
      state.loading = false;
    }
    if (generation !== state.generation) return;
    state.items.push(...page.items);
    state.cont = page.metadata.continue || "";
    draw();
    if (streamKey !== null) follow();
  }

  function draw() {
    state.cards.clear();
    const list = filters.view === "list";
    const nodes = state.items.map((app) => {
      const node = list ? row(app) : tile(app);
      state.cards.set(app.metadata.name, node);
      return node;
    });
    grid.className = list ? "apps list" : "apps tiles";
    if (list) {
      replace(grid, h("table", { class: "table" },
        h("thead", {}, h("tr", {}, ["Name", "Project", "Sync", "Health", "Repository", "Path", "Destination", "Auto-sync", "Last synced"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, nodes)));
    } else {
      replace(grid, nodes);
    }
    drawCounts();
    const shown = state.items.length;
    summary.textContent = shown === 0 ? "No applications match." : `${shown} application${shown === 1 ? "" : "s"} shown${state.cont ? " (more available)" : ""}`;
    more.hidden = !state.cont;
  }

  // At a glance: how many of the apps shown are in each state; a click filters by it.
  function drawCounts() {
    const count = (key) => {
      const totals = new Map();
      for (const app of state.items) totals.set(appStatus(app)[key], (totals.get(appStatus(app)[key]) || 0) + 1);
      return [...totals].sort((a, b) => b[1] - a[1]);
    };
    const chip = (name, value, total) => h("button", { type: "button", class: "chip", "data-count": `${name}:${value}`,
      "aria-label": `${total} ${value}; show only ${value}`, onclick: () => { form.elements[name].value = value; apply({ [name]: value }); } },
      badge(value), ` ${total}`);
    replace(counts, state.items.length ? [
      h("span", { class: "muted" }, state.cont ? "Of those shown:" : "Totals:"),
      count("sync").map(([value, total]) => chip("sync", value, total)),
      h("span", { class: "sep", "aria-hidden": "true" }, "|"),
      count("health").map(([value, total]) => chip("health", value, total)),
    ] : []);
  }

  const open = (name) => navigate(`/applications/${encodeURIComponent(name)}`);

  function tile(app) {
    const s = appStatus(app);
    const source = appSource(app);
    const dest = destination(app);
    const name = app.metadata.name;
    const errors = s.conditions.filter((c) => /Error$/.test(c.type || ""));
    return h("article", { class: `tile ${severity(s, errors)}`, "data-app": name },
      h("h3", {}, h("a", { href: `/applications/${encodeURIComponent(name)}` }, name)),
      h("div", { class: "badges" }, badge(s.sync, { testid: "sync" }), badge(s.health, { testid: "health", title: s.healthMessage }),
        s.operation && s.operation.phase === "Running" ? badge("Running", { testid: "operation" }) : null),
      s.conditions.length ? h("p", { class: errors.length ? "error" : "warning", "data-testid": "conditions", title: s.conditions.map((c) => `${c.type}: ${c.message}`).join("\n") },
        `${s.conditions.length} condition${s.conditions.length === 1 ? "" : "s"}: ${s.conditions[0].type}`) : null,
      h("dl", { class: "facts" },
        h("dt", {}, "Project"), h("dd", {}, app.spec.project || "default"),
        h("dt", {}, "Repository"), h("dd", { title: source.repoURL || source.chart || "" }, source.repoURL || ""),
        h("dt", {}, "Path"), h("dd", {}, source.path || source.chart || ""),
        h("dt", {}, "Target"), h("dd", {}, source.targetRevision || "HEAD"),
        h("dt", {}, "Destination"), h("dd", {}, `${dest.cluster}${dest.namespace ? ` / ${dest.namespace}` : ""}`),
        h("dt", {}, "Auto-sync"), h("dd", {}, autoSync(app) ? "on" : "off"),
        h("dt", {}, "Last sync"), h("dd", {}, age(finishedAt(app)) || "never")),
      h("div", { class: "tile-actions" },
        h("button", { type: "button", class: "btn", onclick: () => quickSync(name), "aria-label": `Sync ${name}` }, "Sync"),
        h("button", { type: "button", class: "btn", onclick: () => api("GET", `/api/v1/applications/${encodeURIComponent(name)}?refresh=normal`).catch(() => {}), "aria-label": `Refresh ${name}` }, "Refresh"),
        h("button", { type: "button", class: "btn", onclick: () => open(name), "aria-label": `Open ${name}` }, "Details")));
  }

  function row(app) {
    const s = appStatus(app);
    const source = appSource(app);
    const dest = destination(app);
    const name = app.metadata.name;
    return h("tr", { "data-app": name },
      h("td", { class: "nowrap" }, h("a", { href: `/applications/${encodeURIComponent(name)}` }, name)),
      h("td", {}, app.spec.project || "default"),
      h("td", {}, badge(s.sync, { testid: "sync" })),
      h("td", {}, badge(s.health, { testid: "health", title: s.healthMessage })),
      h("td", { class: "ellipsis", title: source.repoURL || "" }, source.repoURL || ""),
      h("td", {}, source.path || source.chart || ""),
      h("td", {}, `${dest.cluster}${dest.namespace ? ` / ${dest.namespace}` : ""}`),
      h("td", {}, autoSync(app) ? "on" : "off"),
      h("td", {}, age(finishedAt(app)) || "never"));
  }

  // A change to an app on screen redraws its card. An app the page has not seen was
  // created (or existed and does not match): the page is read again, at most once a
  // second, and the server's filters decide whether it shows.
  let reloadTimer = null;
  function changed({ type, application }) {
    const name = application.metadata.name;
    const index = state.items.findIndex((a) => a.metadata.name === name);
    if (index < 0) {
      if (type === "ADDED" && !reloadTimer) {
        reloadTimer = setTimeout(() => { reloadTimer = null; load(true); }, 1000);
      }
      return;
    }
    if (type === "DELETED") {
      state.items.splice(index, 1);
      draw();
      return;
    }
    state.items[index] = application;
    const old = state.cards.get(name);
    if (!old) return;
    const fresh = filters.view === "list" ? row(application) : tile(application);
    old.replaceWith(fresh);
    state.cards.set(name, fresh);
    drawCounts();
  }

  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, "Applications"), summary),
    form, counts, grid, h("div", { class: "more" }, more));
  document.getElementById("search").focus();

  api("GET", "/api/v1/projects").then((projects) => {
    for (const p of projects.items || []) projectSelect.append(h("option", { value: p.metadata.name, selected: filters.project === p.metadata.name }, p.metadata.name));
  }).catch(() => {});
  // Known clusters are offered by name; a typed name or URL also matches apps that address
  // the same cluster the other way (read once the list arrives).
  const clustersRead = api("GET", "/api/v1/clusters").then((clusters) => {
    state.clusters = clusters.items || [];
    for (const c of state.clusters) clusterNames.append(h("option", { value: c.name || c.server }, c.server));
  }).catch(() => {});

  // Small result sets follow the SSE stream, narrowed by the filters the server applies to
  // it (project, labels) and opened once the first page is on screen. The stream begins
  // with every matching app, so when the matches span several pages (thousands of apps)
  // the cards on screen are re-read instead, one cached page request every few seconds.
  let closeStream = () => {};
  let streamTimer = null;
  let streamKey = null;
  function follow() {
    const params = { projects: filters.project ? [filters.project] : [], selector: filters.labels };
    const key = state.cont ? "poll" : JSON.stringify(params);
    if (key === streamKey) return;
    closeStream();
    clearTimeout(streamTimer);
    streamKey = key;
    if (state.cont) {
      const timer = setInterval(revisit, POLL_MS);
      closeStream = () => clearInterval(timer);
    } else {
      streamTimer = setTimeout(() => { closeStream = streamApplications(params, changed); }, 50);
    }
  }

  async function revisit() {
    if (document.hidden || state.loading) return;
    const generation = state.generation;
    const limit = Math.min(MAX_PAGE, Math.max(PAGE, state.items.length));
    try {
      const page = await api("GET", `/api/v1/applications${serverQuery(filters, state.clusters, limit, "")}`, undefined, { signal: controls.signal });
      if (generation !== state.generation) return;
      const shown = new Map(state.items.map((app) => [app.metadata.name, app.metadata.resourceVersion]));
      for (const application of page.items) {
        const version = shown.get(application.metadata.name);
        if (version !== undefined && version !== application.metadata.resourceVersion) changed({ type: "MODIFIED", application });
      }
    } catch {
      /* the banner tells of an unreachable server; the next round tries again */
    }
  }
  // A cluster typed in the URL needs the cluster list to find its other identity.
  (filters.cluster ? clustersRead : Promise.resolve()).then(() => load(true)).then(follow);
  return () => {
    controls.abort();
    clearTimeout(streamTimer);
    clearTimeout(reloadTimer);
    closeStream();
  };
}
