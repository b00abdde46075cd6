// Running runs on the runs page: every second, their state and counts from /api/runs/ID, in
// place (the search, the sort and the scroll position stay), until they finish.
(function () {
  "use strict";
  function num(v) { return v == null ? "" : Number(v).toLocaleString("en-US"); }
  function poll(row) {
    fetch("/api/runs/" + encodeURIComponent(row.dataset.run), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (run) {
        if (!run) return;
        row.querySelector("[data-field=state]").textContent = run.state || "";
        ["rows_in", "rows_silver", "rows_quarantined", "rows_loaded"].forEach(function (f) {
          row.querySelector("[data-field=" + f + "]").textContent = num(run[f]);
        });
        var badge = row.querySelector("[data-field=outcome]");
        badge.textContent = run.outcome;
        badge.className = "badge " + run.outcome.toLowerCase();
        if (run.status === "RUNNING") {
          setTimeout(function () { poll(row); }, 1000);
        } else {
          row.removeAttribute("data-running");
          row.querySelector("[data-field=duration_s]").textContent =
            run.duration_s == null ? "" : run.duration_s.toFixed(2) + " s";
        }
      });
  }
  document.querySelectorAll("tr[data-running]").forEach(function (row) {
    setTimeout(function () { poll(row); }, 1000);
  });
})();
