/* Status page: nodes (nodeinfo), job list (joblist), DDFS GC status and statistics. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const {el, $, replace, get, poller, formatBytes, flash, connection} = Disco;
  let highlighted = null;

  function highlight(name) {
    highlighted = name;
    for (const slot of document.querySelectorAll(".slot.busy")) {
      slot.classList.toggle("hl", name !== null && slot.dataset.job === name);
    }
  }

  const jobs = Disco.jobList({onHover: highlight, interval: 3000});

  function diskBar(info) {
    if (typeof info.diskfree !== "number" || typeof info.diskused !== "number") {
      return el("div", {class: "disk muted", text: "disk: unknown"});
    }
    const total = info.diskfree + info.diskused;
    const used = total ? Math.round(100 * info.diskused / total) : 0;
    return el("div", {class: "disk", title: used + "% used"},
      el("div", {class: "bar"}, el("div", {class: "used", style: {width: used + "%"}})),
      el("div", {class: "disktext"}, formatBytes(info.diskused * 1024) + " used, " +
        formatBytes(info.diskfree * 1024) + " free"));
  }

  function nodeBox(host, info) {
    const tasks = Array.isArray(info.tasks) ? info.tasks : [];
    const slots = [];
    const count = Math.max(Number(info.max_workers) || 0, tasks.length);
    for (let i = 0; i < count; i++) {
      const job = tasks[i];
      slots.push(job === undefined
        ? el("span", {class: "slot", title: "free slot"})
        : el("span", {
          class: "slot busy" + (job === highlighted ? " hl" : ""), title: job, data: {job: job},
          on: {click: () => jobs.setFilter(job), mouseenter: () => highlight(job), mouseleave: () => highlight(null)},
        }));
    }
    const states = [];
    if (info.blacklisted) states.push(el("span", {class: "badge blacklisted", text: "blacklisted"}));
    if (info.refused) states.push(el("span", {class: "badge disconnected", text: "refused", title: info.refused}));
    else if (!info.connected) states.push(el("span", {class: "badge disconnected", text: "disconnected"}));
    const state = (info.blacklisted ? " blacklisted" : "") + (info.connected ? "" : " disconnected");
    return el("div", {class: "node" + state, data: {host: host}},
      el("h3", {class: "host"}, el("span", {class: "hostname", text: host, title: host}), states),
      el("div", {class: "slots", title: tasks.length + " of " + info.max_workers + " slots busy"}, slots),
      el("div", {class: "slotcount", text: tasks.length + " / " + info.max_workers + " slots busy"}),
      diskBar(info),
      el("table", {class: "counters"},
        el("tr", {}, el("th", {text: "ok"}), el("th", {text: "data errors"}), el("th", {text: "errors"})),
        el("tr", {}, el("td", {class: "ok", text: info.job_ok}), el("td", {class: "warn", text: info.data_error}),
          el("td", {class: "err", text: info.error}))));
  }

  poller(async () => {
    try {
      const nodes = await get("disco/ctrl/nodeinfo");
      connection(true);
      const hosts = Object.keys(nodes).sort();
      const busy = hosts.reduce((n, h) => n + (nodes[h].tasks || []).length, 0);
      const total = hosts.reduce((n, h) => n + (Number(nodes[h].max_workers) || 0), 0);
      $("nodesummary").textContent = hosts.length + " nodes, " + busy + " of " + total + " slots busy";
      replace($("nodes"), hosts.length ? hosts.map((h) => nodeBox(h, nodes[h]))
        : el("p", {class: "muted"}, "No nodes configured. ", el("a", {href: "config.html", text: "Configure"})));
    } catch (e) {
      if (e.status === 0) connection(false);
      else throw e;
    }
  }, 3000).start();

  /* DDFS: may be absent (404) — then say so and stop asking. */
  const STATS = ["Tags kept", "Tags deleted", "Blobs kept", "Blobs deleted"];

  function statsTable(stats) {
    if (stats === "" || stats === null || typeof stats !== "object") {
      return el("p", {class: "muted", text: "No GC has run yet."});
    }
    const rows = STATS.map((key) => {
      const [files, bytes] = (stats.stats || {})[key] || [0, 0];
      return el("tr", {}, el("th", {text: key}), el("td", {text: files}), el("td", {text: formatBytes(bytes)}));
    });
    return el("div", {},
      el("p", {class: "muted", text: "at " + stats.timestamp}),
      el("table", {class: "gcstats"},
        el("tr", {}, el("th"), el("th", {text: "files"}), el("th", {text: "bytes"})), rows));
  }

  const gcPoll = poller(async () => {
    let status;
    let stats;
    try {
      [status, stats] = await Promise.all([get("ddfs/ctrl/gc_status"), get("ddfs/ctrl/gc_stats")]);
    } catch (e) {
      if (e.status === 404) {
        $("gcbox").hidden = true;
        $("gcunavailable").hidden = false;
        gcPoll.stop();
        return;
      }
      throw e;
    }
    $("gcunavailable").hidden = true;
    $("gcbox").hidden = false;
    $("gcstatus").textContent = status === "" ? "idle" : String(status);
    $("gcstart").disabled = status !== "";
    replace($("gcstats"), statsTable(stats));
  }, 10000);
  gcPoll.start();

  $("gcstart").addEventListener("click", async () => {
    $("gcstart").disabled = true;
    try {
      flash($("gcmessages"), String(await get("ddfs/ctrl/gc_start")));
    } catch (e) {
      flash($("gcmessages"), "Cannot start GC: " + e.message, "error");
    }
    gcPoll.now();
  });
});
