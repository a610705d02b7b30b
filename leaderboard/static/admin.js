// The admin's task page follows its task: GET the task's API address (the session cookie may read it) every
// second while it is queued or running, and show its status, progress, result or error.
(function () {
  "use strict";
  var box = document.querySelector("[data-task-url]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-task-url");
  function show(task) {
    box.querySelector(".task-status").textContent = task.status;
    box.querySelector(".task-count").textContent = task.done + (task.total !== null ? " of " + task.total : "");
    var bar = box.querySelector(".task-progress");
    if (task.total) { bar.max = task.total; bar.value = task.done; }
    var error = box.querySelector(".task-error");
    error.textContent = task.error || ""; error.hidden = !task.error;
    var result = box.querySelector(".task-result");
    if (task.result !== null) { result.textContent = JSON.stringify(task.result, null, 2); result.hidden = false; }
    return task.status === "queued" || task.status === "running";
  }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (task) { if (show(task)) { window.setTimeout(poll, 1000); } })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
