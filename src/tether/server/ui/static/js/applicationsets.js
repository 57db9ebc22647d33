// The ApplicationSets pages: the list (generators, sync policy, conditions, how many
// Applications each generated) and one ApplicationSet (generators, template, conditions,
// the Applications it generated with their sync and health, RollingSync progress), with
// Delete for those allowed to. ApplicationSets have no event stream: an open page reads
// its data again every few seconds while the tab is visible, and redraws only on change.

import { api } from "./api.js";
import { age, h, modal, replace } from "./dom.js";
import { badge } from "./status.js";
import { toYaml } from "./yaml.js";

const POLL_MS = 5000;
const GENERATORS = ["list", "clusters", "git", "matrix", "merge", "scmProvider", "pullRequest", "plugin", "clusterDecisionResource"];
const SCM_PROVIDERS = ["github", "gitlab", "gitea", "bitbucket", "bitbucketServer", "azureDevOps", "awsCodeCommit"];
const PR_PROVIDERS = ["github", "gitlab", "gitea", "bitbucket", "bitbucketServer", "azuredevops"];
// applicationsSync values under which deleting the ApplicationSet leaves its Applications.
const KEEPS_APPLICATIONS = new Set(["create-only", "create-update"]);

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const path = (name) => `/api/v1/applicationsets/${encodeURIComponent(name)}`;

/** The generator's type: the one generator key it holds. */
export function generatorType(generator) {
  return GENERATORS.find((type) => generator && generator[type]) || Object.keys(generator || {})[0] || "unknown";
}

function selectorText(selector) {
  const labels = Object.entries((selector || {}).matchLabels || {}).map(([k, v]) => `${k}=${v}`);
  const expressions = ((selector || {}).matchExpressions || []).map((e) => `${e.key} ${e.operator}${e.values ? ` (${e.values.join(", ")})` : ""}`);
  const all = [...labels, ...expressions];
  return all.length ? ` matching ${all.join(", ")}` : "";
}

function providerText(config, providers, fields) {
  const provider = providers.find((p) => config[p]) || "";
  const settings = config[provider] || {};
  const where = fields.map((f) => settings[f]).filter(Boolean).join("/");
  return [provider, where].filter(Boolean).join(" ");
}

/** One line saying what a generator produces parameters from (matrix and merge: their children). */
export function generatorSummary(generator) {
  const type = generatorType(generator);
  const config = (generator || {})[type] || {};
  switch (type) {
    case "list":
      return config.elementsYaml ? "list (elements from YAML)" : `list (${plural((config.elements || []).length, "element")})`;
    case "clusters":
      return `clusters${selectorText(config.selector)}`;
    case "git": {
      const at = `${config.repoURL || ""}${config.revision ? ` @ ${config.revision}` : ""}`;
      const directories = (config.directories || []).map((d) => `${d.exclude ? "not " : ""}${d.path}`);
      const files = (config.files || []).map((f) => f.path);
      return `git ${at}: ${directories.length ? `directories ${directories.join(", ")}` : `files ${files.join(", ")}`}`;
    }
    case "matrix":
      return `matrix of (${(config.generators || []).map(generatorSummary).join(") × (")})`;
    case "merge":
      return `merge on ${(config.mergeKeys || []).join(", ") || "no keys"} of (${(config.generators || []).map(generatorSummary).join(") + (")})`;
    case "scmProvider":
      return `SCM provider ${providerText(config, SCM_PROVIDERS, ["organization", "group", "owner", "project"])}`;
    case "pullRequest":
      return `pull requests of ${providerText(config, PR_PROVIDERS, ["organization", "owner", "project", "repo"])}`;
    case "plugin":
      return `plugin ${(config.configMapRef || {}).name || ""}`.trim();
    default:
      return type;
  }
}

/**
 * The status a condition reads as: an error that occurred or a False "good" condition is
 * Degraded, a rollout under way Progressing, anything settled Healthy.
 */
export function conditionTone(condition) {
  const on = condition.status === "True";
  if (condition.status !== "True" && condition.status !== "False") return "Unknown";
  if (condition.type === "ErrorOccurred") return on ? "Degraded" : "Healthy";
  if (condition.type === "RollingSync") return on ? "Progressing" : "Healthy";
  return on ? "Healthy" : "Degraded";
}

