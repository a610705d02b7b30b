// Live updates without a manual refresh: poll the board's data version and, when it changes, fetch the
// current page again and swap its <main>. Pages work without this script; it only saves a reload.
(function () {
  "use strict";
  var body = document.body;
  var url = body && body.getAttribute("data-live-version-url");
  var main = document.querySelector("main[data-live]");
  var status = document.querySelector(".live-status");
  if (!url || !main || !window.fetch) { return; }
  var intervalMs = 10000, known = null, busy = false;
  function say(text) { if (status) { status.textContent = text; } }
  function refresh() {
    return fetch(window.location.href, { headers: { "Accept": "text/html" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("main[data-live]");
        if (fresh) {
          main.innerHTML = fresh.innerHTML; say("updated " + new Date().toLocaleTimeString());
          document.dispatchEvent(new CustomEvent("greenhack:updated"));  // screen.js keeps its page
        }
      });
  }
  function poll() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(url, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (v) {
        var version = v.data_version + ":" + v.board;
        if (known !== null && version !== known) { known = version; return refresh(); }
        known = version; say("live");
      })
      .catch(function () { say("offline, retrying"); })
      .then(function () { busy = false; });
  }
  poll();
  window.setInterval(poll, intervalMs);
  document.addEventListener("visibilitychange", poll);
})();
