/* Shared helpers of the Disco web pages. Everything the pages show comes from the master's JSON
 * API. Data (job names, events, hosts, tags, URLs) is user data: it only ever enters the DOM as
 * text (textContent, attribute values set through the DOM), never as markup. */
"use strict";

const Disco = (() => {
  /* el("div", {class: "x", text: "t", title: "...", href: "...", data: {job: n}, on: {click: f}},
   *    child, "text child", ...): an element; string children become text nodes. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key === "data") Object.assign(node.dataset, value);
      else if (key === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
      else if (key === "style") Object.assign(node.style, value);
      else if (key === "href") node.href = safeHref(value);
      else if (key in node && typeof node[key] !== "function") node[key] = value;
      else node.setAttribute(key, value);
    }
    append(node, ...children);
    return node;
  }

  function append(node, ...children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function replace(node, ...children) {
    return append(clear(node), ...children);
  }

  /* Only http(s) links and links relative to this site; anything else (javascript:, data:) → "#". */
  function safeHref(value) {
    try {
      const url = new URL(String(value), document.baseURI);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : "#";
    } catch (e) {
      return "#";
    }
  }

  const $ = (id) => document.getElementById(id);

  function param(name) {
    return new URLSearchParams(window.location.search).get(name);
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /* The master's access token (DISCO_AUTH_TOKEN), asked once per browser tab when the master
   * answers 401 with WWW-Authenticate: Bearer, and kept in sessionStorage. */
  const TOKEN_KEY = "disco-auth-token";
  const token = () => window.sessionStorage.getItem(TOKEN_KEY) || "";

  function withToken(options) {
    const opts = Object.assign({cache: "no-store"}, options || {});
    const t = token();
    opts.headers = Object.assign({}, opts.headers || {}, t ? {"Authorization": "Bearer " + t} : {});
    return opts;
  }

  /* Asks for the token unless it changed since `used` was sent; true if there is a new one. */
  function askToken(used) {
    if (token() !== used) return true;
    const t = window.prompt("This Disco master needs its access token (DISCO_AUTH_TOKEN):");
    if (!t) return false;
    window.sessionStorage.setItem(TOKEN_KEY, t.trim());
    return true;
  }

  /* The decoded JSON reply of an API call (relative path, so the pages work behind a prefix);
   * throws ApiError (status 0 when the master cannot be reached). */
  async function api(path, options) {
    let response;
    for (let attempt = 0; ; attempt++) {
      const used = token();
      try {
        response = await fetch(path, withToken(options));
      } catch (e) {
        throw new ApiError(0, "cannot reach the master");
      }
      const wanted = (response.headers.get("WWW-Authenticate") || "").startsWith("Bearer");
      if (!(response.status === 401 && wanted && attempt < 3 && askToken(used))) break;
    }
    const text = await response.text();
    let value = text;
    try {
      value = text === "" ? "" : JSON.parse(text);
    } catch (e) { /* not JSON: keep the text */ }
    if (!response.ok) {
      const message = typeof value === "string" && value ? value : response.status + " " + response.statusText;
      throw new ApiError(response.status, message);
    }
    return value;
  }

  const get = (path) => api(path);
  const post = (path, value) => api(path, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(value),
  });

  /* Calls fn now and then every `interval` ms after it completes, until stop(). */
  function poller(fn, interval) {
    let timer = null;
    let running = false;
    let stopped = false;
    async function tick() {
      timer = null;
      if (running) return;
      running = true;
      try {
        await fn();
      } catch (e) {
        console.error(e);
      } finally {
        running = false;
      }
      if (!stopped && timer === null) timer = setTimeout(tick, interval);
    }
    return {
      start() { stopped = false; if (timer === null && !running) tick(); },
      stop() { stopped = true; if (timer !== null) clearTimeout(timer); timer = null; },
      now() { if (timer !== null) clearTimeout(timer); timer = null; tick(); },
      get stopped() { return stopped; },
    };
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  const pad = (n) => String(n).padStart(2, "0");

  function formatTime(seconds) {
    const d = new Date(seconds * 1000);
    return d.getFullYear() + "/" + pad(d.getMonth() + 1) + "/" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  /* Seconds as "1 h 2 min 3 s", "2 min 3 s", "3 s", or "0.37 s" / "4.2 s" below ten seconds. */
  function formatDuration(seconds) {
    if (seconds < 1) return seconds.toFixed(2) + " s";
    if (seconds < 10) return seconds.toFixed(1) + " s";
    const s = Math.round(seconds);
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
    return (h ? h + " h " : "") + (h || m ? m + " min " : "") + sec + " s";
  }

  function formatBytes(bytes) {
    const units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let value = Number(bytes) || 0;
    let i = 0;
    while (value >= 1024 && i < units.length - 1) {
      value /= 1024;
      i += 1;
    }
    return (i === 0 ? String(value) : value.toFixed(value < 10 ? 1 : 0)) + " " + units[i];
  }

  function jobUrl(name) {
    return "job.html?name=" + encodeURIComponent(name);
  }

  /* A browsable link for a Disco URL: disco://host/p and dir://host/p are served by the node's
   * web server on the master's port (docs/formats/urls.md#url-schemes), http(s) as is; null for anything else. */
  function httpUrl(url) {
    const m = /^([a-z]+):\/\/([^/]*)(\/.*)?$/.exec(String(url));
    if (!m) return null;
    const [, scheme, host, path] = m;
    if (scheme === "http" || scheme === "https") return String(url);
    if ((scheme !== "disco" && scheme !== "dir") || !host) return null;
    const port = window.location.port ? ":" + window.location.port : "";
    const encoded = (path || "/").split("/").map(encodeURIComponent).join("/");
    return window.location.protocol + "//" + host + port + encoded;
  }

  /* A URL as a link (tag:// → the tag page) or, when not browsable, as text. */
  function urlNode(url) {
    const text = String(url);
    if (text.startsWith("tag://")) {
      return el("a", {href: "tag.html?tag=" + encodeURIComponent(text.slice(6)), text: text});
    }
    const href = httpUrl(text);
    return href ? el("a", {href: href, text: text, rel: "noopener"}) : el("span", {text: text});
  }

  /* A status message in `box` (replacing the one before) that fades out (errors stay longer). */
  function flash(box, text, kind) {
    const msg = el("div", {class: "flash " + (kind || "ok"), text: text, role: "status"});
    replace(box, msg);
    const life = kind === "error" ? 8000 : 3000;
    setTimeout(() => msg.classList.add("fading"), life);
    setTimeout(() => msg.remove(), life + 1000);
    return msg;
  }

  /* A job's start and duration (joblist?times=1 rows; older masters' rows have neither). */
  function jobTimes(start, status, ended, duration) {
    if (typeof duration !== "number") return null;
    return el("span", {class: "times"},
      el("span", {class: "started", text: formatTime(start)}), " · ",
      el("span", {class: "duration", title: ended ? "ended " + formatTime(ended) : "running",
                  text: (status === "active" ? "running " : "") + formatDuration(duration)}));
  }

  /* The side list of jobs: live text filter, status colours, link to the job page, start and
   * duration (so far, while the job runs). options.onHover(name | null) is told which job the
   * pointer is on. */
  function jobList(options) {
    const opts = options || {};
    const list = $("joblist");
    const filter = $("jobfilter");
    const count = $("jobcount");
    let jobs = [];
    function render() {
      const needle = filter.value.trim().toLowerCase();
      const shown = jobs.filter(([, , name]) => !needle || name.toLowerCase().includes(needle));
      const items = shown.slice(0, 500).map(([start, status, name, ended, duration]) => el("li", {
        class: "job " + status, data: {job: name}, title: status + ", started " + formatTime(start),
        on: opts.onHover ? {mouseenter: () => opts.onHover(name), mouseleave: () => opts.onHover(null)} : {},
      }, el("a", {href: jobUrl(name), text: name, class: name === opts.current ? "current" : ""}),
         el("span", {class: "status", text: status}), jobTimes(start, status, ended, duration)));
      const none = el("li", {class: "empty", text: jobs.length ? "No matching jobs" : "No jobs"});
      replace(list, items.length ? items : none);
      count.textContent = needle ? shown.length + " of " + jobs.length : String(jobs.length);
    }
    filter.addEventListener("input", render);
    const poll = poller(async () => {
      jobs = await get("disco/ctrl/joblist?times=1");
      render();
    }, opts.interval || 5000);
    poll.start();
    return {
      setFilter(text) { filter.value = text; render(); },
      refresh: () => poll.now(),
    };
  }

  /* Footer: the master's version. */
  async function footer() {
    const box = $("version");
    if (!box) return;
    try {
      box.textContent = "Disco " + await get("disco/version");
    } catch (e) {
      box.textContent = "Disco (master unreachable)";
    }
  }

  /* The connection banner: shown while API calls fail with status 0. */
  function connection(ok) {
    const banner = $("offline");
    if (banner) banner.hidden = ok;
  }

  document.addEventListener("DOMContentLoaded", footer);

  return {el, append, clear, replace, $, param, api, get, post, ApiError, poller, debounce,
          formatTime, formatDuration, formatBytes, jobUrl, flash, httpUrl, urlNode, jobList, connection, safeHref};
})();
