/* Helpline agent interface: keyboard shortcuts, list selection, dialogs.
 *
 * No inline script anywhere (the Content Security Policy forbids it): pages declare
 * what a key does with data attributes, this file wires them up.
 *   data-key="r"      on a link or button: pressing r activates it (zoom actions)
 *   data-nav="q"      on a link: "g" then q follows it
 *   data-row          on a table row with data-href: j/k move, Enter opens, x selects
 *   data-select-all   on a checkbox: (un)ticks every ticket checkbox of its table
 *   data-help-open    on a button: opens the shortcut help (also "?")
 *   data-dialog-close on a link in a dialog: closes the dialog instead of navigating
 */
(function () {
  "use strict";

  var pendingG = false;
  var current = -1;

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function openDialog(id) {
    var dialog = document.getElementById(id);
    if (dialog && !dialog.open) dialog.showModal();
    return dialog;
  }

  function toggleHelp() {
    var help = document.getElementById("help");
    if (!help) return;
    if (help.open) help.close(); else help.showModal();
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr[data-row]"));
  }

  function moveRow(step) {
    var all = rows();
    if (!all.length) return;
    if (current >= 0 && all[current]) all[current].classList.remove("current");
    current = Math.max(0, Math.min(all.length - 1, current + step));
    all[current].classList.add("current");
    all[current].scrollIntoView({ block: "nearest" });
  }

  function currentRow() {
    var all = rows();
    return current >= 0 ? all[current] : null;
  }

  function activate(el) {
    if (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA") {
      el.focus();
    } else {
      el.click();
    }
  }

  // The letter of a shortcut is the key's place on a Latin keyboard: with an
  // Arabic, Hebrew, Russian or Ukrainian layout, "j" is the key that would type "j"
  // (its code KeyJ), not the letter it types now.
  function shortcutKey(e) {
    if (e.key.length === 1 && e.key.charCodeAt(0) > 127 && /^Key[A-Z]$/.test(e.code)) {
      var letter = e.code.charAt(3);
      return e.shiftKey ? letter : letter.toLowerCase();
    }
    return e.key;
  }

  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.tagName === "TEXTAREA") {
      var form = e.target.form;
      if (form) { e.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (typing(e.target)) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    if (document.querySelector("dialog[open]") && e.key !== "?") return;

    var key = shortcutKey(e);
    if (pendingG) {
      pendingG = false;
      var nav = document.querySelector('[data-nav="' + key + '"]');
      if (nav) { e.preventDefault(); nav.click(); }
      return;
    }
    switch (key) {
      case "?": e.preventDefault(); toggleHelp(); return;
      case "/":
        var box = document.getElementById("search-input");
        if (box) { e.preventDefault(); box.focus(); box.select(); }
        return;
      case "g": pendingG = true; window.setTimeout(function () { pendingG = false; }, 1500); return;
      case "j": e.preventDefault(); moveRow(1); return;
      case "k": e.preventDefault(); moveRow(-1); return;
      case "Enter":
        var row = currentRow();
        if (row && row.dataset.href) { e.preventDefault(); window.location.href = row.dataset.href; }
        return;
      case "x":
        var selected = currentRow();
        var box2 = selected && selected.querySelector('input[type="checkbox"]');
        if (box2) { e.preventDefault(); box2.checked = !box2.checked; }
        return;
    }
    var target = document.querySelector('[data-key="' + CSS.escape(key) + '"]');
    if (target) { e.preventDefault(); activate(target); }
  });

  document.addEventListener("click", function (e) {
    var el = e.target.closest("[data-help-open]");
    if (el) { toggleHelp(); return; }
    var close = e.target.closest("[data-dialog-close]");
    if (close) {
      var dialog = close.closest("dialog");
      if (dialog) { e.preventDefault(); dialog.close(); }
      return;
    }
    var row = e.target.closest("tr[data-row]");
    if (row && !e.target.closest("a, input, button, label")) {
      var box = row.querySelector('input[type="checkbox"]');
      if (box) box.checked = !box.checked;
    }
  });

  document.addEventListener("change", function (e) {
    if (!e.target.matches("[data-select-all]")) return;
    var table = e.target.closest("table");
    table.querySelectorAll('tbody input[type="checkbox"]').forEach(function (box) {
      box.checked = e.target.checked;
    });
  });

  /* A form loaded into the action panel opens as a dialog. */
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "action-panel") {
      var dialog = openDialog("action-dialog");
      var first = dialog && dialog.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    }
  });
})();
