// Portico's small client script: the theme switch. Everything else works without it.
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

  if (media && media.addEventListener) media.addEventListener("change", label);
  if (document.readyState === "complete") sweepPictures();
  else window.addEventListener("load", sweepPictures);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", label);
  else label();
})();
