// Progressive enhancement only: every page works without this file.
// 1. Questions whose show_if looks at answers on the same page appear and disappear
//    live. The server decides again when the page is sent, so this is only a convenience.
// 2. A button marked data-once is disabled after the first click (no double submit;
//    the server refuses a second submission anyway).
(function () {
  "use strict";

  function answerOf(form, name, known, derived) {
    if (Object.prototype.hasOwnProperty.call(derived, name)) {
      return age(answerOf(form, derived[name], known, {}));
    }
    var fields = form.querySelectorAll('[name="' + name + '"]');
    var day = form.querySelector('[name="' + name + '-day"]');
    if (!fields.length && day) { return boxesDate(form, name); }
    if (!fields.length) {
      return Object.prototype.hasOwnProperty.call(known, name) ? known[name] : null;
    }
    var first = fields[0];
    if (first.type === "checkbox" && fields.length > 1) {
      return Array.prototype.filter.call(fields, function (f) { return f.checked; })
        .map(function (f) { return f.value; });
    }
    if (first.type === "radio" || first.type === "checkbox") {
      var chosen = Array.prototype.find.call(fields, function (f) { return f.checked; });
      if (!chosen) { return null; }
      return /^-?\d+$/.test(chosen.value) && first.closest(".scale") ? Number(chosen.value) : chosen.value;
    }
    var text = first.value.trim();
    if (text === "") { return null; }
    return first.inputMode === "numeric" && /^-?\d+$/.test(text) ? Number(text) : text;
  }

  // A memorable date (three boxes) as YYYY-MM-DD, or null until all three make a date.
  function boxesDate(form, name) {
    var part = function (p) { return (form.querySelector('[name="' + name + '-' + p + '"]').value || "").trim(); };
    var d = part("day"), m = part("month"), y = part("year");
    if (!/^\d{1,2}$/.test(d) || !/^\d{1,2}$/.test(m) || !/^\d{4}$/.test(y)) { return null; }
    var pad = function (v) { return (v.length < 2 ? "0" : "") + v; };
    return y + "-" + pad(m) + "-" + pad(d);
  }

  function age(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    if (!m) { return null; }
    var now = new Date(), years = now.getFullYear() - Number(m[1]);
    if (now.getMonth() + 1 < Number(m[2]) || (now.getMonth() + 1 === Number(m[2]) && now.getDate() < Number(m[3]))) { years -= 1; }
    return years;
  }

  function answered(v) { return !(v === null || v === "" || (Array.isArray(v) && v.length === 0)); }

  function test(c, value, lookup) {
    if ("q" in c) { return test(c.c, lookup(c.q), lookup); }
    if ("all" in c) { return c.all.every(function (p) { return test(p, value, lookup); }); }
    if ("any" in c) { return c.any.some(function (p) { return test(p, value, lookup); }); }
    if ("not" in c) { return !test(c.not, value, lookup); }
    if ("answered" in c) { return answered(value) === c.answered; }
    if (value === null) { return false; }
    if ("eq" in c) { return Array.isArray(value) ? value.indexOf(c.eq) >= 0 : value === c.eq; }
    if ("in" in c) {
      return Array.isArray(value) ? value.some(function (v) { return c.in.indexOf(v) >= 0; }) : c.in.indexOf(value) >= 0;
    }
    if ("gte" in c) { return !Array.isArray(value) && value >= c.gte; }
    if ("lte" in c) { return !Array.isArray(value) && value <= c.lte; }
    return true;
  }

  function update(form) {
    var known = JSON.parse(form.getAttribute("data-known") || "{}");
    var derived = JSON.parse(form.getAttribute("data-derived") || "{}");
    var lookup = function (name) { return answerOf(form, name, known, derived); };
    form.querySelectorAll("[data-show-if]").forEach(function (el) {
      var shown = test(JSON.parse(el.getAttribute("data-show-if")), null, lookup);
      el.hidden = !shown;
    });
  }

  // 3. The pain body map: each region of the picture toggles its checkbox (by click,
  //    tap, or Space/Enter when focused). The picture is one tab stop; the arrow keys
  //    move between its regions. The checkbox list (the control without this script)
  //    waits behind a disclosure, one more tab stop instead of one per area, for anyone
  //    who would rather tick words than tap a picture; a line under the picture says
  //    what is marked.
  function bodyMap(figure) {
    var name = figure.getAttribute("data-body-map");
    var form = figure.closest("form");
    var svg = figure.querySelector("svg");
    var caption = figure.querySelector("[data-body-map-marked]");
    var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="' + name + '"]'));
    svg.setAttribute("role", "group");
    // The group's name comes from the page, in the page's language.
    svg.setAttribute("aria-label", figure.getAttribute("data-group-label") || "Body map: choose the areas where you have pain");
    svg.removeAttribute("aria-labelledby");
    var regions = [];
    figure.querySelectorAll(".region").forEach(function (region) {
      var box = form.querySelector('input[name="' + name + '"][value="' + region.getAttribute("data-region") + '"]');
      if (!box) { return; }
      var label = region.querySelector("title").textContent;
      region.setAttribute("role", "checkbox");
      region.setAttribute("aria-label", label);
      function show() {
        region.setAttribute("aria-checked", box.checked ? "true" : "false");
        region.classList.toggle("region--marked", box.checked);
      }
      function toggle() {
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change", { bubbles: true }));
      }
      region.addEventListener("click", toggle);
      region.addEventListener("keydown", function (event) {
        if (event.key === " " || event.key === "Enter") { event.preventDefault(); toggle(); }
      });
      box.addEventListener("change", show);
      show();
      regions.push(region);
    });
    if (!regions.length) { return; }
    // One tab stop for the whole map (a roving tabindex): Tab enters at the last region
    // used, the arrow keys (and Home, End) move between regions.
    regions.forEach(function (region, i) {
      region.setAttribute("tabindex", i === 0 ? "0" : "-1");
      region.addEventListener("focus", function () {
        regions.forEach(function (other) { other.setAttribute("tabindex", other === region ? "0" : "-1"); });
      });
      region.addEventListener("keydown", function (event) {
        var next = null;
        if (event.key === "ArrowRight" || event.key === "ArrowDown") { next = regions[(i + 1) % regions.length]; }
        if (event.key === "ArrowLeft" || event.key === "ArrowUp") { next = regions[(i - 1 + regions.length) % regions.length]; }
        if (event.key === "Home") { next = regions[0]; }
        if (event.key === "End") { next = regions[regions.length - 1]; }
        if (next) { event.preventDefault(); next.focus(); }
      });
    });
    function focusMap() {
      var current = figure.querySelector('.region[tabindex="0"]') || regions[0];
      current.focus();
    }
    // The list behind a disclosure (closed), the same checkboxes as before.
    var list = boxes.length ? boxes[0].closest(".body-map-list") : null;
    var details = null;
    if (list && caption) {
      details = document.createElement("details");
      details.className = "body-map-list-details";
      var summary = document.createElement("summary");
      summary.textContent = caption.getAttribute("data-list-summary");
      details.appendChild(summary);
      list.parentNode.insertBefore(details, list);
      details.appendChild(list);
    }
    // The line under the picture: what is marked, in the list's words and order.
    function marked() {
      if (!caption) { return; }
      var names = boxes.filter(function (box) { return box.checked; }).map(function (box) {
        var label = form.querySelector('label[for="' + box.id + '"]');
        return (label ? label.textContent : box.value).trim();
      });
      caption.querySelector("[data-names]").textContent = names.join(", ");
      caption.querySelector('[data-when="some"]').hidden = !names.length;
      caption.querySelector('[data-when="none"]').hidden = !!names.length;
    }
    boxes.forEach(function (box) { box.addEventListener("change", marked); });
    if (caption) { caption.hidden = false; marked(); }
    // An error summary's link to the question lands on the map, not in the closed list.
    document.querySelectorAll('.error-summary a[href="#' + (boxes.length ? boxes[0].id : name) + '"]').forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (details && details.open) { return; }
        event.preventDefault();
        figure.scrollIntoView();
        focusMap();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("figure[data-body-map]").forEach(bodyMap);
    document.querySelectorAll("form[data-known]").forEach(function (form) {
      update(form);
      form.addEventListener("change", function () { update(form); });
      form.addEventListener("input", function () { update(form); });
    });
    document.querySelectorAll("button[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
    document.querySelectorAll("button[data-once]").forEach(function (button) {
      button.form.addEventListener("submit", function () {
        window.setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  });
})();
