// The login page: local accounts, POST /api/v1/session (the server sets the cookie).

import { api } from "./api.js";
import { h, replace } from "./dom.js";

export function renderLogin(main, { onLogin, expired }) {
  const error = h("p", { class: "error", role: "alert", id: "login-error" });
  if (expired) error.textContent = "Your session has expired. Log in again.";
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true, value: "admin" });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "btn primary" }, "Log in");
  const form = h("form", { class: "login card", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "tether"),
    h("p", { class: "muted" }, "Log in with a local account."),
    h("label", { for: "username" }, "Username"), username,
    h("label", { for: "password" }, "Password"), password,
    error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    try {
      await api("POST", "/api/v1/session", { username: username.value, password: password.value });
      onLogin(await api("GET", "/api/v1/session/userinfo"));
    } catch (failure) {
      error.textContent = failure.status === 401 ? "Invalid username or password." : failure.message;
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  replace(main, h("div", { class: "login-page" }, form));
  password.focus();
}
