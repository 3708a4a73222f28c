/* Helpline composing: templates go in at the cursor without losing typed text.
 *
 * Progressive enhancement of every form with a template picker (the reply, the note
 * and the forward forms, also inside the zoom's dialog).  Without this script the
 * "Insert template" and "Replace the whole text" buttons post the whole form and the
 * server answers with the typed text and the template in it, unsent.  With it:
 *   - choosing a template in the picker fetches it rendered for this ticket, in
 *     the language chosen beside it (select "lang"; empty: the customer's)
 *     (data-template-url) and inserts it at the cursor of the picker's text area
 *     (data-target), or where the agent's text goes (data-insert-at on the text
 *     area) if the agent has not clicked into it;
 *   - "Insert template" does the same; "Replace the whole text" replaces the text
 *     (a reply's with salutation, template, signature and quote);
 *   - the hidden "template" field names the template used (a reply carries its
 *     attachments);
 *   - a text area with data-insert-at (and no data-no-focus) gets the focus with
 *     the cursor there, after the salutation, when the page loads.
 * The insertion goes through the browser's editing command where there is one, so
 * Ctrl+Z takes it back.
 */
(function () {
  "use strict";

  var CURSOR = "helplineCursor";

  function focusSlot() {
    var slot = document.querySelector("textarea[data-insert-at]:not([data-no-focus])");
    if (!slot) return;
    var at = parseInt(slot.getAttribute("data-insert-at"), 10) || 0;
    slot.focus({ preventScroll: true });
    slot.setSelectionRange(at, at);
  }

  function remember(area) {
    area[CURSOR] = { start: area.selectionStart, end: area.selectionEnd };
  }

  ["select", "keyup", "mouseup", "input", "focusout"].forEach(function (name) {
    document.addEventListener(name, function (e) {
      if (e.target && e.target.tagName === "TEXTAREA") remember(e.target);
    });
  });

  function cursorOf(area) {
    if (area[CURSOR]) return area[CURSOR];
    var start = parseInt(area.getAttribute("data-insert-at") || "", 10);
    if (!isNaN(start)) return { start: start, end: start };
    return { start: area.value.length, end: area.value.length };
  }

  function edit(area, start, end, text) {
    area.focus();
    area.setSelectionRange(start, end);
    var done = false;
    try {
      done = document.execCommand("insertText", false, text);
    } catch (e) {
      done = false;
    }
    if (!done || area.value.slice(start, start + text.length) !== text) {
      area.setRangeText(text, start, end, "end");
    }
  }

  function pickerParts(picker) {
    var form = picker.closest("form");
    return {
      form: form,
      area: document.getElementById(picker.getAttribute("data-target")),
      select: picker.querySelector("select[name=pick]"),
      used: form && form.querySelector("input[name=template]"),
      files: form && form.querySelector("[data-template-files]")
    };
  }

  function use(picker, mode) {
    var p = pickerParts(picker);
    if (!p.area || !p.select || !p.select.value) return;
    var url = picker.getAttribute("data-template-url");
    url += (url.indexOf("?") < 0 ? "?" : "&") + "template=" + encodeURIComponent(p.select.value);
    var language = picker.querySelector("select[name=lang]");
    if (language) url += "&lang=" + encodeURIComponent(language.value);
    picker.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        if (mode === "replace") {
          var whole = data.body !== undefined ? data.body : data.text;
          edit(p.area, 0, p.area.value.length, whole);
          var at = data.insert_at !== undefined ? data.insert_at : whole.length;
          p.area.setSelectionRange(at, at);
        } else {
          var c = cursorOf(p.area);
          edit(p.area, c.start, c.end, data.text);
        }
        remember(p.area);
        if (p.used) p.used.value = String(data.template);
        if (p.files) {
          p.files.querySelector("span").textContent = data.attachments.join(", ");
          p.files.hidden = data.attachments.length === 0;
        }
      })
      .catch(function () {
        // Fall back to the server round trip, which keeps the typed text too.
        var button = picker.querySelector('button[value="' + mode + '"]');
        if (button && p.form) p.form.requestSubmit(button);
      })
      .finally(function () {
        picker.removeAttribute("aria-busy");
      });
  }

  document.addEventListener("change", function (e) {
    var picker = e.target.closest && e.target.closest(".template-picker");
    if (picker && e.target.name === "pick") use(picker, "insert");
  });
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[name=use_template]");
    var picker = button && button.closest(".template-picker");
    if (!picker) return;
    e.preventDefault();
    use(picker, button.value);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSlot);
  } else {
    focusSlot();
  }
})();
