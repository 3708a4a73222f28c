/* Helpline composing: templates go in at the cursor without losing typed text.
 *
 * Progressive enhancement of the reply form (reply.html).  Without this script the
 * "Insert template" and "Replace the whole text" buttons post the whole form and the
 * server answers with the typed text and the template in it.  With it:
 *   - choosing a template in the picker fetches it rendered for this reply
 *     (data-template-url) and inserts it at the cursor, or where the agent's text
 *     goes (data-insert-at on the text area) if the agent has not clicked into it;
 *   - "Insert template" does the same; "Replace the whole text" replaces the text
 *     with salutation, template, signature and quote;
 *   - the hidden "template" field names the template used, whose attachments the
 *     reply carries;
 *   - a text area with data-insert-at (reply, new email ticket) gets the focus with
 *     the cursor there, after the salutation.
 * The insertion goes through the browser's editing command where there is one, so
 * Ctrl+Z takes it back.
 */
(function () {
  "use strict";

  // The agent writes at once, after the salutation (data-insert-at), in any form
  // whose text area says where.
  var slot = document.querySelector("textarea[data-insert-at]");
  if (slot && !slot.hasAttribute("data-no-focus")) {
    var at = parseInt(slot.getAttribute("data-insert-at"), 10) || 0;
    slot.focus({ preventScroll: true });
    slot.setSelectionRange(at, at);
  }

  var form = document.getElementById("compose");
  var picker = form && form.querySelector(".template-picker");
  var body = form && form.querySelector("textarea[name=body]");
  if (!picker || !body) return;
  var select = picker.querySelector("select[name=pick]");
  var used = form.querySelector("input[name=template]");
  var files = document.getElementById("template-files");
  var start = parseInt(body.getAttribute("data-insert-at") || "", 10);
  var cursor = isNaN(start) ? null : { start: start, end: start };

  function remember() {
    cursor = { start: body.selectionStart, end: body.selectionEnd };
  }
  ["select", "keyup", "mouseup", "input", "blur"].forEach(function (name) {
    body.addEventListener(name, remember);
  });

  function insert(text) {
    var at = cursor || { start: body.value.length, end: body.value.length };
    body.focus();
    body.setSelectionRange(at.start, at.end);
    var done = false;
    try {
      done = document.execCommand("insertText", false, text);
    } catch (e) {
      done = false;
    }
    if (!done || body.value.slice(at.start, at.start + text.length) !== text) {
      body.setRangeText(text, at.start, at.end, "end");
    }
    remember();
  }

  function replaceAll(text, insertAt) {
    body.focus();
    body.select();
    var done = false;
    try {
      done = document.execCommand("insertText", false, text);
    } catch (e) {
      done = false;
    }
    if (!done || body.value !== text) body.value = text;
    body.setSelectionRange(insertAt, insertAt);
    remember();
  }

  function showFiles(names) {
    if (!files) return;
    files.querySelector("span").textContent = names.join(", ");
    files.hidden = names.length === 0;
  }

  function use(mode) {
    if (!select.value) return;
    var url = picker.getAttribute("data-template-url");
    url += (url.indexOf("?") < 0 ? "?" : "&") + "template=" + encodeURIComponent(select.value);
    picker.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        if (mode === "replace") replaceAll(data.body, data.insert_at);
        else insert(data.text);
        used.value = String(data.template);
        showFiles(data.attachments);
      })
      .catch(function () {
        // Fall back to the server round trip, which keeps the typed text too.
        var button = picker.querySelector('button[value="' + mode + '"]');
        if (button) form.requestSubmit(button);
      })
      .finally(function () {
        picker.removeAttribute("aria-busy");
      });
  }

  select.addEventListener("change", function () { use("insert"); });
  picker.querySelectorAll("button[name=use_template]").forEach(function (button) {
    button.addEventListener("click", function (e) {
      e.preventDefault();
      use(button.value);
    });
  });
})();
