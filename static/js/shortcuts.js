// Keyboard shortcuts and the "?" help overlay that lists them.
//
// Two ways to add one:
//  - in JavaScript: window.sessionscopeShortcuts.register({keys: "j", description: "Next event",
//    group: "Transcript", handler: (event) => ...}); keys are one key or a sequence ("g s").
//    Entries pushed onto window.sessionscopeShortcuts before this file runs are registered too.
//  - in HTML: an element with data-shortcut="g s" (and data-shortcut-description, else its
//    title, aria-label or text) is clicked (links, buttons) or focused (fields) by its keys.
// Keys typed into a field never trigger shortcuts; Escape leaves the field.
(() => {
  const pending = Array.isArray(window.sessionscopeShortcuts) ? window.sessionscopeShortcuts : [];
  const entries = [];
  let prefix = "";
  let prefixTimer = null;

  const registry = {
    register(entry) {
      if (!entry || !entry.keys) return;
      entries.push({ group: "General", description: "", ...entry });
    },
    list() {
      const fromHtml = Array.from(document.querySelectorAll("[data-shortcut]")).map((el) => ({
        keys: el.dataset.shortcut,
        description: el.dataset.shortcutDescription || el.title || el.getAttribute("aria-label") || el.textContent.trim(),
        group: el.dataset.shortcutGroup || "Go to",
        element: el,
      }));
      return entries.concat(fromHtml);
    },
  };
  window.sessionscopeShortcuts = registry;
  pending.forEach((entry) => registry.register(entry));

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function run(entry, event) {
    if (entry.handler) {
      entry.handler(event);
    } else if (entry.element) {
      if (/^(INPUT|TEXTAREA|SELECT)$/.test(entry.element.tagName)) entry.element.focus();
      else entry.element.click();
    }
  }

  function dialog() { return document.getElementById("help-overlay"); }

  // The transcript's keys (static/js/transcript.js handles them): listed, not dispatched here.
  function transcriptShortcuts() {
    const nav = document.querySelector("#transcript-nav[data-shortcuts]");
    if (!nav) return [];
    try {
      return JSON.parse(nav.dataset.shortcuts).map((s) => ({ keys: s.key, description: s.help, group: "Transcript" }));
    } catch (error) {
      return [];
    }
  }

  function openHelp() {
    const box = dialog();
    if (!box) return;
    const list = box.querySelector("[data-shortcut-list]");
    list.replaceChildren();
    const groups = new Map();
    registry.list().concat(transcriptShortcuts()).forEach((entry) => {
      if (!groups.has(entry.group)) groups.set(entry.group, []);
      groups.get(entry.group).push(entry);
    });
    groups.forEach((items, name) => {
      const section = document.createElement("section");
      const heading = document.createElement("h3");
      heading.textContent = name;
      const dl = document.createElement("dl");
      items.forEach((entry) => {
        const dt = document.createElement("dt");
        entry.keys.split(" ").forEach((key, index) => {
          if (index) dt.append(" then ");
          const kbd = document.createElement("kbd");
          kbd.textContent = key;
          dt.append(kbd);
        });
        const dd = document.createElement("dd");
        dd.textContent = entry.description;
        dl.append(dt, dd);
      });
      section.append(heading, dl);
      list.append(section);
    });
    if (!box.open) box.showModal();
  }

  registry.register({ keys: "?", description: "Show this help", group: "General", handler: openHelp });
  registry.register({
    keys: "t", description: "Switch times between UTC and your local zone", group: "General",
    handler: () => window.sessionscopeTimes && window.sessionscopeTimes.toggle(),
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-help-open]")) openHelp();
    if (event.target.closest("[data-help-close]")) dialog().close();
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (dialog() && dialog().open) return;
    const key = event.key;
    if (key === "Shift") return;
    const typed = prefix ? `${prefix} ${key}` : key;
    const all = registry.list();
    const match = all.find((entry) => entry.keys === typed);
    if (match) {
      event.preventDefault();
      prefix = "";
      run(match, event);
      return;
    }
    if (all.some((entry) => entry.keys.startsWith(`${typed} `))) {
      prefix = typed;
      clearTimeout(prefixTimer);
      prefixTimer = setTimeout(() => { prefix = ""; }, 1500);
      return;
    }
    prefix = "";
  });
})();
