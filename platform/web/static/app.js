// Maestro dashboard: progressive enhancements only. Every page works
// without this script; it never reads or stores credentials.
"use strict";
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  if (!(form instanceof HTMLFormElement)) return;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    ev.preventDefault();
    return;
  }
  var busy = form.getAttribute("data-busy");
  if (busy) {
    // Long work (training, recommendations): show progress and keep the
    // form from being sent twice.
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    }
    var status = document.querySelector(".status-line");
    if (status) status.textContent = busy;
  }
});
document.addEventListener("focusin", function (ev) {
  var el = ev.target;
  if (el instanceof HTMLInputElement && el.hasAttribute("data-select-on-focus")) el.select();
});
