/* Helpline drafts: the reply, note and forward forms save themselves as the agent
 * types.
 *
 * A form with data-draft-url and data-draft-kind (also inside the zoom's dialog)
 * sends all its fields as JSON to data-draft-url two seconds after the last change,
 * and at once when the page is hidden (another tab, navigation, closing), with the
 * form's CSRF token.  The status next to "Save draft" says when it was saved, or
 * why not (too large, logged out, no longer allowed).  Submitting the form (Send,
 * Save draft, Discard draft) stops the saving, after a save on its way has
 * arrived: the server deletes the draft with the sent message.  Without this
 * script "Save draft" posts the form.
 */
(function () {
  "use strict";

  var DELAY = 2000;
  var state = new WeakMap();

  function info(form) {
    var s = state.get(form);
    if (!s) {
      s = { timer: null, dirty: false, stopped: false, inflight: null, resubmit: false };
      state.set(form, s);
    }
    return s;
  }

  function fieldsOf(form) {
    var fields = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === "file" || el.type === "submit" ||
          el.type === "button" || el.name === "csrfmiddlewaretoken") return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      fields[el.name] = el.value;
    });
    return fields;
  }

  function status(form, text, isError) {
    var el = form.querySelector("[data-draft-status]");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("error", !!isError);
  }

  function save(form, leaving) {
    var s = info(form);
    clearTimeout(s.timer);
    s.timer = null;
    if (!s.dirty || s.stopped) return;
    s.dirty = false;
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    var body = JSON.stringify({
      kind: form.getAttribute("data-draft-kind"),
      fields: fieldsOf(form)
    });
    s.inflight = fetch(form.getAttribute("data-draft-url"), {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!leaving && body.length < 60000,
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": token ? token.value : ""
      },
      body: body
    })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) throw new Error(data.error || String(response.status));
          form.setAttribute("data-draft-saved", data.saved);
          var el = form.querySelector("[data-draft-status]");
          status(form, ((el && el.getAttribute("data-saved-label")) || "Draft saved at") + " " + data.time);
        });
      })
      .catch(function (error) {
        s.dirty = true;  // try again on the next change
        status(form, error.message, true);
      })
      .finally(function () {
        s.inflight = null;
      });
  }

  function changed(e) {
    var form = e.target && e.target.form;
    if (!form || !form.hasAttribute("data-draft-url")) return;
    var s = info(form);
    if (s.stopped) return;
    s.dirty = true;
    clearTimeout(s.timer);
    s.timer = setTimeout(function () { save(form, false); }, DELAY);
  }

  document.addEventListener("input", changed);
  document.addEventListener("change", changed);
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute || !form.hasAttribute("data-draft-url")) return;
    var s = info(form);
    clearTimeout(s.timer);
    s.stopped = true;
    if (s.inflight && !s.resubmit) {
      // A save on its way could arrive after the send and bring the draft back:
      // send once it has arrived.
      e.preventDefault();
      var submitter = e.submitter;
      s.inflight.finally(function () {
        s.resubmit = true;
        if (submitter) form.requestSubmit(submitter); else form.requestSubmit();
      });
    }
  });

  function saveAll() {
    document.querySelectorAll("form[data-draft-url]").forEach(function (form) {
      save(form, true);
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") saveAll();
  });
  window.addEventListener("pagehide", saveAll);
})();
