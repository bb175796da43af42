// aduan staff inbox: live list updates over server-sent events.
// The server renders every row (escaped); this script only swaps the list's
// HTML for the server's fresh rendering of the same filtered view.
(function () {
  "use strict";
  var list = document.querySelector("[data-live-list]");
  if (!list || !window.EventSource) { return; }
  var status = document.getElementById("live-status");
  var source = new EventSource("/inbox/events");
  var busy = false;
  function refresh() {
    if (busy) { return; }
    busy = true;
    var url = new URL(window.location.href);
    url.searchParams.delete("cursor");
    fetch(url.toString(), { headers: { "X-Fragment": "list" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null && !new URL(window.location.href).searchParams.get("cursor")) {
          list.innerHTML = html;
        } else if (status) {
          status.hidden = false;
        }
      })
      .finally(function () { busy = false; });
  }
  source.addEventListener("activity", refresh);
})();
