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
  window.setTimeout(poll, 300);
})();
// An artifact's upload: the file goes as the raw body of a PUT, the CSRF
// token in a header, and the progress bar follows the bytes sent. A
// refusal is shown in the server's words (its problem detail).
(function () {
  var card = document.querySelector("[data-upload-url]");
  if (!card) return;
  var form = card.querySelector("form[data-upload]");
  var bar = card.querySelector("progress");
  var status = card.querySelector(".status-line");
  var limit = Number(card.getAttribute("data-limit"));
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = form.querySelector("input[type=file]").files[0];
    if (!file) return;
    if (limit > 0 && file.size > limit) {
      status.textContent = "The file is too large: at most " + limit + " bytes.";
      return;
    }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    status.textContent = "Uploading " + file.name + "…";
    var xhr = new XMLHttpRequest();
    xhr.open("PUT", card.getAttribute("data-upload-url"));
    xhr.setRequestHeader("X-CSRF-Token", form.querySelector("input[name=csrf]").value);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      bar.value = e.loaded / e.total;
      status.textContent = "Uploading " + file.name + ": " + Math.round(e.loaded / e.total * 100) + "%";
    });
    xhr.addEventListener("load", function () {
      button.disabled = false;
      if (xhr.status >= 200 && xhr.status < 300) {
        bar.value = 1;
        status.textContent = "Uploaded " + file.name + ".";
        window.location.reload();
        return;
      }
      var detail = "the server answered " + xhr.status;
      try { detail = JSON.parse(xhr.responseText).detail || detail; } catch (e) { /* not JSON */ }
      status.textContent = "The upload failed: " + detail;
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      status.textContent = "The upload failed: the connection was lost.";
    });
    xhr.send(file);
  });
})();
// Sortable tables: each heading marked data-sort becomes a button that
// sorts the rows by that column, numbers as numbers (a missing value,
// "—", last), text as text; pressing it again reverses the order, and
// aria-sort tells assistive technology the current order.
document.querySelectorAll("table[data-sortable]").forEach(function (table) {
  var heads = table.querySelectorAll("thead th");
  heads.forEach(function (th, col) {
    if (!th.hasAttribute("data-sort")) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var text = row.cells[col].textContent.trim();
        var n = Number(text);
        return { text: text, num: text !== "" && !isNaN(n) ? n : null };
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x.num === null && y.num === null) return (asc ? 1 : -1) * x.text.localeCompare(y.text);
        if (x.num === null) return 1;
        if (y.num === null) return -1;
        return asc ? x.num - y.num : y.num - x.num;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
