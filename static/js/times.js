// Times: the server writes UTC ("2026-12-02 06:52:04 UTC" in <time data-dt>). A reader may
// prefer the browser's zone; the choice is kept in localStorage and applied to every <time>
// on load and after each htmx swap. Relative times keep the absolute one in their title.
(() => {
  const KEY = "sessionscope.timezone";
  const pad = (n) => String(n).padStart(2, "0");

  function preference() {
    try { return localStorage.getItem(KEY) === "local" ? "local" : "utc"; } catch (e) { return "utc"; }
  }

  function zoneName(date) {
    const part = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
      .formatToParts(date).find((p) => p.type === "timeZoneName");
    return part ? part.value : "local";
  }

  function format(date, mode) {
    if (mode === "utc") {
      return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
        `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} UTC`;
    }
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
      `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${zoneName(date)}`;
  }

  function apply(root) {
    const mode = preference();
    (root || document).querySelectorAll("time[data-dt], time[data-rel]").forEach((el) => {
      const date = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) return;
      if (el.hasAttribute("data-dt")) el.textContent = format(date, mode);
      else el.title = format(date, mode);
    });
    const select = document.getElementById("tz-choice");
    if (select) select.value = mode;
  }

  window.sessionscopeTimes = {
    preference,
    set(mode) {
      try { localStorage.setItem(KEY, mode === "local" ? "local" : "utc"); } catch (e) { /* private mode */ }
      apply(document);
    },
    toggle() { this.set(preference() === "utc" ? "local" : "utc"); },
    apply,
  };

  document.addEventListener("DOMContentLoaded", () => {
    const select = document.getElementById("tz-choice");
    if (select) {
      const local = select.querySelector("option[value=local]");
      if (local) local.textContent = `Local (${zoneName(new Date())})`;
      select.addEventListener("change", () => window.sessionscopeTimes.set(select.value));
    }
    apply(document);
  });
  document.addEventListener("htmx:afterSettle", () => apply(document));
})();