/** What the sync policy lets the controller do, and the rollout strategy. */
export function syncPolicyText(spec) {
  const policy = spec.syncPolicy || {};
  const parts = [policy.applicationsSync || "sync"];
  if (policy.preserveResourcesOnDeletion) parts.push("keeps resources on deletion");
  const strategy = spec.strategy || {};
  if (strategy.type === "RollingSync") parts.push(`RollingSync in ${plural(((strategy.rollingSync || {}).steps || []).length, "step")}`);
  return parts.join("; ");
}

/** What deleting the ApplicationSet does to the Applications it generated. */
export function deletionNote(appset) {
  const policy = (appset.spec || {}).syncPolicy || {};
  const count = ((appset.status || {}).resources || []).length;
  const apps = plural(count, "generated application");
  if (KEEPS_APPLICATIONS.has(policy.applicationsSync)) return `Its ${apps} stay (applicationsSync is ${policy.applicationsSync}).`;
  if (policy.preserveResourcesOnDeletion) return `Its ${apps} are deleted with it; what they deployed stays in the cluster (preserveResourcesOnDeletion).`;
  return `Its ${apps} are deleted with it.`;
}

const projectOf = (appset) => ((((appset.spec || {}).template || {}).spec || {}).project) || "default";
const conditionsOf = (appset) => (appset.status || {}).conditions || [];
const conditionBadge = (c) => badge(c.type, { tone: conditionTone(c), title: `${c.type}: ${c.status}${c.message ? ` (${c.message})` : ""}`, testid: "condition" });

/** Read `url` now and every few seconds while visible; `draw` runs when the answer changed. */
function poll(url, draw, fail) {
  const controls = new AbortController();
  let last = null;
  const read = async () => {
    if (document.hidden && last !== null) return;
    try {
      const data = await api("GET", url, undefined, { signal: controls.signal });
      const text = JSON.stringify(data);
      if (text !== last) {
        last = text;
        draw(data);
      }
    } catch (error) {
      if (error.name !== "AbortError") fail(error, last !== null);
    }
  };
  read();
  const timer = setInterval(read, POLL_MS);
  return () => {
    clearInterval(timer);
    controls.abort();
  };
}

