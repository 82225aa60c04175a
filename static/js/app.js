// Sessionscope: the few lines of JavaScript the pages need (no inline scripts: see the CSP).
document.addEventListener("click", (event) => {
  // Copy buttons: <button data-copy="#id">.
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
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

// The saved-views picker closes when someone clicks elsewhere on the page.
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.views-picker[open]").forEach((picker) => {
    if (!picker.contains(event.target)) picker.removeAttribute("open");
  });
});
