// Portico's small client script: the theme switch, and on documentation pages Mermaid
// diagrams, copy buttons on code and heading links. Everything else works without it.
(function () {
  "use strict";
  var COOKIE = "portico-theme";
  var root = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function chosen() {
    var theme = root.getAttribute("data-theme");
    return theme === "light" || theme === "dark" ? theme : null;
  }

  function effective() {
    return chosen() || (media && media.matches ? "dark" : "light");
  }

  function remember(theme) {
    if (theme === "light" || theme === "dark") {
      root.setAttribute("data-theme", theme);
      document.cookie = COOKIE + "=" + theme + "; Path=/; Max-Age=31536000; SameSite=Lax";
    } else {
      root.removeAttribute("data-theme");
      document.cookie = COOKIE + "=; Path=/; Max-Age=0; SameSite=Lax";
    }
    label();
    renderDiagrams();
  }

  function label() {
    var next = effective() === "dark" ? "light" : "dark";
    var toggles = document.querySelectorAll("[data-theme-toggle]");
    for (var i = 0; i < toggles.length; i++) {
      toggles[i].setAttribute("aria-label", "Switch to " + next + " theme");
      toggles[i].setAttribute("title", "Switch to " + next + " theme");
      toggles[i].setAttribute("role", "button");
    }
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-theme-toggle]");
    if (!toggle) return;
    event.preventDefault();
    remember(effective() === "dark" ? "light" : "dark");
    var choices = document.querySelectorAll("[data-theme-choice]");
    for (var i = 0; i < choices.length; i++) choices[i].checked = choices[i].value === chosen();
  });

  document.addEventListener("keydown", function (event) {
    // The toggle is a link for browsers without JavaScript; as a button it also answers Space.
    if (event.key === " " && event.target.matches && event.target.matches("[data-theme-toggle]")) {
      event.preventDefault();
      event.target.click();
    }
  });

  document.addEventListener("keydown", function (event) {
    // "/" focuses the header's search box from anywhere but a text field.
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var box = document.getElementById("global-search");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-theme-choice]")) remember(event.target.value);
  });

  // A profile picture that cannot load (its host unreachable, say) is hidden, so the initials
  // drawn beneath it show instead of a broken-image icon. `error` does not bubble: listen in
  // the capture phase, and sweep up pictures that failed before this script ran.
  function hideIfBroken(img) {
    if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) img.hidden = true;
  }
  document.addEventListener(
    "error",
    function (event) {
      var target = event.target;
      if (target && target.classList && target.classList.contains("avatar-picture")) target.hidden = true;
    },
    true
  );
  function sweepPictures() {
    var pictures = document.querySelectorAll("img.avatar-picture");
    for (var i = 0; i < pictures.length; i++) hideIfBroken(pictures[i]);
  }

  // ---- Documentation pages ----

  // Mermaid diagrams (`pre.mermaid` holding the diagram's text) are drawn in the current
  // theme, and drawn again when the theme changes: each keeps its text to start over from.
  // `securityLevel: "strict"` makes Mermaid sanitise labels and drop click handlers.
  function renderDiagrams() {
    var mermaid = window.mermaid;
    var diagrams = document.querySelectorAll("pre.mermaid");
    if (!mermaid || diagrams.length === 0) return;
    for (var i = 0; i < diagrams.length; i++) {
      var diagram = diagrams[i];
      if (!diagram.hasAttribute("data-diagram-source")) {
        diagram.setAttribute("data-diagram-source", diagram.textContent);
      } else {
        diagram.textContent = diagram.getAttribute("data-diagram-source");
        diagram.removeAttribute("data-processed");
      }
    }
    mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: effective() === "dark" ? "dark" : "default"
    });
    // A diagram that does not parse shows Mermaid's error drawing; the others still render.
    mermaid.run({ nodes: diagrams, suppressErrors: true }).catch(function () {});
  }

  // A "Copy" button on every code block of a documentation page.
  function addCopyButtons() {
    var blocks = document.querySelectorAll(".techdocs pre:not(.mermaid)");
    for (var i = 0; i < blocks.length; i++) {
      var pre = blocks[i];
      if (pre.parentNode.classList.contains("code-block")) continue;
      var wrapper = document.createElement("div");
      wrapper.className = "code-block";
      pre.parentNode.insertBefore(wrapper, pre);
      wrapper.appendChild(pre);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy-button";
      button.setAttribute("aria-label", "Copy code");
      button.textContent = "Copy";
      wrapper.appendChild(button);
    }
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    // Plain-HTTP pages have no clipboard API: copy through a selected, off-screen text area.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var copied = false;
      try {
        copied = document.execCommand("copy");
      } catch (error) {
        copied = false;
      }
      document.body.removeChild(area);
      if (copied) resolve();
      else reject(new Error("copy refused"));
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".copy-button");
    if (!button) return;
    var pre = button.parentNode.querySelector("pre");
    if (!pre) return;
    var code = pre.querySelector("code") || pre;
    copyText(code.textContent).then(
      function () { flash(button, "Copied"); },
      function () { flash(button, "Copy failed"); }
    );
  });

  function flash(button, text) {
    button.textContent = text;
    button.setAttribute("aria-label", text);
    button.setAttribute("data-copied", "");
    clearTimeout(button.portico_timer);
    button.portico_timer = setTimeout(function () {
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy code");
      button.removeAttribute("data-copied");
    }, 1500);
  }

  // A link to each heading of a documentation page, shown on hover, for sharing a section.
  function addHeadingLinks() {
    var headings = document.querySelectorAll(
      ".techdocs h1[id], .techdocs h2[id], .techdocs h3[id], .techdocs h4[id], .techdocs h5[id], .techdocs h6[id]"
    );
    for (var i = 0; i < headings.length; i++) {
      var heading = headings[i];
      if (heading.querySelector(".headerlink")) continue;
      var link = document.createElement("a");
      link.className = "headerlink";
      link.href = "#" + encodeURIComponent(heading.id);
      link.setAttribute("aria-label", "Link to this section");
      link.textContent = "#";
      heading.appendChild(link);
    }
  }

  // Live preview (`portico docs serve`): the reader marks the page with the URL of its site's
  // build record; when a newer build finishes, the page reloads and keeps its scroll position.
  var watchingBuilds = false;
  function watchBuilds() {
    var holder = document.querySelector("[data-live-reload]");
    if (!holder || watchingBuilds || !window.fetch) return;
    watchingBuilds = true;
    var url = holder.getAttribute("data-live-reload");
    var seen = null;
    var key = "portico-scroll:" + location.pathname;
    var saved = sessionStorage.getItem(key);
    if (saved !== null) {
      sessionStorage.removeItem(key);
      window.scrollTo(0, parseInt(saved, 10) || 0);
    }
    function poll() {
      fetch(url, { cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (record) {
          var finished = record && record.finishedAt;
          if (seen === null) seen = finished;
          else if (finished && finished !== seen && record.state !== "building") {
            sessionStorage.setItem(key, String(window.scrollY));
            location.reload();
            return;
          }
          setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 2000); });
    }
    poll();
  }

  function enhanceDocs() {
    addHeadingLinks();
    addCopyButtons();
    renderDiagrams();
    watchBuilds();
  }

  // Content htmx swapped in gets the same treatment.
  document.addEventListener("htmx:afterSettle", function () {
    if (started) enhanceDocs();
  });

  if (media && media.addEventListener) {
    media.addEventListener("change", function () {
      label();
      if (!chosen()) renderDiagrams();
    });
  }
  if (document.readyState === "complete") sweepPictures();
  else window.addEventListener("load", sweepPictures);
  // This script is deferred: it runs before the deferred scripts after it (Mermaid, which
  // pages put in their content) and before DOMContentLoaded, which waits for all of them.
  var started = false;
  function ready() {
    if (started) return;
    started = true;
    label();
    enhanceDocs();
  }
  if (document.readyState === "complete") ready();
  else document.addEventListener("DOMContentLoaded", ready);
})();
