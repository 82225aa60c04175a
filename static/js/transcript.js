// The session page's transcript: the event `?at=` opened on, a bounded window of loaded pages,
// and the keyboard shortcuts listed in #transcript-nav's data-shortcuts (for the help overlay).
(() => {
  "use strict";
  // Pages of 50 events kept in the page at once; farther ones are dropped and reloaded on return.
  const MAX_PAGES = 6;

  const transcript = () => document.getElementById("transcript");
  const nav = () => document.getElementById("transcript-nav");

  // The sticky top bar covers the top of the viewport: events are placed just below it.
  function topOffset() {
    const bar = document.querySelector(".topbar");
    if (!bar) return 8;
    const style = window.getComputedStyle(bar);
    const covers = style.position === "sticky" || style.position === "fixed";
    return (covers ? bar.getBoundingClientRect().bottom : 0) + 8;
  }

  function placeAtTop(element) {
    const y = element.getBoundingClientRect().top + window.scrollY - topOffset();
    window.scrollTo({ top: Math.max(y, 0), behavior: "instant" });
  }

  function mark(element, className) {
    document.querySelectorAll("." + className).forEach((e) => e.classList.remove(className));
    element.classList.add(className);
  }

  function events() {
    const t = transcript();
    if (!t) return [];
    // Shown events only: a tool result inside a closed call is laid out (Chromium keeps a
    // closed <details>' content in layout, out of sight), so offsetParent alone counts it.
    const shown = (e) => (e.checkVisibility ? e.checkVisibility() : e.offsetParent !== null);
    return Array.from(t.querySelectorAll("[data-seq]")).filter(shown);
  }

  // The event at the top of the view (under the top bar). Events nest (a tool call and its
  // result inside the assistant message that made the call), so the one that counts is the
  // innermost (last in document order) that starts at the line and reaches below it; the
  // message around it spans the line too, and taking it would send "next" back to the call.
  function currentIndex(list) {
    const line = topOffset() + 2;
    let current = -1;
    for (let i = 0; i < list.length; i++) {
      const box = list[i].getBoundingClientRect();
      if (box.top > line + 4) break;
      if (box.bottom > line) current = i;
    }
    if (current !== -1) return current;
    const index = list.findIndex((e) => e.getBoundingClientRect().bottom > line);
    return index === -1 ? list.length - 1 : index;
  }

  function currentSeq() {
    const list = events();
    if (!list.length) return 0;
    return Number(list[currentIndex(list)].dataset.seq);
  }

  function go(element) {
    // A hit inside a closed tool call opens the call to show it.
    const details = element.parentElement && element.parentElement.closest("details");
    if (details && !details.open) details.open = true;
    placeAtTop(element);
    mark(element, "kb-current");
  }

  function step(delta) {
    const list = events();
    if (!list.length) return;
    const line = topOffset() + 2;
    let index = currentIndex(list);
    // The event under the bar counts as current only when its top is in place already.
    if (delta > 0 && list[index].getBoundingClientRect().top > line + 4) index -= 1;
    const next = list[Math.min(Math.max(index + delta, 0), list.length - 1)];
    go(next);
  }

  function jumpUrl(to, from, find) {
    const n = nav();
    const params = new URLSearchParams({ to: to, from: String(from) });
    if (find) params.set("find", find);
    // Removed events stay shown (and searched) after a jump when they were.
    if (new URLSearchParams(window.location.search).get("removed") === "1") params.set("removed", "1");
    return n.dataset.jumpUrl + "?" + params.toString();
  }

  function findText() {
    const input = document.querySelector("[data-nav=find]");
    const params = new URLSearchParams(window.location.search);
    return (params.get("find") || (input ? input.value : "") || "").trim();
  }

  // Next or previous error: among the loaded events when there is one, else from the server.
  function error(direction) {
    const list = events();
    const seq = currentSeq();
    const errors = list.filter((e) => e.matches(".is-error, .has-error"));
    const target =
      direction > 0
        ? errors.find((e) => Number(e.dataset.seq) > seq)
        : errors.reverse().find((e) => Number(e.dataset.seq) < seq);
    if (target) return go(target);
    const pages = transcript().querySelectorAll(":scope > .tpage");
    if (!pages.length) return;
    // Forward from the current event when it lies past the last page's own events (a tool
    // result shown inside its call, on the call's page): else the server would send it back.
    const edge =
      direction > 0
        ? Math.max(Number(pages[pages.length - 1].dataset.last), seq)
        : pages[0].dataset.first;
    window.location.assign(jumpUrl(direction > 0 ? "next-error" : "prev-error", edge, ""));
  }

  function hit(direction) {
    const text = findText();
    if (!text) return;
    const seq = currentSeq();
    const hits = Array.from(document.querySelectorAll("[data-hit]")).map((a) => Number(a.dataset.hit));
    const candidates = direction > 0 ? hits.filter((h) => h > seq) : hits.filter((h) => h < seq).reverse();
    const loaded = candidates.length ? document.getElementById("ev-" + candidates[0]) : null;
    if (loaded && loaded.offsetParent !== null) return go(loaded);
    window.location.assign(jumpUrl(direction > 0 ? "next-hit" : "prev-hit", seq, text));
  }

  function loader(id, param, value, label) {
    const t = transcript();
    const base = t.dataset.eventsUrl;
    const url = base + (base.includes("?") ? "&" : "?") + param + "=" + value;
    const div = document.createElement("div");
    div.id = id;
    div.className = "more";
    div.setAttribute("hx-get", url);
    div.setAttribute("hx-trigger", "revealed");
    div.setAttribute("hx-swap", "outerHTML");
    const link = document.createElement("a");
    link.className = "btn";
    link.href = url;
    link.textContent = label;
    div.appendChild(link);
    return div;
  }

  // Keep at most MAX_PAGES pages: drop those at the far end from where the last page came in,
  // leaving a loader that brings them back, and keep what is on screen where it was.
  function trim(appendedAtBottom) {
    const t = transcript();
    if (!t) return;
    const pages = Array.from(t.querySelectorAll(":scope > .tpage"));
    const excess = pages.length - MAX_PAGES;
    if (excess <= 0) return;
    if (appendedAtBottom) {
      const keep = pages[excess];
      const before = keep.getBoundingClientRect().top;
      pages.slice(0, excess).forEach((p) => p.remove());
      const old = document.getElementById("transcript-prev");
      if (old) old.remove();
      const fresh = loader("transcript-prev", "before_seq", keep.dataset.first, "Load earlier events");
      t.insertBefore(fresh, keep);
      window.scrollBy(0, keep.getBoundingClientRect().top - before);
      window.htmx.process(fresh);
    } else {
      const last = pages[pages.length - excess - 1];
      pages.slice(pages.length - excess).forEach((p) => p.remove());
      const old = document.getElementById("transcript-more");
      if (old) old.remove();
      const fresh = loader("transcript-more", "after_seq", last.dataset.last, "Load more events");
      last.after(fresh);
      window.htmx.process(fresh);
    }
  }

  // A page loaded above the view pushes it down: put the events that were on screen back.
  let anchor = null;
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (target && target.id === "transcript-prev") {
      const next = target.nextElementSibling;
      anchor = next ? { element: next, top: next.getBoundingClientRect().top } : null;
    }
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (!target) return;
    if (target.id === "transcript-prev" || event.detail.elt.id === "transcript-prev") {
      if (anchor && anchor.element.isConnected) {
        window.scrollBy(0, anchor.element.getBoundingClientRect().top - anchor.top);
      }
      anchor = null;
      trim(false);
    } else if (target.id === "transcript-more" || event.detail.elt.id === "transcript-more") {
      trim(true);
    }
  });

  // A result that came after its call's page was made arrives out of band into the call's
  // results (#results-<seq>): once, even when the call's page was made again since, and the
  // call's summary then says how it went instead of "no result yet".
  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || !target.classList || !target.classList.contains("tool-results")) return;
    const result = event.detail.fragment.querySelector("[data-seq]");
    if (!result || document.getElementById(result.id)) {
      event.detail.shouldSwap = false;
      return;
    }
    const call = target.closest("details.toolcall");
    const tags = call && call.querySelector(":scope > summary .result-tags");
    if (!tags) return;
    tags.querySelectorAll(".pending").forEach((tag) => tag.remove());
    const failed = result.classList.contains("is-error");
    const tag = document.createElement("span");
    tag.className = failed ? "tag err" : "tag ok";
    tag.textContent = failed ? "error" : "done";
    tags.appendChild(tag);
    if (failed) call.classList.add("has-error");
  });

  // The error links were written before the removed events' toggle (htmx, which pushes the new
  // address) may have changed what the transcript shows: they follow it, as the keys' jumps do.
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("[data-nav=next-error], [data-nav=prev-error]");
    if (!link) return;
    const url = new URL(link.href, window.location.href);
    if (new URLSearchParams(window.location.search).get("removed") === "1") url.searchParams.set("removed", "1");
    else url.searchParams.delete("removed");
    link.href = url.toString();
  });

  function typing(target) {
    return (
      target &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))
    );
  }

  function click(name) {
    const link = document.querySelector("[data-nav=" + name + "]");
    if (link) window.location.assign(link.href);
  }

  function focus(name) {
    const input = document.querySelector("[data-nav=" + name + "]");
    if (input) {
      input.focus();
      input.select();
    }
  }

  const handlers = {
    j: () => step(1),
    k: () => step(-1),
    e: () => error(1),
    E: () => error(-1),
    n: () => hit(1),
    N: () => hit(-1),
    "/": () => focus("find"),
    // "#": event numbers read "#123"; "g" starts the global "g s" / "g c" jumps (shortcuts.js).
    "#": () => focus("at"),
    Home: () => click("start"),
    End: () => click("end"),
  };

  document.addEventListener("keydown", (event) => {
    if (!nav() || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const handler = handlers[event.key];
    if (!handler) return;
    event.preventDefault();
    handler();
  });

  function openAt() {
    const t = transcript();
    if (!t || !t.dataset.at) return;
    const element = document.getElementById("ev-" + t.dataset.at);
    if (!element) return;
    // A tool call's details open to show it when the event is inside one.
    const details = element.closest("details");
    if (details && details !== element) details.open = true;
    mark(element, "at-target");
    placeAtTop(element);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", openAt);
  } else {
    openAt();
  }
  window.addEventListener("load", openAt, { once: true });
})();
