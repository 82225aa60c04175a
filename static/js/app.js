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
  // The live tail brought events: regions listening for it (the session's rollups) refresh.
  document.addEventListener("htmx:afterSwap", (event) => {
    const xhr = event.detail.xhr;
    if (isPoll(event.detail.elt) && xhr && /data-seq="/.test(xhr.responseText || "")) {
      document.body.dispatchEvent(new CustomEvent("sessionscope:tail", { bubbles: true }));
    }
  });
})();
