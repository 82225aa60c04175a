// Sessionscope: the few lines of JavaScript the pages need (no inline scripts: see the CSP).

function copyText(text, button) {
  const done = () => {
    const label = button.textContent;
    button.textContent = "Copied";
    button.classList.add("copied");
    setTimeout(() => { button.textContent = label; button.classList.remove("copied"); }, 1200);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text) && done());
  } else if (fallbackCopy(text)) {
    done();
  }
}

function fallbackCopy(text) {
  // Plain http on another host has no clipboard API: a selected textarea and execCommand.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "offscreen";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
  area.remove();
  return ok;
}

document.addEventListener("click", (event) => {
  // Copy buttons: <button data-copy="#id"> copies an element's text, data-copy-text its value.
  const button = event.target.closest("[data-copy], [data-copy-text]");
  if (button) {
    // Inside a <summary>, copying must not also open or close the <details>.
    event.preventDefault();
    if (button.hasAttribute("data-copy-text")) {
      copyText(button.dataset.copyText, button);
    } else {
      const source = document.querySelector(button.dataset.copy);
      if (source) copyText(source.textContent.trim(), button);
    }
    return;
  }
  // Raw toggles: <button data-toggle-view="#box"> swaps the box's formatted and raw views.
  const toggle = event.target.closest("[data-toggle-view]");
  if (toggle) {
    const box = document.querySelector(toggle.dataset.toggleView);
    if (!box) return;
    const raw = toggle.getAttribute("aria-pressed") !== "true";
    box.querySelectorAll(":scope > [data-view], :scope > details > [data-view]").forEach((el) => {
      el.hidden = (el.dataset.view === "raw") !== raw;
    });
    toggle.setAttribute("aria-pressed", String(raw));
  }
});

// A tree node's twisty turns once its children have loaded.
document.addEventListener("htmx:afterRequest", (event) => {
  const button = event.detail.elt;
  if (button && button.dataset && button.dataset.expand && event.detail.successful) {
    button.textContent = "▾";
    button.classList.add("open");
  }
});

// Forms that act on "the list as it is now" (the bulk bar, saving a view) send the list's
// current query string: htmx filters update the address bar, not these forms' hidden field.
function syncListQuery(form) {
  const field = form && form.querySelector("input[name=query]");
  if (field && (form.id === "bulk-form" || form.classList.contains("save-view"))) {
    field.value = window.location.search.replace(/^\?/, "");
  }
}
document.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (button && button.form) syncListQuery(button.form);
}, true);
document.addEventListener("submit", (event) => syncListQuery(event.target), true);

// The sessions list's selection: a page's checkbox picks every row; the bar counts them.
function updateBulkCount() {
  const bar = document.getElementById("bulk-form");
  if (!bar) return;
  const picked = document.querySelectorAll("input[name=ids][form=bulk-form]:checked").length;
  const all = bar.querySelector(".bulk-all");
  const count = bar.querySelector(".bulk-count");
  if (count) {
    count.textContent = all && all.checked ? "All matching" : picked ? `${picked} row${picked === 1 ? "" : "s"}` : "No rows";
  }
}
document.addEventListener("change", (event) => {
  const box = event.target;
  if (box.classList && box.classList.contains("bulk-page")) {
    document.querySelectorAll("input[name=ids][form=bulk-form]").forEach((row) => { row.checked = box.checked; });
  }
  if (box.name === "ids") {
    const rows = document.querySelectorAll("input[name=ids][form=bulk-form]");
    const header = document.querySelector("input.bulk-page");
    if (header) header.checked = rows.length > 0 && [...rows].every((row) => row.checked);
  }
  if (box.name === "ids" || (box.classList && (box.classList.contains("bulk-page") || box.classList.contains("bulk-all")))) {
    updateBulkCount();
  }
});
document.addEventListener("htmx:afterSettle", updateBulkCount);
// "All matching" reaches rows on other pages that nobody has seen: ask first, and clear the box
// once the action is done, so the next click does not again apply to everything.
document.addEventListener("htmx:confirm", (event) => {
  const button = event.detail.elt;
  const all = button.form && button.form.id === "bulk-form" && button.form.querySelector(".bulk-all");
  if (!all || !all.checked) return;
  event.preventDefault();
  const text = `${button.textContent.trim()}: every session these filters match, on every page?`;
  if (window.confirm(text)) event.detail.issueRequest(true);
});
document.addEventListener("htmx:afterRequest", (event) => {
  const button = event.detail.elt;
  if (!event.detail.successful || !button.form || button.form.id !== "bulk-form") return;
  const all = button.form.querySelector(".bulk-all");
  if (all && all.checked) {
    all.checked = false;
    updateBulkCount();
  }
});

// The saved-views picker closes when someone clicks elsewhere on the page.
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.views-picker[open]").forEach((picker) => {
    if (!picker.contains(event.target)) picker.removeAttribute("open");
  });
});

// Feedback on every htmx request: a bar at the top and the target marked busy. Polling (the
// live tail, pending summaries) stays quiet, so the bar means "something you asked for".
(() => {
  let pending = 0;
  const isPoll = (elt) => /\bevery\b|\bload\b|sessionscope:tail/.test((elt && elt.getAttribute && elt.getAttribute("hx-trigger")) || "");
  const bar = () => document.getElementById("htmx-progress");
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (isPoll(event.detail.elt)) return;
    event.detail.elt.dataset.progress = "1";
    pending += 1;
    document.documentElement.classList.add("is-loading");
    if (bar()) bar().hidden = false;
    if (event.detail.target) event.detail.target.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    const elt = event.detail.elt;
    if (event.detail.target) event.detail.target.removeAttribute("aria-busy");
    if (!elt.dataset || elt.dataset.progress !== "1") return;
    delete elt.dataset.progress;
    pending = Math.max(0, pending - 1);
    if (pending === 0) {
      document.documentElement.classList.remove("is-loading");
      if (bar()) bar().hidden = true;
    }
  });
  // htmx snapshots the page for the Back button after the marks above were set: leave them out
  // of the snapshot, and clear them on a restore, or a page you go back to stays dimmed.
  const settle = () => {
    document.querySelectorAll("[aria-busy]").forEach((e) => e.removeAttribute("aria-busy"));
    if (bar()) bar().hidden = true;
  };
  document.addEventListener("htmx:beforeHistorySave", settle);
  document.addEventListener("htmx:historyRestore", () => {
    pending = 0;
    document.documentElement.classList.remove("is-loading");
    document.querySelectorAll("[data-progress]").forEach((e) => delete e.dataset.progress);
    settle();
  });
  // The live tail brought events: regions listening for it (the session's rollups) refresh.
  document.addEventListener("htmx:afterSwap", (event) => {
    const xhr = event.detail.xhr;
    if (isPoll(event.detail.elt) && xhr && /data-seq="/.test(xhr.responseText || "")) {
      document.body.dispatchEvent(new CustomEvent("sessionscope:tail", { bubbles: true }));
    }
  });
})();
