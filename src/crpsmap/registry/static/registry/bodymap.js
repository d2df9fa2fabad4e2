// Binds the clickable body map to the real segment checkboxes, and shows live CSS / Budapest totals.
// The form works without this file: the checkboxes are the inputs; the map only mirrors them.
(function () {
  "use strict";
  var form = document.getElementById("visit-form");
  if (!form) { return; }
  var FILL_ON = "#d35400", FILL_OFF = "#e9ecef";
  var paths = Array.prototype.slice.call(form.querySelectorAll("svg.bodymap-input path[data-input]"));

  function boxOf(path) { return document.getElementById(path.getAttribute("data-input")); }
  function paint(path) {
    var box = boxOf(path);
    var on = !!(box && box.checked);
    path.setAttribute("aria-checked", on ? "true" : "false");
    path.setAttribute("fill", on ? FILL_ON : FILL_OFF);
    path.classList.toggle("on", on);
  }
  var areaButtons = Array.prototype.slice.call(form.querySelectorAll("button.area-toggle"));
  function isOn(p) { var b = boxOf(p); return !!(b && b.checked); }
  function pathsOf(area) { return paths.filter(function (p) { return p.getAttribute("data-area") === area; }); }
  function count() {
    var n = paths.filter(isOn).length;
    var out = document.getElementById("segment-count");
    if (out) { out.textContent = n + (n === 1 ? " segment" : " segments") + " selected"; }
    // an area's button is pressed when every segment of the area is chosen, however they were chosen
    areaButtons.forEach(function (btn) {
      var mine = pathsOf(btn.getAttribute("data-area"));
      btn.setAttribute("aria-pressed", mine.length && mine.every(isOn) ? "true" : "false");
    });
  }
  function toggle(path) {
    var box = boxOf(path);
    if (!box) { return; }
    box.checked = !box.checked;
    paint(path);
    count();
  }
  paths.forEach(function (path) {
    paint(path);
    path.addEventListener("click", function () { toggle(path); });
    path.addEventListener("keydown", function (ev) {
      if (ev.key === " " || ev.key === "Enter" || ev.key === "Spacebar") { ev.preventDefault(); toggle(path); }
    });
  });
  // a checkbox changed in the list: repaint its segment
  form.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t && t.name === "segments") {
      paths.forEach(function (p) { if (p.getAttribute("data-input") === t.id) { paint(p); } });
      count();
    }
    totals();
  });
  // whole-area buttons: one click selects (or clears) every segment of the area
  var areaGroup = form.querySelector(".area-buttons");
  if (areaGroup) { areaGroup.hidden = false; }
  areaButtons.forEach(function (btn) {
    btn.addEventListener("click", function () {
      var mine = pathsOf(btn.getAttribute("data-area"));
      var allOn = mine.every(isOn);
      mine.forEach(function (p) { var b = boxOf(p); if (b) { b.checked = !allOn; } paint(p); });
      count();
    });
  });
  // with the map working, the long list of checkboxes is folded away (one click opens it)
  var list = document.getElementById("segment-list");
  if (list && paths.length) { list.open = false; }

  function checked(name) {
    return form.querySelectorAll('input[name="' + name + '"]:checked').length;
  }
  function valueOf(name) {
    var el = form.querySelector('[name="' + name + '"]');
    return el ? el.value : "";
  }
  // thresholds come from the server (crpsmap/instruments.py), the one place of these rules
  function num(name) { return parseInt(form.getAttribute("data-" + name), 10); }
  function totals() {
    var css = document.getElementById("css-total");
    if (css) { css.textContent = "total " + checked("css_items") + " / " + num("css-max"); }
    var bud = document.getElementById("budapest-result");
    if (bud) {
      var sym = checked("budapest_symptom_categories"), sig = checked("budapest_sign_categories");
      var pain = valueOf("pain_disproportionate"), other = valueOf("no_better_diagnosis");
      var max = num("budapest-max");
      var text = "symptoms " + sym + "/" + max + ", signs " + sig + "/" + max;
      if (pain === "no" || other === "no" || sig < num("sign-min") || sym < num("clinical-min")) {
        text += ": clinical criteria not met";
      } else if (pain === "yes" && other === "yes") {
        text += sym >= num("research-min") ? ": clinical and research criteria met" : ": clinical criteria met (research not met)";
      } else {
        text += ": complete the last two questions";
      }
      bud.textContent = text;
    }
  }
  count();
  totals();
}());
