/* DDFS browser: the tags starting with a prefix (/ddfs/tags/<prefix>). */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const {el, $, replace, get, debounce, param, connection} = Disco;
  const MAX_SHOWN = 2000;
  const input = $("prefix");
  input.value = param("prefix") || "";
  let seq = 0;

  async function load() {
    const mine = ++seq;
    const prefix = input.value.trim();
    let tags;
    try {
      tags = await get(prefix ? "ddfs/tags/" + encodeURIComponent(prefix) : "ddfs/tags");
    } catch (e) {
      if (mine !== seq) return;
      if (e.status === 404) {
        $("unavailable").hidden = false;
        $("tagbox").hidden = true;
        $("tagcount").textContent = "";
      } else {
        connection(e.status !== 0);
        replace($("tags"), el("li", {class: "muted", text: "Cannot list tags: " + e.message}));
      }
      return;
    }
    if (mine !== seq) return;
    connection(true);
    const names = (Array.isArray(tags) ? tags.map(String) : []).sort();
    $("tagcount").textContent = names.length > MAX_SHOWN
      ? "first " + MAX_SHOWN + " of " + names.length : String(names.length);
    const link = (t) => el("a", {href: "tag.html?tag=" + encodeURIComponent(t), text: t});
    replace($("tags"), names.length
      ? names.slice(0, MAX_SHOWN).map((t) => el("li", {}, link(t)))
      : el("li", {class: "muted", text: prefix ? "No tags start with this prefix." : "No tags."}));
    const url = new URL(window.location.href);
    if (prefix) url.searchParams.set("prefix", prefix);
    else url.searchParams.delete("prefix");
    window.history.replaceState(null, "", url);
  }

  input.addEventListener("input", debounce(load, 250));
  load();
});
