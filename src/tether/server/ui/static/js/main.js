// The shell: client-side routing, the login gate, the top bar and the unreachable banner.

import { api, on, setReachable } from "./api.js";
import { h, replace } from "./dom.js";
import { renderLogin } from "./login.js";
import { renderApplications } from "./applications.js";
import { renderApplication } from "./application.js";
import { renderProjects } from "./projects.js";
import { renderApplicationSet, renderApplicationSets } from "./applicationsets.js";

const main = document.getElementById("main");
const topbar = document.getElementById("topbar");
const banner = document.getElementById("banner");
let cleanup = () => {};
let user = null;

const routes = [
  [/^\/login$/, () => renderLogin(main, { onLogin: loggedIn, expired: sessionExpired })],
  [/^\/(applications)?$/, () => renderApplications(main, navigate)],
  [/^\/applications\/([^/]+)$/, (m) => renderApplication(main, decodeURIComponent(m[1]), navigate)],
  [/^\/applicationsets$/, () => renderApplicationSets(main)],
  [/^\/applicationsets\/([^/]+)$/, (m) => renderApplicationSet(main, decodeURIComponent(m[1]), navigate)],
  [/^\/projects$/, () => renderProjects(main)],
];
let sessionExpired = false;

/** Go to a client route (pushes history unless replace is set). */
export function navigate(path, { replaceState = false } = {}) {
  if (replaceState) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route();
}

async function route() {
  cleanup();
  cleanup = () => {};
  const path = location.pathname;
  if (path !== "/login" && !user) {
    try {
      user = await api("GET", "/api/v1/session/userinfo");
    } catch {
      navigate(`/login`, { replaceState: true });
      return;
    }
  }
  topbar.hidden = path === "/login";
  document.getElementById("user").textContent = user ? user.username : "";
  for (const link of topbar.querySelectorAll("[data-nav]")) {
    const section = `/${link.dataset.nav}`;
    const active = path === section || path.startsWith(`${section}/`) || (path === "/" && link.dataset.nav === "applications");
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const [pattern, render] of routes) {
    const match = path.match(pattern);
    if (match) {
      cleanup = render(match) || (() => {});
      return;
    }
  }
  replace(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "/applications" }, "Back to applications")));
}

function loggedIn(info) {
  user = info;
  sessionExpired = false;
  const next = new URLSearchParams(location.search).get("next");
  navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/applications", { replaceState: true });
}

// Links inside the app route on the client; modified clicks keep the browser's behaviour.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener("popstate", route);

document.getElementById("logout").addEventListener("click", async () => {
  try {
    await api("DELETE", "/api/v1/session");
  } finally {
    user = null;
    navigate("/login");
  }
});

on("unauthorized", () => {
  if (location.pathname === "/login") return;
  user = null;
  sessionExpired = true;
  navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replaceState: true });
});

// While the server is unreachable, say so and poll (bounded rate) until it answers.
let poll = null;
on("reachability", (ok) => {
  banner.hidden = ok;
  banner.textContent = ok ? "" : "The tether server is unreachable. Retrying… (what you see may be out of date)";
  clearInterval(poll);
  if (!ok) {
    poll = setInterval(async () => {
      try {
        const response = await fetch("/api/version", { cache: "no-store" });
        if (response.ok) setReachable(true);
      } catch {
        /* still down */
      }
    }, 3000);
  }
});

route();
