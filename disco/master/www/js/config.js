/* Configuration page: node table, Disco and DDFS blacklists, runtime settings. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const {el, $, replace, get, post, flash} = Disco;

  /* ---- node table ---- */
  function row(spec, workers) {
    const tr = el("tr", {class: "noderow"},
      el("td", {}, el("input", {class: "spec", value: spec || "", placeholder: "node01:20", "aria-label": "Nodes",
                                autocomplete: "off"})),
      el("td", {}, el("input", {class: "workers", value: workers || "", placeholder: "1", inputmode: "numeric",
                                "aria-label": "Max workers", autocomplete: "off"})),
      el("td", {}, el("button", {type: "button", class: "remove", title: "Remove row", "aria-label": "Remove row",
                                 text: "×", on: {click: () => tr.remove()}})));
    return tr;
  }

  async function loadTable() {
    const table = await get("disco/ctrl/load_config_table");
    replace($("nodetable").tBodies[0], table.map(([spec, workers]) => row(spec, workers)));
  }

  async function loadNodes() {
    const nodes = await get("disco/ctrl/nodeinfo");
    replace($("nodenames"), Object.keys(nodes).sort().map((h) => el("option", {value: h})));
  }

  $("addrow").addEventListener("click", () => {
    const tr = row("", "");
    $("nodetable").tBodies[0].appendChild(tr);
    tr.querySelector("input").focus();
  });

  $("savetable").addEventListener("click", async () => {
    const table = [];
    for (const tr of $("nodetable").tBodies[0].rows) {
      const spec = tr.querySelector(".spec").value.trim();
      const workers = tr.querySelector(".workers").value.trim();
      if (spec || workers) table.push([spec, workers]);
    }
    try {
      flash($("tablemessages"), String(await post("disco/ctrl/save_config_table", table)));
    } catch (e) {
      flash($("tablemessages"), "Not saved: " + e.message, "error");
      return;
    }
    await Promise.all([loadTable(), loadNodes(), loadBlacklists()]);
  });

  /* ---- blacklists ---- */
  const LISTS = {
    blacklist: {get: "disco/ctrl/get_blacklist", add: "disco/ctrl/blacklist",
                remove: "disco/ctrl/whitelist"},
    gcblacklist: {get: "disco/ctrl/get_gc_blacklist", add: "disco/ctrl/gc_blacklist",
                  remove: "disco/ctrl/gc_whitelist"},
  };

  async function safeGcHosts() {
    try {
      return new Set(await get("ddfs/ctrl/safe_gc_blacklist"));
    } catch (e) {
      return new Set();   // DDFS not available
    }
  }

  async function change(id, url, host, verb) {
    try {
      await post(url, host);
      flash($(id + "messages"), host + " " + verb + ".");
    } catch (e) {
      flash($(id + "messages"), "Cannot change " + host + ": " + e.message, "error");
    }
    await loadBlacklists();
  }

  async function loadBlacklist(id, safe) {
    const spec = LISTS[id];
    const hosts = await get(spec.get);
    replace($(id), hosts.length ? hosts.map((host) => el("li", {},
      el("button", {type: "button", class: "hostentry" + (safe.has(host) ? " safe" : ""), data: {host: host},
                    title: "Whitelist " + host + (safe.has(host) ? " (safe to remove)" : ""),
                    on: {click: () => change(id, spec.remove, host, "whitelisted")}},
        host, el("span", {class: "x", text: "×"}))))
      : el("li", {class: "muted", text: "None"}));
  }

  async function loadBlacklists() {
    await Promise.all([
      loadBlacklist("blacklist", new Set()),
      safeGcHosts().then((safe) => loadBlacklist("gcblacklist", safe)),
    ]);
  }

  for (const id of Object.keys(LISTS)) {
    const input = $(id + "host");
    const add = async () => {
      const host = input.value.trim();
      if (!host) return;
      await change(id, LISTS[id].add, host, "blacklisted");
      input.value = "";
    };
    $(id + "add").addEventListener("click", add);
    input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") add(); });
  }

  /* ---- settings ---- */
  async function loadSettings() {
    const settings = await get("disco/ctrl/get_settings");
    $("maxfailures").value = String(settings.max_failure_rate);
    $("acceptjobs").value = String(settings.accept_new_jobs) === "0" ? "0" : "1";
  }

  $("savesettings").addEventListener("click", async () => {
    const settings = {max_failure_rate: $("maxfailures").value.trim(), accept_new_jobs: $("acceptjobs").value};
    try {
      flash($("settingsmessages"), String(await post("disco/ctrl/save_settings", settings)));
    } catch (e) {
      flash($("settingsmessages"), "Not saved: " + e.message, "error");
    }
    await loadSettings();
  });

  Promise.all([loadTable(), loadNodes(), loadBlacklists(), loadSettings()]).then(
    () => { Disco.connection(true); document.body.dataset.loaded = "1"; },
    (e) => { Disco.connection(e.status !== 0); console.error(e); });
});
