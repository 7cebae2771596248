/*
 * fairdebt lookup: the options page. Saves {base, systems: [{pattern, system, selector}]} in
 * chrome.storage.sync; shows (read-only) the settings the council's IT set by policy instead,
 * when there are any. Uses fairdebtLookup from lookup.js to check what is typed.
 */
(function () {
  "use strict";

  var form = document.getElementById("options");
  var base = document.getElementById("base");
  var rows = document.getElementById("systems");
  var template = document.getElementById("system-row");
  var errors = document.getElementById("errors");
  var errorList = document.getElementById("error-list");
  var status = document.getElementById("status");
  var count = 0;

  function addRow(entry) {
    var row = template.content.firstElementChild.cloneNode(true);
    count += 1;
    row.querySelector("legend").textContent = "Case system " + count;
    ["pattern", "system", "selector"].forEach(function (name) {
      var input = row.querySelector("input[name=" + name + "]");
      input.id = name + "-" + count;
      input.value = (entry && entry[name]) || "";
    });
    row.querySelector(".remove").addEventListener("click", function () {
      row.remove();
    });
    rows.appendChild(row);
    return row;
  }

  function validSelector(selector) {
    try {
      document.createDocumentFragment().querySelector(selector);
      return true;
    } catch (e) {
      return false;
    }
  }

  /* What the form says, checked: {settings, problems: [[input id, message]]}. */
  function read() {
    var problems = [];
    var settings = { base: "", systems: [] };
    try {
      settings.base = fairdebtLookup.normaliseBase(base.value);
    } catch (e) {
      problems.push(["base", e.message]);
    }
    Array.prototype.forEach.call(rows.querySelectorAll("fieldset.system"), function (row) {
      var name = row.querySelector("legend").textContent;
      var entry = {};
      ["pattern", "system", "selector"].forEach(function (field) {
        entry[field] = row.querySelector("input[name=" + field + "]").value.trim();
      });
      var blank = !entry.pattern && !entry.system && !entry.selector;
      if (blank) {
        return; /* an empty row is ignored */
      }
      if (!entry.pattern) {
        problems.push([row.querySelector("input[name=pattern]").id, name + ": enter the page addresses."]);
      }
      try {
        entry.system = fairdebtLookup.checkSystem(entry.system);
      } catch (e) {
        problems.push([row.querySelector("input[name=system]").id, name + ": " + e.message]);
      }
      if (!entry.selector || !validSelector(entry.selector)) {
        problems.push([row.querySelector("input[name=selector]").id, name + ": enter a valid CSS selector."]);
      }
      settings.systems.push(entry);
    });
    if (!settings.systems.length) {
      problems.push(["add", "Add at least one case system."]);
    }
    return { settings: settings, problems: problems };
  }

  function showProblems(problems) {
    errorList.textContent = "";
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + problem[0];
      link.textContent = problem[1];
      item.appendChild(link);
      errorList.appendChild(item);
    });
    errors.hidden = problems.length === 0;
    if (problems.length) {
      errors.focus();
    }
  }

  function fill(settings) {
    base.value = settings.base || "";
    rows.textContent = "";
    count = 0;
    (settings.systems || []).forEach(addRow);
    if (!rows.children.length) {
      addRow(null);
    }
  }

  function lock() {
    document.getElementById("managed").hidden = false;
    Array.prototype.forEach.call(form.querySelectorAll("input, button"), function (element) {
      element.disabled = true;
    });
  }

  async function load() {
    var managed = {};
    try {
      managed = await chrome.storage.managed.get(null);
    } catch (e) {
      managed = {};
    }
    if (managed && managed.base) {
      fill(managed);
      lock();
      return;
    }
    fill(await chrome.storage.sync.get({ base: "", systems: [] }));
  }

  document.getElementById("add").addEventListener("click", function () {
    addRow(null).querySelector("input").focus();
  });

  form.addEventListener("submit", async function (event) {
    var result = read();
    event.preventDefault();
    status.textContent = "";
    showProblems(result.problems);
    if (result.problems.length) {
      return;
    }
    await chrome.storage.sync.set(result.settings);
    fill(result.settings);
    status.textContent = "Saved";
  });

  load();
})();
