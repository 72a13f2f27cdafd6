// The overview's live interceptions: each sale the gate blocks arrives on the server's event
// stream as an `interception` event (a LiveItem, in the page's language) and is added at the
// top, marked new, without a reload. Text goes in as text, never as markup. The browser's
// EventSource reconnects by itself, sending the last event's id, so none is missed in a
// short outage.
(function () {
  "use strict";
  var list = document.getElementById("live-interceptions");
  if (!list || !window.EventSource) {
    return;
  }
  var counter = document.getElementById("live-new");
  var today = document.getElementById("live-today");
  var empty = document.getElementById("live-empty");
  var max = parseInt(list.getAttribute("data-max"), 10) || 50;
  var newLabel = list.getAttribute("data-new-label") || "";
  var settlementLabel = list.getAttribute("data-settlement-label") || "";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  function link(cls, href, text) {
    var a = el("a", cls, text);
    a.setAttribute("href", href);
    return a;
  }

  function add(item) {
    if (list.querySelector('[data-id="' + CSS.escape(item.id) + '"]')) {
      return;
    }
    var li = el("li", "live-item new");
    li.setAttribute("data-id", item.id);
    li.appendChild(el("time", null, item.time));
    li.appendChild(el("span", "badge out-rejected", item.reason));
    li.appendChild(link("inst", item.institution_url, item.institution));
    li.appendChild(link("mono", item.code_url, item.code));
    li.appendChild(el("span", "num", item.amount));
    if (item.settlement) {
      li.appendChild(el("span", "muted", settlementLabel + " " + item.settlement));
    }
    li.appendChild(el("span", "badge new", newLabel));
    list.insertBefore(li, list.firstChild);
    while (list.children.length > max) {
      list.removeChild(list.lastChild);
    }
    [counter, today].forEach(function (c) {
      if (c) {
        // Counts are shown grouped (1,234): read them back without the commas.
        var n = parseInt(c.textContent.replace(/[^0-9]/g, ""), 10) || 0;
        c.textContent = (n + 1).toLocaleString("en-US");
      }
    });
    if (empty) {
      empty.hidden = true;
    }
  }

  var stream = new EventSource(list.getAttribute("data-stream"));
  stream.addEventListener("interception", function (e) {
    try {
      add(JSON.parse(e.data));
    } catch (err) {
      // A malformed event is skipped; the next one still shows.
    }
  });
})();
