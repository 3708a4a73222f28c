// The permission screens (docs/administration.md): post only what changed, as one
// field of compact tokens ("+a12:3:rw", "-r4:3:ro"), never a field per checkbox.
"use strict";
(function () {
  const form = document.querySelector("[data-grants-form]");
  if (!form) return;
  const boxes = () => Array.from(form.querySelectorAll("input[data-grant]"));
  const pending = form.querySelector("[data-pending]");
  const changes = () =>
    boxes()
      .filter((box) => box.checked !== box.defaultChecked)
      .map((box) => (box.checked ? "+" : "-") + box.dataset.grant);
  const show = () => {
    const n = changes().length;
    pending.textContent = n ? n + " " + pending.dataset.label : "";
  };
  form.addEventListener("change", show);
  form.querySelectorAll("button[data-column]").forEach((button) => {
    button.addEventListener("click", () => {
      const column = boxes().filter(
        (b) => !b.disabled && b.closest("td").dataset.perm === button.dataset.column,
      );
      const all = column.every((b) => b.checked);
      column.forEach((b) => { b.checked = !all; });
      show();
    });
  });
  form.addEventListener("submit", () => {
    form.querySelector("input[name=changes]").value = changes().join(" ");
  });
  window.addEventListener("beforeunload", (event) => {
    if (changes().length && !form.dataset.submitting) event.preventDefault();
  });
  form.addEventListener("submit", () => { form.dataset.submitting = "1"; });
})();
