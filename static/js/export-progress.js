// Follows the building of a space's archive: polls the job's JSON status and updates the
// progress bar and the live region; reloads the page once the archive is ready or failed.
// Without JavaScript the page offers a "Mettre à jour" link instead.
(function () {
  "use strict";
  var root = document.querySelector("[data-export-status]");
  if (!root) return;
  var url = root.getAttribute("data-export-status");
  var bar = root.querySelector("progress");
  var text = root.querySelector("[data-export-text]");
  var delay = 1000;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (status) {
        if (status.state === "ready" || status.state === "failed" || status.state === "expired") {
          window.location.reload();
          return;
        }
        bar.value = status.percent;
        bar.textContent = status.percent + " %";
        text.textContent = status.label + " : " + status.done + " fichier(s) sur " + status.total +
          " (" + status.percent + " %)";
        delay = Math.min(delay * 1.5, 5000);
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(poll, delay);
      });
  }
  window.setTimeout(poll, delay);
})();
