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
// A training job's page follows the job: the progress bar and its words
// are refreshed from the job's state until it ends, then the page shows
// the trained version (or the failure in plain words).
(function () {
  var card = document.querySelector("[data-job-url]");
  if (!card) return;
  var url = card.getAttribute("data-job-url");
  var bar = card.querySelector("progress");
  var state = card.querySelector("[data-testid=job-state]");
  function show(text) { if (state) state.textContent = text; }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) {
        if (!res.ok) throw new Error("the job could not be read (" + res.status + ")");
        return res.json();
      })
      .then(function (body) {
        var job = body.job;
        if (bar) bar.value = job.progress;
        if (job.status === "succeeded") {
          show("Done: version " + job.model.version + " is trained.");
          window.location.assign(card.getAttribute("data-done-url") + "?trained=" + job.model.version);
          return;
        }
        if (job.status === "failed") {
          show("The training failed: " + job.error);
          return;
        }
        show(job.status + ", " + Math.round(job.progress * 100) + "% done");
        window.setTimeout(poll, 500);
      })
      .catch(function (err) { show("Progress unavailable: " + err.message + ". Reload the page to try again."); });
  }
  var done = state && /^(Done|The training failed)/.test(state.textContent);
  if (!done) window.setTimeout(poll, 300);
})();
