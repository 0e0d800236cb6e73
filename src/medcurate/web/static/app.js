// medcurate's few lines of htmx-like behaviour, written here so nothing is fetched from elsewhere:
// - <form data-swap="#id">: submitted with fetch; the HTML answer replaces the element #id.
// - <form data-confirm="...">: asks before submitting.
// - <div data-poll="/url" data-interval="ms">: its content is refreshed from /url until it holds [data-done].
// - <input type="checkbox" data-select-all="selector">: ticks or unticks every box the selector finds.
// Every fetch sends the page's CSRF token in the X-CSRF-Token header.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function showError(message) {
    var box = document.querySelector(".notice.error-notice");
    if (!box) {
      box = document.createElement("div");
      box.className = "notice error-notice";
      box.setAttribute("role", "alert");
      document.querySelector("main").prepend(box);
    }
    box.textContent = message;
  }

  function replaceWith(target, html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    var fresh = template.content.firstElementChild;
    if (fresh) {
      target.replaceWith(fresh);
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    var selector = form.dataset.swap;
    if (!selector) {
      return;
    }
    event.preventDefault();
    var target = document.querySelector(selector);
    var body = new URLSearchParams(new FormData(form));
    form.classList.add("busy");
    // getAttribute, not form.action: a field named "action" shadows the property.
    fetch(form.getAttribute("action") || window.location.pathname, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), "X-Fragment": "1" },
    })
      .then(function (response) {
        return response.text().then(function (text) {
          if (!response.ok) {
            var detail = text;
            try {
              detail = JSON.parse(text).detail;
              if (Array.isArray(detail)) {
                detail = detail.map(function (d) { return d.msg; }).join("; ");
              }
            } catch (e) { /* an HTML error page */ }
            throw new Error(response.status + ": " + String(detail).replace(/<[^>]*>/g, " ").slice(0, 300));
          }
          return text;
        });
      })
      .then(function (html) {
        if (target) {
          replaceWith(target, html);
        }
      })
      .catch(function (error) {
        form.classList.remove("busy");
        showError(error.message);
      });
  });

  function poll(element) {
    var interval = parseInt(element.dataset.interval || "1000", 10);
    fetch(element.dataset.poll, { credentials: "same-origin", headers: { "X-Fragment": "1" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("progress: HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        element.innerHTML = html;
        if (!element.querySelector("[data-done]")) {
          window.setTimeout(function () { poll(element); }, interval);
        }
      })
      .catch(function (error) {
        showError(error.message);
        window.setTimeout(function () { poll(element); }, interval * 3);
      });
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box instanceof HTMLInputElement && box.dataset.selectAll) {
      document.querySelectorAll(box.dataset.selectAll).forEach(function (other) {
        other.checked = box.checked;
      });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(function (element) {
      if (!element.querySelector("[data-done]")) {
        window.setTimeout(function () { poll(element); }, 300);
      }
    });
  });
})();
