/* Job page (job.html?name=J): jobinfo, the timeline of its attempts (timeline.js), results,
 * events; live while the job runs. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const {el, $, replace, get, post, poller, debounce, flash, connection, param, urlNode, formatDuration} = Disco;
  const name = param("name");
  const POLL_MS = 1500;
  const MAX_INPUTS = 100;
  let hostFilter = null;
  let events = [];
  let eventSeq = 0;
  let finished = false;
  let attemptsSince = 0;
  const timeline = Timeline.create($("timeline"), {onSelect: (task) => {
    $("eventfilter").value = task;       // a bar shows its task's events
    loadEvents().catch(console.error);
  }});

  if (!name) {
    showUnknown("No job given: open this page as job.html?name=<job name>.");
    return;
  }
  $("jobname").textContent = name;
  document.title = name + " — Disco job";
  const jobs = Disco.jobList({current: name, interval: 10000});
  let lastStatus = null;

  function showUnknown(text) {
    $("unknown").textContent = text;
    $("unknown").hidden = false;
    $("jobbody").hidden = true;
    $("actions").hidden = true;
    $("live").hidden = true;
  }

  const enc = encodeURIComponent(name);

  function replicaItem(replicas) {
    const list = Array.isArray(replicas) ? replicas : [replicas];
    const [first, ...alternates] = list;
    return el("li", {}, urlNode(first), alternates.length
      ? el("span", {class: "alternates"}, " (alternates: ",
        alternates.map((u, i) => [i ? ", " : "", urlNode(u)]), ")")
      : null);
  }

  function setText(id, text) {
    $(id).textContent = text;
  }

  function stageRow([stage, pending, waiting, running, done, failed]) {
    const total = waiting + running + done;
    const pct = (n) => (total ? 100 * n / total : 0) + "%";
    const bar = el("div", {class: "progress", title: done + " of " + total + " tasks done"},
      el("div", {class: "seg done", style: {width: pct(done)}}),
      el("div", {class: "seg running", style: {width: pct(running)}}));
    return el("tr", {data: {stage: stage}},
      el("th", {text: stage}),
      el("td", {class: "pending", text: pending}),
      el("td", {class: "waiting", text: waiting}),
      el("td", {class: "running" + (running ? " nonzero" : ""), text: running}),
      el("td", {class: "done", text: done}),
      el("td", {class: "failed" + (failed ? " nonzero" : ""), text: failed}),
      el("td", {class: "progresscol"}, el("div", {class: "progressbox"},
        bar, el("span", {class: "pct", text: total ? Math.floor(100 * done / total) + "%" : "–"}))));
  }

  function renderInfo(info) {
    const status = String(info.active);
    const badge = $("jobstatus");
    badge.textContent = status;
    badge.className = "badge " + status;
    replace($("info-status"), el("span", {class: "statustext " + status, text: status}));
    setText("info-started", info.timestamp);
    setText("info-ended", info.ended || "–");
    setText("info-duration", typeof info.duration === "number" ? formatDuration(info.duration) : "–");
    const tasks = Array.isArray(info.tasks) ? info.tasks : [];
    setText("taskcount", String(tasks.length));
    replace($("tasks").tBodies[0], tasks.length
      ? tasks.map(([taskid, stage, state, node, failures]) => el("tr", {class: "task " + state},
        el("td", {text: stage + ":" + taskid}), el("td", {class: "state", text: state}),
        el("td", {text: node || "–"}), el("td", {class: failures ? "failed nonzero" : "", text: failures || 0})))
      : el("tr", {}, el("td", {colspan: 4, class: "muted", text: "Every task is done."})));
    setText("info-owner", info.owner);
    setText("info-worker", info.worker);
    replace($("stages").tBodies[0], (info.pipeline || []).map(stageRow));

    const counts = new Map();
    for (const host of info.hosts || []) counts.set(host, (counts.get(host) || 0) + 1);
    replace($("hosts"), counts.size
      ? [...counts].sort().map(([host, n]) => el("button", {
        type: "button", class: "hostlink", title: "Show only events from " + host,
        on: {click: () => setHostFilter(host)}, text: n > 1 ? host + " ×" + n : host}))
      : el("span", {class: "muted", text: "No tasks running."}));

    const inputs = info.inputs || [];
    setText("inputcount", inputs.length > MAX_INPUTS
      ? "first " + MAX_INPUTS + " of " + inputs.length : String(inputs.length));
    replace($("inputs"), inputs.slice(0, MAX_INPUTS).map((u) => el("li", {}, urlNode(u))));
  }

  function renderResults(results) {
    setText("resultcount", String(results.length));
    replace($("results"), results.length ? results.map(replicaItem)
      : el("li", {class: "muted", text: finished ? "No results." : "Results appear when the job is done."}));
  }

  /* Results as replica lists (get_results) once the job is ready; jobinfo's flat list otherwise. */
  async function loadResults(info) {
    if (info.active === "ready") {
      try {
        const reply = await post("disco/ctrl/get_results", [0, [name]]);
        const [, [status, results]] = reply[0];
        if (status === "ready" && Array.isArray(results)) return results;
      } catch (e) { /* fall back to jobinfo */ }
    }
    return (info.results || []).map((u) => [u]);
  }

  const LEVELS = [[/^(WARN|WARNING)\b/, "warning"], [/^(ERROR|FATAL)\b/, "error"], [/^READY\b/, "ready"],
    [/^DONE\b/, "done"]];

  function level(message) {
    for (const [re, cls] of LEVELS) if (re.test(message)) return cls;
    return "info";
  }

  function renderEvents() {
    const shown = events.filter(([, host]) => hostFilter === null || host === hostFilter);
    const filtered = hostFilter !== null || $("eventfilter").value;
    replace($("events"), shown.length
      ? shown.map(([time, host, message]) => el("li", {class: "event " + level(String(message))},
        el("span", {class: "time", text: time}),
        el("button", {type: "button", class: "hostlink", text: host, title: "Show only events from " + host,
                      on: {click: () => setHostFilter(String(host))}}),
        el("span", {class: "message", text: message})))
      : el("li", {class: "muted", text: filtered ? "No events match the filter." : "No events yet."}));
  }

  function setHostFilter(host) {
    hostFilter = host;
    $("hostfilter").hidden = host === null;
    $("hostfiltername").textContent = host === null ? "" : "host: " + host;
    renderEvents();
  }

  async function loadEvents() {
    const seq = ++eventSeq;
    const filter = $("eventfilter").value.trim();
    const reply = await get("disco/ctrl/jobevents?name=" + enc + "&num=100&filter=" + encodeURIComponent(filter));
    if (seq !== eventSeq) return;       // a newer request (another filter) is on its way
    events = Array.isArray(reply) ? reply : [];
    renderEvents();
  }

  /* The attempts that ended since the last call, and those running; true once they are final. */
  async function loadAttempts(info) {
    let reply;
    do {
      reply = await get("disco/ctrl/jobattempts?name=" + enc + "&since=" + attemptsSince);
      attemptsSince = timeline.update(reply, info);
    } while (attemptsSince < reply.count);
    setText("attemptcount", String(reply.count + reply.running.length));
    timeline.render();
    return !reply.live;
  }

  async function refresh() {
    let info;
    try {
      [info] = await Promise.all([get("disco/ctrl/jobinfo?name=" + enc), loadEvents()]);
    } catch (e) {
      if (e.status === 404) {
        showUnknown("Unknown job (it may have been purged).");
        poll.stop();
        return;
      }
      if (e.status === 0) {
        connection(false);
        return;
      }
      throw e;
    }
    connection(true);
    renderInfo(info);
    if (lastStatus !== null && info.active !== lastStatus) jobs.refresh();   // the side list too
    lastStatus = info.active;
    const active = info.active === "active" || info.active === "initializing";
    finished = !active;
    $("live").hidden = !active;
    $("kill").disabled = !active;
    renderResults(await loadResults(info));
    const final = await loadAttempts(info);
    if (!active && final) poll.stop();
  }

  const poll = poller(refresh, POLL_MS);
  get("disco/ctrl/nodeinfo").then((nodes) => {
    timeline.setSlots(Object.fromEntries(Object.entries(nodes).map(([n, i]) => [n, i.max_workers])));
  }).catch(() => {}).finally(() => poll.start());
  window.addEventListener("resize", debounce(() => timeline.render(), 200));

  $("eventfilter").addEventListener("input", debounce(() => loadEvents().catch(console.error), 250));
  $("hostfilterclear").addEventListener("click", () => setHostFilter(null));

  $("copyname").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(name);
    } catch (e) {
      const area = el("textarea", {value: name, readOnly: true, class: "offscreen"});
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    flash($("messages"), "Job name copied.");
  });

  $("kill").addEventListener("click", async () => {
    if (!window.confirm("Kill job " + name + "?")) return;
    try {
      await post("disco/ctrl/kill_job", name);
      flash($("messages"), "Job killed.");
    } catch (e) {
      flash($("messages"), "Kill failed: " + e.message, "error");
    }
    poll.start();
    poll.now();
  });

  $("purge").addEventListener("click", async () => {
    if (!window.confirm("Delete all data of job " + name + "? This kills the job and cannot be undone.")) return;
    try {
      await post("disco/ctrl/purge_job", name);
    } catch (e) {
      flash($("messages"), "Delete failed: " + e.message, "error");
      return;
    }
    window.location.href = "./";
  });
});
