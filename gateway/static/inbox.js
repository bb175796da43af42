// aduan staff inbox: enhancements of pages that work without this script.
// - the list refreshes itself on server-sent events (the server renders every
//   row, escaped; this only swaps in its fresh rendering of the same view);
// - the filter bar starts unfolded on wide screens (it is folded in the HTML,
//   as phones want it);
// - keys on the list: j / ArrowDown next row, k / ArrowUp previous, Enter
//   opens, / searches, ? shows the keys; never while typing in a field;
// - the complaint page's canned-reply picker inserts the reply at once.
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // ------------------------------------------------------------ filter bar
  var filters = document.querySelector("[data-filters]");
  if (filters && window.matchMedia && window.matchMedia("(min-width: 37.5625rem)").matches) {
    filters.open = true;
  }

  // ---------------------------------------------------------- keyboard nav
  var list = document.querySelector("[data-live-list]");
  var currentHref = null;

  function rows() {
    return list ? Array.prototype.slice.call(list.querySelectorAll("tr[data-row]")) : [];
  }
  function linkOf(row) { return row.querySelector("a.row-link"); }
  function currentIndex(all) {
    for (var i = 0; i < all.length; i++) {
      var link = linkOf(all[i]);
      if (link && link.getAttribute("href") === currentHref) { return i; }
    }
    return -1;
  }
  function mark(all, index) {
    all.forEach(function (row, i) {
      if (i === index) {
        row.classList.add("kb-current");
        row.setAttribute("aria-current", "true");
      } else {
        row.classList.remove("kb-current");
        row.removeAttribute("aria-current");
      }
    });
  }
  function select(index, focus) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(all.length - 1, index));
    var link = linkOf(all[index]);
    currentHref = link ? link.getAttribute("href") : null;
    mark(all, index);
    if (focus && link) {
      link.focus();
      all[index].scrollIntoView({ block: "nearest" });
    }
  }
  function move(step) {
    var all = rows();
    var index = currentIndex(all);
    select(index < 0 ? 0 : index + step, true);
  }

  var help = document.getElementById("keys-help");
  var helpButton = document.querySelector("[data-keys-open]");
  function showHelp() {
    if (help && typeof help.showModal === "function" && !help.open) { help.showModal(); }
  }
  if (helpButton && help && typeof help.showModal === "function") {
    helpButton.hidden = false;
    helpButton.addEventListener("click", showHelp);
  }

  // Enter opens the current row only when nothing else has the focus (a
  // focused link, button or summary keeps its own Enter).
  function onPage() {
    var active = document.activeElement;
    return !active || active === document.body || active.id === "main";
  }

  if (list) {
    list.addEventListener("focusin", function (event) {
      var row = event.target.closest ? event.target.closest("tr[data-row]") : null;
      if (row) { select(rows().indexOf(row), false); }
    });
    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (typing(event.target) || (help && help.open)) { return; }
      var inList = list.contains(document.activeElement);
      var key = event.key;
      if (key === "j" || (key === "ArrowDown" && inList)) {
        event.preventDefault();
        move(1);
      } else if (key === "k" || (key === "ArrowUp" && inList)) {
        event.preventDefault();
        move(-1);
      } else if (key === "Enter" && currentHref && onPage()) {
        event.preventDefault();
        window.location.href = currentHref;
      } else if (key === "/") {
        var search = document.getElementById("q");
        if (search) {
          event.preventDefault();
          if (filters) { filters.open = true; }
          search.focus();
          search.select();
        }
      } else if (key === "?") {
        event.preventDefault();
        showHelp();
      }
    });
  }

  // ------------------------------------------------------------ live list
  if (list && window.EventSource) {
    var status = document.getElementById("live-status");
    // The mark the list was rendered with: activity after it is announced even
    // when it landed before this stream was open.
    var since = list.getAttribute("data-activity-mark") || "";
    var source = new EventSource("/inbox/events" + (since ? "?since=" + encodeURIComponent(since) : ""));
    var busy = false;
    var again = false;
    var refresh = function () {
      if (busy) { again = true; return; }  // fetched again once this one is done
      busy = true;
      again = false;
      var url = new URL(window.location.href);
      url.searchParams.delete("cursor");
      fetch(url.toString(), { headers: { "X-Fragment": "list" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html !== null && !new URL(window.location.href).searchParams.get("cursor")) {
            var hadFocus = list.contains(document.activeElement);
            list.innerHTML = html;
            var all = rows();
            var index = currentIndex(all);
            if (index >= 0) { select(index, hadFocus); }
          } else if (status) {
            status.hidden = false;
          }
        })
        .finally(function () {
          busy = false;
          if (again) { refresh(); }
        });
    };
    source.addEventListener("activity", refresh);
  }

  // -------------------------------------------------------- canned replies
  var picker = document.querySelector("[data-canned-picker]");
  var box = document.getElementById("reply-text");
  if (picker && box) {
    var choice = picker.querySelector("select");
    var lastInserted = null;
    var insert = function () {
      var option = choice.options[choice.selectedIndex];
      var text = option ? option.getAttribute("data-text") : null;
      if (!text) { return; }
      var value = box.value;
      if (!value.trim() || value === lastInserted) {
        box.value = text;
      } else {
        var start = box.selectionStart, end = box.selectionEnd;
        var before = value.slice(0, start), after = value.slice(end);
        var piece = (before && !/\n$/.test(before) ? "\n\n" : "") + text + (after ? "\n\n" : "");
        box.value = before + piece + after;
      }
      lastInserted = box.value;
      var missing = document.querySelector("[data-canned-missing]");
      if (missing) {
        missing.textContent = option.getAttribute("data-missing") || "";
        missing.hidden = !missing.textContent;
      }
      box.rows = Math.max(box.rows, 8);
      box.focus();
    };
    choice.addEventListener("change", insert);
    picker.addEventListener("submit", function (event) {
      event.preventDefault();
      insert();
    });
  }
})();
