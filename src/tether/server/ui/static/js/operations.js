// Application operations: sync (quick and with the full dialog), rollback, delete.
// Each posts to the API with the CSRF header; errors are shown where the user acted.

import { api } from "./api.js";
import { h, modal } from "./dom.js";

const path = (name) => `/api/v1/applications/${encodeURIComponent(name)}`;

/** Sync with the app's own options (what the tile's Sync button does). */
export async function quickSync(name) {
  try {
    await api("POST", `${path(name)}/sync`, {});
  } catch (error) {
    notify(`Sync of ${name} failed: ${error.message}`);
  }
}

/** Show a transient message in the page's status region. */
export function notify(message) {
  const toast = h("div", { class: "toast", role: "status" }, message);
  document.body.append(toast);
  setTimeout(() => toast.remove(), 6000);
}

const checkbox = (name, label, checked = false) =>
  h("label", { class: "check" }, h("input", { type: "checkbox", name, checked }), label);

/** The sync dialog: prune, dry run, apply out-of-sync only, server-side/replace, resources, revision. */
export function syncDialog(app, resources) {
  const name = app.metadata.name;
  const error = h("p", { class: "error", role: "alert" });
  const revision = h("input", { name: "revision", value: (app.spec.source || {}).targetRevision || "", "aria-label": "Revision" });
  const items = resources.map((r) =>
    h("label", { class: "check" },
      h("input", { type: "checkbox", name: "resource", checked: true, dataset: { group: r.group || "", kind: r.kind, namespace: r.namespace || "", name: r.name } }),
      `${r.kind}/${r.namespace ? `${r.namespace}/` : ""}${r.name}`, r.status === "OutOfSync" ? h("span", { class: "muted" }, " (out of sync)") : null));
  const submit = h("button", { type: "submit", class: "btn primary", value: "sync", id: "sync-submit" }, "Synchronize");
  const dialog = modal(`Sync ${name}`,
    h("div", { class: "sync-form" },
      h("label", { class: "field" }, h("span", {}, "Revision"), revision),
      h("fieldset", {}, h("legend", {}, "Options"),
        checkbox("prune", "Prune"), checkbox("dryRun", "Dry run"), checkbox("applyOutOfSyncOnly", "Apply out of sync only"),
        checkbox("serverSideApply", "Server-side apply"), checkbox("replace", "Replace"), checkbox("force", "Force")),
      h("fieldset", { class: "resources" }, h("legend", {}, `Resources (${items.length})`), items),
      error),
    [h("button", { type: "submit", class: "btn", value: "cancel", formnovalidate: true }, "Cancel"), submit]);
  const form = dialog.querySelector("form");
  form.addEventListener("submit", async (event) => {
    if (event.submitter && event.submitter.value === "cancel") return;
    event.preventDefault();
    const data = new FormData(form);
    const options = [];
    if (data.get("applyOutOfSyncOnly")) options.push("ApplyOutOfSyncOnly=true");
    if (data.get("serverSideApply")) options.push("ServerSideApply=true");
    if (data.get("replace")) options.push("Replace=true");
    const boxes = [...form.querySelectorAll("input[name=resource]")];
    const chosen = boxes.filter((b) => b.checked).map((b) => ({ ...b.dataset }));
    const body = {
      revision: data.get("revision") || undefined,
      prune: Boolean(data.get("prune")),
      dryRun: Boolean(data.get("dryRun")),
      syncOptions: { items: options },
      resources: chosen.length === boxes.length ? undefined : chosen,
      strategy: data.get("force") ? { apply: { force: true } } : undefined,
    };
    submit.disabled = true;
    try {
      await api("POST", `${path(name)}/sync`, body);
      dialog.close();
    } catch (failure) {
      error.textContent = failure.message;
      submit.disabled = false;
    }
  });
}

/** Roll back to a history entry after confirming. */
export function rollbackDialog(app, entry) {
  const name = app.metadata.name;
  const error = h("p", { class: "error", role: "alert" });
  const dialog = modal(`Roll back ${name}`,
    h("div", {},
      h("p", {}, `Sync ${name} to history entry ${entry.id}, revision `, h("code", {}, (entry.revision || "").slice(0, 12)), "?"),
      app.spec.syncPolicy && app.spec.syncPolicy.automated ? h("p", { class: "warning" }, "Auto-sync is on: the server refuses a rollback until it is turned off.") : null,
      checkbox("prune", "Prune"), error),
    [h("button", { type: "submit", class: "btn", value: "cancel" }, "Cancel"), h("button", { type: "submit", class: "btn primary", value: "ok", id: "rollback-submit" }, "Roll back")]);
  const form = dialog.querySelector("form");
  form.addEventListener("submit", async (event) => {
    if (event.submitter && event.submitter.value === "cancel") return;
    event.preventDefault();
    try {
      await api("PUT", `${path(name)}/rollback`, { id: entry.id, prune: Boolean(new FormData(form).get("prune")) });
      dialog.close();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
}

/** Delete with a cascade choice; calls onDeleted once the server accepted it. */
export function deleteDialog(app, onDeleted) {
  const name = app.metadata.name;
  const error = h("p", { class: "error", role: "alert" });
  const confirm = h("input", { name: "confirm", "aria-label": "Type the application name to confirm", autocomplete: "off" });
  const choice = (value, label, checked) => h("label", { class: "check" }, h("input", { type: "radio", name: "cascade", value, checked }), label);
  const dialog = modal(`Delete ${name}`,
    h("div", {},
      h("fieldset", {}, h("legend", {}, "Propagation"),
        choice("foreground", "Foreground: delete its resources, then the app", true),
        choice("background", "Background: delete the app, its resources after", false),
        choice("non-cascading", "Non-cascading: keep its resources in the cluster", false)),
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
    const cascade = new FormData(form).get("cascade");
    const params = cascade === "non-cascading" ? "?cascade=false" : `?cascade=true&propagationPolicy=${cascade}`;
    try {
      await api("DELETE", `${path(name)}${params}`);
      dialog.close();
      onDeleted();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
}
