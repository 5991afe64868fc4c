// Small behaviours pages ask for with data- attributes (the Content-Security-Policy allows no
// inline script or on...= handler):
//   data-select-on-focus   select the field's whole value when it gets focus (a new API token)
//   data-browser-zone      fill an empty field with the browser's IANA time zone (audit log filter)
//   data-enable-when       a questionnaire item shown only while earlier answers compare so (FHIR
//                          enableWhen: [{question, operator, answer}], data-enable-behavior all|any);
//                          the server applies the same rule, so without script every item shows
//   data-suggest           fill the field's <datalist> from a JSON search (code, description) as
//                          the person types, e.g. ICD-10-CM diagnoses
//   #idle-warning          before the idle timeout logs the person out, warn them and let them stay
//                          (WCAG 2.2.1): "Stay logged in" restarts the server's idle clock
(function () {
  var WARN_BEFORE_SECONDS = 120;

  function idleWarning() {
    var box = document.getElementById("idle-warning");
    if (!box) { return; }
    var idle = parseInt(box.getAttribute("data-idle-seconds"), 10);
    var warnAfter = Math.max(idle - WARN_BEFORE_SECONDS, Math.floor(idle / 2));
    var countdown = box.querySelector("[data-idle-countdown]");
    var stay = box.querySelector("[data-idle-stay]");
    var warnTimer = null, tick = null, deadline = 0, before = null;

    function show() {
      deadline = Date.now() + (idle - warnAfter) * 1000;
      before = document.activeElement;
      box.hidden = false;
      update();
      tick = setInterval(update, 1000);
      stay.focus();
    }
    function update() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      countdown.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (left === 0) {
        clearInterval(tick);
        window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      }
    }
    function restart() {
      clearTimeout(warnTimer);
      clearInterval(tick);
      box.hidden = true;
      warnTimer = setTimeout(show, warnAfter * 1000);
    }
    stay.addEventListener("click", function () {
      var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
      fetch("/session/keep-alive", { method: "POST", headers: { "X-CSRF-Token": token }, credentials: "same-origin" })
        .then(function (answer) {
          if (!answer.ok) { window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname)); return; }
          restart();
          if (before && before.focus) { before.focus(); }
        });
    });
    document.body.addEventListener("htmx:afterRequest", restart);  // any request to the server counts
    restart();
  }

  function answerOf(form, name) {
    var checked = form.querySelector('input[name="' + name + '"]:checked');
    var field = checked || form.querySelector('[name="' + name + '"]:not([type="radio"])');
    if (!field || field.value === "") { return null; }
    if (field.value === "yes") { return true; }
    if (field.value === "no") { return false; }
    var number = Number(field.value);
    return isNaN(number) ? field.value : number;
  }
  function holds(value, operator, expected) {
    if (value === null) { return false; }
    switch (operator) {
      case "=": return value === expected;
      case "!=": return value !== expected;
      case ">": return value > expected;
      case "<": return value < expected;
      case ">=": return value >= expected;
      case "<=": return value <= expected;
    }
    return false;
  }
  function enableWhen() {
    document.querySelectorAll("form").forEach(function (form) {
      var items = form.querySelectorAll("[data-enable-when]");
      if (!items.length) { return; }
      function apply() {
        items.forEach(function (item) {
          var rules = JSON.parse(item.getAttribute("data-enable-when"));
          var results = rules.map(function (rule) { return holds(answerOf(form, rule.question), rule.operator, rule.answer); });
          var any = item.getAttribute("data-enable-behavior") === "any";
          item.hidden = !(any ? results.some(Boolean) : results.every(Boolean));
        });
      }
      form.addEventListener("change", apply);
      form.addEventListener("input", apply);
      apply();
    });
  }

  function suggest(field) {
    // data-suggest: the search URL (the typed text goes in q=); data-suggest-value and
    // data-suggest-label name the answer's fields (code and description by default);
    // data-suggest-whole searches the whole text, otherwise only its last word (a list of codes).
    var list = document.getElementById(field.getAttribute("list"));
    var valueKey = field.getAttribute("data-suggest-value") || "code";
    var labelKey = field.getAttribute("data-suggest-label") || "description";
    var whole = field.hasAttribute("data-suggest-whole");
    var timer = null;
    field.addEventListener("input", function () {
      clearTimeout(timer);
      var words = field.value.trim().split(/\s+/);
      var typed = whole ? field.value.trim() : (words[words.length - 1] || "");
      if (typed.length < 2) { return; }
      timer = setTimeout(function () {
        var base = field.getAttribute("data-suggest");
        var url = base + (/[?&]$/.test(base) ? "" : "&") + "limit=15&q=" + encodeURIComponent(typed);
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (answer) { return answer.ok ? answer.json() : []; })
          .then(function (found) {
            var before = whole ? "" : words.slice(0, -1).join(" ");
            list.replaceChildren.apply(list, found.map(function (row) {
              var option = document.createElement("option");
              option.value = (before ? before + " " : "") + row[valueKey];
              option.label = row[valueKey] + " " + row[labelKey];
              return option;
            }));
          });
      }, 250);
    });
  }

  function ready() {
    idleWarning();
    document.querySelectorAll("[data-suggest][list]").forEach(suggest);
    enableWhen();
    document.querySelectorAll("[data-select-on-focus]").forEach(function (field) {
      field.addEventListener("focus", function () { field.select(); });
    });
    document.querySelectorAll("[data-browser-zone]").forEach(function (field) {
      try {
        var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
        if (!field.value && zone) { field.value = zone; }
      } catch (e) { /* leave it empty: UTC */ }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
})();
