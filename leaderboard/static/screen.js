// The projector view (/screen): turn the board's pages every data-page-seconds, and count down to the freeze
// and the close against the server's clock (data-server-now), not the projector laptop's. live.js swaps the
// content when the data changes and says so with a "greenhack:updated" event; the current page is kept.
(function () {
  "use strict";
  var page = 0, offsetMs = 0, seconds = 15, timer = null;
  function setup() {
    var head = document.querySelector("[data-server-now]");
    if (!head) { return; }
    offsetMs = Date.parse(head.getAttribute("data-server-now")) - Date.now();
    seconds = parseInt(head.getAttribute("data-page-seconds"), 10) || 15;
  }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function left(ms) {
    var s = Math.max(0, Math.floor(ms / 1000)), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60);
    if (d > 0) { return d + " d " + h + " h"; }
    if (h > 0) { return h + " h " + two(m) + " min"; }
    return m + " min " + two(s % 60) + " s";
  }
  function tick() {
    var now = Date.now() + offsetMs;
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var ms = Date.parse(el.getAttribute("data-until")) - now;
      el.textContent = ms > 0 ? " in " + left(ms) : " now";
    });
  }
  function show() {
    var pages = document.querySelectorAll(".screen-page");
    var indicator = document.querySelector(".page-indicator");
    if (pages.length === 0) { return; }
    page = page % pages.length;
    pages.forEach(function (p, k) { p.hidden = k !== page; });
    if (indicator) { indicator.textContent = pages.length > 1 ? " · page " + (page + 1) + " of " + pages.length : ""; }
  }
  function restart() {
    if (timer !== null) { window.clearInterval(timer); }
    timer = window.setInterval(function () { page += 1; show(); }, seconds * 1000);
  }
  function start() { setup(); show(); tick(); restart(); }
  document.addEventListener("greenhack:updated", function () { setup(); show(); tick(); });
  window.setInterval(tick, 1000);
  start();
})();
