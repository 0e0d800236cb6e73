// The editor's desk keys, on any page whose <main> says data-keys="list" (inbox, search results,
// batches) or data-keys="review" (the review screen). Without JavaScript every action is still a
// plain form; these keys only press the same forms, or post the same fields with fetch.
//   j / k  next / previous       a  accept the top suggestion    1-9  toggle the n-th suggestion
//   e      edit the title        p  publish (then the next item) x    reject (then the next item)
//   s      tick for bulk (list)  u  undo your last decision      ?    show the keys
// The review form sends only the fields the editor changed, and the fields derived from the title
// (or the brief) follow it as it is typed, while they still equal what it derived.
(function () {
  "use strict";

  var main = document.querySelector("main[data-keys]");
  if (!main) {
    return;
  }
  var mode = main.dataset.keys;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function post(url, fields) {
    var body = new URLSearchParams(fields || {});
    body.set("csrf_token", csrfToken());
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() },
    }).then(function (response) {
      if (!response.ok) {
        return response.text().then(function (text) {
          var detail = text;
          try { detail = JSON.parse(text).detail; } catch (e) { /* an HTML page */ }
          throw new Error(String(detail).replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").slice(0, 300));
        });
      }
      return response;
    });
  }

  function say(message, isError) {
    var box = document.querySelector(".notice");
    if (!box) {
      box = document.createElement("div");
      box.className = "notice";
      box.setAttribute("role", isError ? "alert" : "status");
      main.prepend(box);
    }
    box.classList.toggle("error-notice", !!isError);
    box.textContent = message;
  }

  function withNotice(url, message) {
    var target = new URL(url, window.location.href);
    target.searchParams.set("notice", message);
    return target.pathname + target.search + target.hash;
  }

  function typing(element) {
    return element instanceof HTMLElement &&
      (element.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName));
  }

  function toggleHelp() {
    var help = document.getElementById("keys-help");
    if (help) {
      help.open = !help.open;
    }
  }

  function undoLast(url, fields) {
    post(url, fields)
      .then(function (response) { window.location.assign(response.url); })
      .catch(function (error) { say(error.message, true); });
  }

  // --- lists: the inbox, search results, a batch ----------------------------------------------
  function listKeys() {
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
    var storeKey = "desk-cursor:" + window.location.pathname + window.location.search.replace(/[?&]notice=[^&]*/, "");
    var cursor = Math.min(parseInt(window.sessionStorage.getItem(storeKey) || "0", 10) || 0, Math.max(rows.length - 1, 0));

    function show() {
      rows.forEach(function (row, index) {
        row.classList.toggle("current", index === cursor);
      });
      if (rows[cursor]) {
        rows[cursor].scrollIntoView({ block: "nearest" });
      }
      window.sessionStorage.setItem(storeKey, String(cursor));
    }

    function current() {
      return rows[cursor];
    }

    function act(path, fields, done) {
      var row = current();
      if (!row) {
        return;
      }
      post("/items/" + row.dataset.id + path, fields)
        .then(function () { window.location.assign(withNotice(window.location.href, done + " (#" + row.dataset.id + ")")); })
        .catch(function (error) { say(error.message, true); });
    }

    show();
    return {
      j: function () { cursor = Math.min(cursor + 1, rows.length - 1); show(); },
      k: function () { cursor = Math.max(cursor - 1, 0); show(); },
      Enter: function () { if (current()) { window.location.assign("/items/" + current().dataset.id); } },
      o: function () { if (current()) { window.location.assign("/items/" + current().dataset.id); } },
      e: function () { if (current()) { window.location.assign("/items/" + current().dataset.id + "#title"); } },
      a: function () {
        var row = current();
        if (row && row.dataset.top) {
          act("/decisions", { kind: "topic", label: row.dataset.top, action: "accept" }, "Accepted " + row.dataset.top);
        } else {
          say("No pending suggestion on this item.", true);
        }
      },
      p: function () { act("/state/publish", {}, "Published"); },
      x: function () { act("/state/reject", {}, "Rejected"); },
      s: function () {
        var box = current() && current().querySelector("input[name=ids]");
        if (box) { box.checked = !box.checked; }
      },
      u: function () { undoLast("/undo", { back: window.location.pathname + window.location.search.replace(/[?&]notice=[^&]*/, "") }); },
    };
  }

  // --- the review screen ---------------------------------------------------------------------
  function submitForm(form) {
    if (!form) {
      return false;
    }
    var next = form.querySelector("[data-next]");
    if (next) {
      next.disabled = false;
    }
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    return true;
  }

  function reviewForm() {
    var form = document.getElementById("review");
    if (!form) {
      return;
    }
    var title = document.getElementById("title");
    var brief = document.getElementById("brief");
    var cut = document.getElementById("cut-length");
    var timer = null;

    function unchanged(element) {
      if (element.type === "hidden" || !element.name) {
        return false;
      }
      if (element.type === "checkbox" || element.type === "radio") {
        return false; // checked as a group below
      }
      if (element.tagName === "SELECT") {
        return Array.prototype.every.call(element.options, function (o) { return o.selected === o.defaultSelected; });
      }
      return element.value === element.defaultValue;
    }

    // Only what the editor changed is sent: a concurrent edit of another field is never overwritten.
    form.addEventListener("submit", function () {
      var boxes = Array.prototype.filter.call(form.elements, function (e) { return e.name === "offerings"; });
      var boxesSame = boxes.every(function (b) { return b.checked === b.defaultChecked; });
      Array.prototype.forEach.call(form.elements, function (element) {
        if (unchanged(element) || (boxesSame && (element.name === "offerings" || element.name === "offerings_shown"))) {
          element.disabled = true;
        }
      });
    });

    Array.prototype.forEach.call(document.querySelectorAll("[data-follows]"), function (element) {
      element.addEventListener("input", function () { delete element.dataset.follows; });
    });

    function derive() {
      post(form.dataset.derive, { title: title ? title.value : "", brief: brief ? brief.value : "" })
        .then(function (response) { return response.json(); })
        .then(function (values) {
          Object.keys(values.fields).forEach(function (name) {
            Array.prototype.forEach.call(document.querySelectorAll("[data-follows][name='" + name + "']"), function (element) {
              element.value = values.fields[name];
            });
          });
          if (cut) {
            cut.textContent = String(values.length);
          }
        })
        .catch(function (error) { say(error.message, true); });
    }

    [title, brief].forEach(function (element) {
      if (element) {
        element.addEventListener("input", function () {
          window.clearTimeout(timer);
          timer = window.setTimeout(derive, 250);
        });
      }
    });
    if (window.location.hash === "#title" && title) {
      title.focus();
      title.select();
    }
  }

  function reviewKeys() {
    var itemId = main.dataset.item;
    reviewForm();
    function follow(key) {
      var link = document.querySelector("a[data-key='" + key + "']");
      if (link) { window.location.assign(link.href); }
    }
    function toggle(n) {
      var form = document.querySelector("#topics form[data-toggle='" + n + "']");
      if (!submitForm(form)) { say("No suggestion " + n + ".", true); }
    }
    var keys = {
      j: function () { follow("j"); },
      k: function () { follow("k"); },
      a: function () {
        var form = document.querySelector("#topics .suggestion.pending form[data-toggle]");
        if (!submitForm(form)) { say("No pending suggestion to accept.", true); }
      },
      e: function () {
        var title = document.getElementById("title");
        if (title) { title.focus(); title.select(); }
      },
      p: function () {
        if (!submitForm(document.querySelector("form[data-key='p']"))) { say("This item cannot be published from here (editors publish).", true); }
      },
      x: function () {
        if (!submitForm(document.querySelector("form[data-key='x']"))) { say("This item cannot be rejected from here.", true); }
      },
      // the last decision wherever it was: after `p` it is the publish of the item before this one
      u: function () { undoLast("/undo", { back: "/items/" + itemId + "#history" }); },
    };
    for (var n = 1; n <= 9; n += 1) {
      keys[String(n)] = toggle.bind(null, n);
    }
    return keys;
  }

  var keys = mode === "review" ? reviewKeys() : listKeys();
  keys["?"] = toggleHelp;

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) {
      return;
    }
    if (typing(event.target)) {
      if (event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    if (event.key === "Enter" && /^(A|BUTTON|SUMMARY)$/.test(event.target.tagName)) {
      return; // Enter on a link or button does what it does
    }
    var handler = keys[event.key];
    if (handler) {
      event.preventDefault();
      handler();
    }
  });
})();
