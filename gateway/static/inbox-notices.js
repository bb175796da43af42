// aduan staff inbox: keeps the header's notification count current.
// On the list page the list's own event stream (inbox.js) already listens:
// the count is fetched when that script refreshes the list. Elsewhere this
// script listens to the same stream itself. The count comes from the server
// as JSON; only a number is written into the page.
(function () {
  "use strict";
  var link = document.getElementById("nav-notifications");
  if (!link || !window.fetch) { return; }
  var label = link.getAttribute("data-label") || "";
  var busy = false;
  function show(count) {
    while (link.firstChild) { link.removeChild(link.firstChild); }
    link.appendChild(document.createTextNode(label));
    if (count > 0) {
      var span = document.createElement("span");
      span.className = "notice-count";
      span.textContent = "(" + String(count) + ")";
      link.appendChild(document.createTextNode(" "));
      link.appendChild(span);
    }
  }
  var again = false;
  function update() {
    if (busy) { again = true; return; }  // fetched again once this one is done
    busy = true;
    again = false;
    fetch("/inbox/notifications/count", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && typeof data.unread === "number") { show(data.unread); }
      })
      .catch(function () {})
      .finally(function () {
        busy = false;
        if (again) { update(); }
      });
  }
  var list = document.querySelector("[data-live-list]");
  if (list && window.MutationObserver) {
    var observer = new MutationObserver(update);
    observer.observe(list, { childList: true });
    var status = document.getElementById("live-status");
    if (status) { observer.observe(status, { attributes: true }); }
    return;
  }
  if (!window.EventSource) { return; }
  var source = new EventSource("/inbox/events");
  // The stream's baseline is fixed before it opens: the count read on opening
  // covers what happened while the page loaded, events cover the rest.
  source.addEventListener("open", update);
  source.addEventListener("activity", update);
  window.addEventListener("pagehide", function () { source.close(); });
})();
