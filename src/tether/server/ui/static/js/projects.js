// The projects page: each AppProject's description, sources, destinations, cluster-resource
// rules and sync windows.

import { api } from "./api.js";
import { h, replace } from "./dom.js";

const list = (items, render) => (items && items.length ? h("ul", {}, items.map((i) => h("li", {}, render(i)))) : h("p", { class: "muted" }, "none"));

export function renderProjects(main) {
  const body = h("div", { class: "projects", id: "projects" }, h("p", { class: "muted" }, "Loading…"));
  replace(main, h("div", { class: "page-head" }, h("h1", {}, "Projects")), body);
  api("GET", "/api/v1/projects").then((projects) => {
    const items = projects.items || [];
    replace(body, items.length ? items.map(project) : h("p", { class: "muted" }, "No projects."));
  }).catch((error) => replace(body, h("p", { class: "error" }, error.message)));
}

function project(p) {
  const spec = p.spec || {};
  return h("article", { class: "card project", "data-project": p.metadata.name },
    h("h2", {}, p.metadata.name),
    spec.description ? h("p", {}, spec.description) : null,
    h("div", { class: "columns" },
      h("section", {}, h("h3", {}, "Sources"), list(spec.sourceRepos, (r) => h("code", {}, r))),
      h("section", {}, h("h3", {}, "Destinations"), list(spec.destinations, (d) => [h("code", {}, d.name || d.server || "*"), " / ", h("code", {}, d.namespace || "*")])),
      h("section", {}, h("h3", {}, "Cluster resources allowed"), list(spec.clusterResourceWhitelist, (r) => h("code", {}, `${r.group || "core"}/${r.kind}`))),
      h("section", {}, h("h3", {}, "Sync windows"), list(spec.syncWindows, (w) =>
        [h("strong", {}, w.kind), ` ${w.schedule} for ${w.duration}`,
          w.applications ? ` · apps ${w.applications.join(", ")}` : "", w.namespaces ? ` · namespaces ${w.namespaces.join(", ")}` : "",
          w.manualSync ? " · manual sync allowed" : ""]))));
}