export function renderApplicationSets(main) {
  const summary = h("p", { class: "muted", id: "appsets-summary", role: "status" }, "Loading…");
  const body = h("div", { id: "appsets" });
  replace(main, h("div", { class: "page-head" }, h("h1", {}, "ApplicationSets"), summary), body);
  return poll("/api/v1/applicationsets", (list) => {
    const items = list.items || [];
    summary.textContent = items.length ? plural(items.length, "ApplicationSet") : "No ApplicationSets.";
    replace(body, items.length ? h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Name", "Project", "Generators", "Sync policy", "Conditions", "Applications"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, items.map(row))) : []);
  }, (error, shown) => { if (!shown) summary.textContent = `Could not list ApplicationSets: ${error.message}`; });
}

function row(appset) {
  const name = appset.metadata.name;
  const spec = appset.spec || {};
  return h("tr", { "data-appset": name },
    h("td", { class: "nowrap" }, h("a", { href: `/applicationsets/${encodeURIComponent(name)}` }, name)),
    h("td", {}, projectOf(appset)),
    h("td", {}, (spec.generators || []).map((g) => h("div", { "data-testid": "generator" }, generatorSummary(g)))),
    h("td", {}, syncPolicyText(spec)),
    h("td", {}, h("div", { class: "badges" }, conditionsOf(appset).map(conditionBadge))),
    h("td", { "data-testid": "app-count" }, String(((appset.status || {}).resources || []).length)));
}

export function renderApplicationSet(main, name, navigate) {
  const header = h("section", { class: "app-header", "aria-label": "ApplicationSet" }, h("p", { class: "muted" }, "Loading…"));
  const body = h("div", { class: "appset" });
  const remove = h("button", { type: "button", class: "btn danger", id: "delete-appset", hidden: true }, "Delete");
  let current = null;
  remove.addEventListener("click", () => deleteDialog(current, () => navigate("/applicationsets")));
  replace(main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/applicationsets" }, "ApplicationSets"), " / ", h("span", {}, name)),
    header, body);

  let asked = "";
  function allowDelete(appset) {
    const object = `${projectOf(appset)}/${name}`;
    if (object === asked) return;
    asked = object;
    api("GET", `/api/v1/account/can-i/applicationsets/delete/${object.split("/").map(encodeURIComponent).join("/")}`)
      .then((answer) => { remove.hidden = answer.value !== "yes"; })
      .catch(() => { remove.hidden = true; });
  }

  return poll(path(name), (appset) => {
    current = appset;
    allowDelete(appset);
    drawHeader(header, appset, remove);
    // A redraw keeps the YAML the reader opened open.
    const open = new Set([...body.querySelectorAll("details[open]")].map((d) => d.dataset.key));
    replace(body, generatorsSection(appset), templateSection(appset), conditionsSection(appset), applicationsSection(appset), rolloutSection(appset));
    for (const details of body.querySelectorAll("details")) details.open = open.has(details.dataset.key);
  }, (error, shown) => {
    // Gone (deleted elsewhere included) replaces the page; other failures keep what is shown.
    if (error.status === 404) {
      replace(header, h("p", { class: "error", role: "alert", id: "appset-missing" }, `ApplicationSet ${name} not found.`));
      replace(body);
    } else if (!shown) {
      replace(header, h("p", { class: "error", role: "alert" }, error.message));
    }
  });
}

function drawHeader(header, appset, remove) {
  const spec = appset.spec || {};
  const count = ((appset.status || {}).resources || []).length;
  replace(header,
    h("div", { class: "title-row" }, h("h1", {}, appset.metadata.name),
      h("div", { class: "badges" }, conditionsOf(appset).map(conditionBadge)),
      h("span", { class: "spacer" }), h("div", { class: "actions" }, remove)),
    h("dl", { class: "summary" },
      h("div", {}, h("dt", {}, "Project"), h("dd", {}, projectOf(appset))),
      h("div", {}, h("dt", {}, "Applications"), h("dd", { "data-testid": "app-count" }, String(count))),
      h("div", {}, h("dt", {}, "Sync policy"), h("dd", {}, syncPolicyText(spec))),
      h("div", {}, h("dt", {}, "Templates"), h("dd", {}, spec.goTemplate ? "Go templates" : "{{param}} substitution")),
      h("div", {}, h("dt", {}, "Created"), h("dd", {}, age(appset.metadata.creationTimestamp) || "—"))));
}

const section = (title, id, ...content) => h("section", { class: "card appset-section", id, "aria-label": title }, h("h2", {}, title), content);
const yamlDetails = (key, value) => h("details", { "data-key": key }, h("summary", {}, "YAML"), h("pre", { class: "manifest" }, toYaml(value)));

function generatorTree(generators) {
  return h("ul", {}, generators.map((g) => {
    const type = generatorType(g);
    const children = (type === "matrix" || type === "merge") ? g[type].generators || [] : [];
    return h("li", {}, generatorSummary(g), children.length ? generatorTree(children) : null);
  }));
}

function generatorsSection(appset) {
  const generators = (appset.spec || {}).generators || [];
  return section("Generators", "appset-generators", generators.length ? generatorTree(generators) : h("p", { class: "muted" }, "none"), yamlDetails("generators", generators));
}

function templateSection(appset) {
  const template = (appset.spec || {}).template || {};
  const spec = template.spec || {};
  const source = spec.source || (spec.sources || [])[0] || {};
  const dest = spec.destination || {};
  const automated = (spec.syncPolicy || {}).automated;
  const fact = (label, value) => h("div", {}, h("dt", {}, label), h("dd", {}, value || "—"));
  return section("Template", "appset-template",
    h("dl", { class: "summary" },
      fact("Name", h("code", {}, (template.metadata || {}).name || "")),
      fact("Project", spec.project || "default"),
      fact("Repository", source.repoURL),
      fact("Path", source.path || source.chart),
      fact("Target", source.targetRevision || "HEAD"),
      fact("Destination", `${dest.name || dest.server || ""} / ${dest.namespace || "—"}`),
      fact("Auto-sync", automated && automated.enabled !== false ? "on" : "off")),
    yamlDetails("template", template));
}

function conditionsSection(appset) {
  const conditions = conditionsOf(appset);
  return section("Conditions", "appset-conditions", conditions.length ? h("table", { class: "table" },
    h("thead", {}, h("tr", {}, ["Type", "Status", "Reason", "Message", "Changed"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, conditions.map((c) => h("tr", { "data-condition": c.type },
      h("td", {}, conditionBadge(c)), h("td", {}, c.status), h("td", {}, c.reason || ""),
      h("td", {}, c.message || ""), h("td", { title: c.lastTransitionTime || "" }, age(c.lastTransitionTime))))))
    : h("p", { class: "muted" }, "No conditions reported yet."));
}

function applicationsSection(appset) {
  const status = appset.status || {};
  const rollout = new Map((status.applicationStatus || []).map((s) => [s.application, s]));
  const names = [...new Set([...(status.resources || []).map((r) => r.name), ...rollout.keys()])].sort();
  const resources = new Map((status.resources || []).map((r) => [r.name, r]));
  const rolling = rollout.size > 0;
  const columns = ["Name", "Sync", "Health", ...(rolling ? ["Step", "Rollout", "Message"] : [])];
  return section("Applications", "appset-applications", names.length ? h("table", { class: "table" },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, names.map((app) => {
      const resource = resources.get(app) || {};
      const progress = rollout.get(app);
      return h("tr", { "data-app": app },
        h("td", { class: "nowrap" }, h("a", { href: `/applications/${encodeURIComponent(app)}` }, app)),
        h("td", {}, badge(resource.status || "Unknown", { testid: "sync" })),
        h("td", {}, badge((resource.health || {}).status || "Unknown", { testid: "health", title: (resource.health || {}).message })),
        rolling ? [h("td", {}, progress ? progress.step || "" : ""),
          h("td", {}, progress ? badge(progress.status, { testid: "rollout", tone: progress.status === "Waiting" ? "Suspended" : progress.status }) : ""),
          h("td", {}, progress ? progress.message || "" : "")] : null);
    })))
    : h("p", { class: "muted" }, "No applications generated yet."));
}

function rolloutSection(appset) {
  const strategy = (appset.spec || {}).strategy || {};
  if (strategy.type !== "RollingSync") return null;
  const steps = (strategy.rollingSync || {}).steps || [];
  const progress = (appset.status || {}).applicationStatus || [];
  const condition = conditionsOf(appset).find((c) => c.type === "RollingSync");
  return section("RollingSync", "appset-rollout",
    condition ? h("p", {}, conditionBadge(condition), " ", condition.message || "") : null,
    h("ol", {}, steps.map((step, index) => {
      const inStep = progress.filter((p) => String(p.step) === String(index + 1));
      const totals = new Map();
      for (const p of inStep) totals.set(p.status, (totals.get(p.status) || 0) + 1);
      const match = (step.matchExpressions || []).map((e) => `${e.key} ${e.operator} (${(e.values || []).join(", ")})`).join(", ") || "every application";
      return h("li", { "data-step": index + 1 },
        h("code", {}, match), step.maxUpdate !== undefined ? ` · at most ${step.maxUpdate} at once` : "",
        h("span", { class: "muted" }, ` · ${plural(inStep.length, "application")}${totals.size ? `: ${[...totals].map(([s, n]) => `${n} ${s}`).join(", ")}` : ""}`));
    })));
}

function deleteDialog(appset, onDeleted) {
  const name = appset.metadata.name;
  const error = h("p", { class: "error", role: "alert" });
  const confirm = h("input", { name: "confirm", "aria-label": "Type the ApplicationSet name to confirm", autocomplete: "off" });
  const dialog = modal(`Delete ${name}`,
    h("div", {}, h("p", { "data-testid": "delete-note" }, deletionNote(appset)),
      h("label", { class: "field" }, h("span", {}, `Type ${name} to confirm`), confirm), error),
    [h("button", { type: "submit", class: "btn", value: "cancel" }, "Cancel"), h("button", { type: "submit", class: "btn danger", value: "ok" }, "Delete")]);
  const form = dialog.querySelector("form");
  form.addEventListener("submit", async (event) => {
    if (event.submitter && event.submitter.value === "cancel") return;
    event.preventDefault();
    if (confirm.value !== name) {
      error.textContent = "The name does not match.";
      return;
    }
    try {
      await api("DELETE", path(name));
      dialog.close();
      onDeleted();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  confirm.focus();
}
