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
