// Keyboard for the annotation queue's item page: j/k next/previous, 1-9 focus a score,
// c the comment box, s skip, Ctrl+Enter (or Cmd+Enter) complete. Typing in a field is left
// alone except for Ctrl+Enter and Escape (which leaves the field).
(function () {
  "use strict";
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  }
  function click(id) {
    var el = document.getElementById(id);
    if (el) { el.click(); return true; }
    return false;
  }
  document.addEventListener("keydown", function (ev) {
    if (!document.getElementById("queue-bar")) { return; }
    if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter") {
      if (click("queue-complete")) { ev.preventDefault(); }
      return;
    }
    if (ev.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (typing(document.activeElement) || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var handled = false;
    if (ev.key === "j") { handled = click("queue-next"); }
    else if (ev.key === "k") { handled = click("queue-prev"); }
    else if (ev.key === "s") { handled = click("queue-skip"); }
    else if (ev.key === "c") {
      var box = document.getElementById("queue-comment");
      if (box) { box.focus(); handled = true; }
    } else if (/^[1-9]$/.test(ev.key)) {
      var field = document.querySelector('[data-score-key="' + ev.key + '"]');
      if (field) { field.focus(); handled = true; }
    }
    if (handled) { ev.preventDefault(); }
  });
})();
