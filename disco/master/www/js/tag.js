/* DDFS tag page (tag.html?tag=T): blobs and attributes of one tag; tokens are never shown. */
"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  const {el, $, replace, get, param, urlNode, connection} = Disco;
  const tag = param("tag");

  function problem(text) {
    $("problem").textContent = text;
    $("problem").hidden = false;
    $("tagbody").hidden = true;
  }

  if (!tag) {
    problem("No tag given: open this page as tag.html?tag=<tag name>.");
    return;
  }
  $("tagname").textContent = tag;
  document.title = tag + " — DDFS tag";

  let obj;
  try {
    obj = await get("ddfs/tag/" + encodeURIComponent(tag));
  } catch (e) {
    if (e.status === 404) {
      let available = true;
      try {
        await get("ddfs/tags");
      } catch (e2) {
        available = e2.status !== 404;
      }
      problem(available ? "Tag not found." : "DDFS not available");
    } else if (e.status === 401) {
      problem("This tag needs a read token.");
    } else {
      connection(e.status !== 0);
      problem("Cannot read the tag: " + e.message);
    }
    return;
  }
  connection(true);
  if (obj === null || typeof obj !== "object") {
    problem("Unexpected reply for this tag.");
    return;
  }

  const urls = Array.isArray(obj.urls) ? obj.urls : [];
  const userData = obj["user-data"] && typeof obj["user-data"] === "object" ? obj["user-data"] : {};
  $("tag-id").textContent = obj.id === undefined ? "" : String(obj.id);
  $("tag-modified").textContent = obj["last-modified"] === undefined ? "" : String(obj["last-modified"]);
  $("tag-blobs").textContent = String(urls.length);

  /* Attributes: the user data only (the tag's read/write tokens are never shown). */
  const attrs = Object.keys(userData).sort();
  $("attrcount").textContent = String(attrs.length);
  replace($("attrs"), attrs.length ? attrs.map((k) => {
    const value = userData[k];
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return el("tr", {}, el("th", {text: k}), el("td", {}, el("code", {text: text})));
  }) : el("tr", {}, el("td", {colspan: 2, class: "muted", text: "No attributes."})));

  function blobName(url) {
    const text = String(url);
    if (text.startsWith("tag://")) return text.slice(6);
    const path = text.split(/[?#]/)[0];
    return path.slice(path.lastIndexOf("/") + 1) || text;
  }

  $("blobcount").textContent = String(urls.length);
  replace($("blobs"), urls.length ? urls.map((replicas, i) => {
    const list = (Array.isArray(replicas) ? replicas : [replicas]).map(String);
    return el("tr", {},
      el("td", {class: "num", text: i + 1}),
      el("td", {class: "blobname", text: list.length ? blobName(list[0]) : ""}),
      el("td", {}, el("ul", {class: "urls"}, list.map((u) => el("li", {}, urlNode(u))))));
  }) : el("tr", {}, el("td", {colspan: 3, class: "muted", text: "No blobs."})));
  $("tagbody").hidden = false;
});
