/* medcurate search: fetch the static JSON index (and its parts) once, filter it in the browser.
   Results are built with DOM methods and textContent only, never innerHTML, so titles and briefs
   from the web cannot inject markup. */
(function () {
  "use strict";
  var form = document.querySelector(".search-form");
  if (!form) { return; }
  var input = document.getElementById("search-q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var MAX_RESULTS = 50;
  var index = null;
  var loading = null;

  function fold(text) {
    return String(text || "").toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  }

  function fetchJson(url) {
    return fetch(url.href, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    });
  }

  /* index.json names the fields and the parts; the rows live in the parts (an index with "items"
     and no "parts" holds its rows itself). */
  function load() {
    if (!loading) {
      var url = new URL(form.getAttribute("data-index") || "index.json", document.baseURI);
      loading = fetchJson(url)
        .then(function (data) {
          var parts = (data.parts || []).map(function (name) { return fetchJson(new URL(name, url)); });
          return Promise.all(parts).then(function (loaded) {
            var rows = (data.items || []).slice();
            loaded.forEach(function (part) { rows = rows.concat(part.items || []); });
            return { fields: data.fields, items: rows };
          });
        })
        .then(function (data) {
          var fields = data.fields;
          index = data.items.map(function (row) {
            var entry = {};
            fields.forEach(function (name, i) { entry[name] = row[i]; });
            entry.hayTitle = fold(entry.title);
            entry.hay = fold([entry.title, entry.brand, entry.topics, entry.section, entry.text].join(" "));
            return entry;
          });
          return index;
        });
    }
    return loading;
  }

  function safePath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" ? url : "#";
  }

  function snippet(text, words) {
    var folded = fold(text);
    var at = -1;
    for (var i = 0; i < words.length && at < 0; i++) { at = folded.indexOf(words[i]); }
    var start = Math.max(0, at - 80);
    var piece = text.slice(start, start + 220);
    return (start > 0 ? "… " : "") + piece + (start + 220 < text.length ? " …" : "");
  }

  function render(results, words, query) {
    list.textContent = "";
    results.slice(0, MAX_RESULTS).forEach(function (entry) {
      var li = document.createElement("li");
      li.className = "item-card";
      var article = document.createElement("article");
      var h2 = document.createElement("h2");
      h2.className = "card-title";
      var a = document.createElement("a");
      a.href = safePath(entry.url);
      a.textContent = entry.title;
      h2.appendChild(a);
      var meta = document.createElement("p");
      meta.className = "meta";
      [entry.date, entry.brand, entry.section].forEach(function (part) {
        if (part) { var span = document.createElement("span"); span.textContent = part; meta.appendChild(span); }
      });
      var summary = document.createElement("p");
      summary.className = "summary";
      summary.textContent = snippet(entry.text || "", words);
      article.appendChild(h2);
      article.appendChild(meta);
      article.appendChild(summary);
      li.appendChild(article);
      list.appendChild(li);
    });
    var shown = Math.min(results.length, MAX_RESULTS);
    status.textContent = results.length === 0
      ? "No items match \u201c" + query + "\u201d."
      : results.length + " item" + (results.length === 1 ? "" : "s") + " match \u201c" + query + "\u201d" +
        (shown < results.length ? " (showing " + shown + ")" : "") + ".";
  }

  function search(query) {
    var words = fold(query).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    if (words.length === 0) { list.textContent = ""; status.textContent = ""; return; }
    status.textContent = "Searching…";
    load().then(function (entries) {
      var results = [];
      entries.forEach(function (entry) {
        var score = 0;
        for (var i = 0; i < words.length; i++) {
          if (entry.hay.indexOf(words[i]) < 0) { return; }
          score += entry.hayTitle.indexOf(words[i]) >= 0 ? 3 : 1;
        }
        results.push({ entry: entry, score: score });
      });
      results.sort(function (x, y) { return y.score - x.score || (x.entry.date < y.entry.date ? 1 : -1); });
      render(results.map(function (r) { return r.entry; }), words, query);
    }).catch(function (error) {
      status.textContent = "The search index could not be loaded (" + error.message + ").";
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var query = input.value.trim();
    var url = new URL(window.location.href);
    url.searchParams.set("q", query);
    window.history.replaceState(null, "", url.href);
    search(query);
  });
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { search(input.value.trim()); }, 150);
  });
  var initial = new URL(window.location.href).searchParams.get("q");
  if (initial) { input.value = initial; search(initial); }
}());
