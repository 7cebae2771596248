/*
 * fairdebt lookup: what happens when the officer clicks the toolbar button (or presses
 * Alt+Shift+F). With the activeTab permission the extension may read the current page only
 * then, and only that page: it needs no host permissions and never runs on a page by itself.
 *
 * 1. Find the configured case system whose address pattern matches the page.
 * 2. Read the reference from that system's selector on the page.
 * 3. Open <base>/lookup?system=<system>&ref=<reference> in a new tab next to it.
 * Any problem is told to the officer in the page with an alert, or on the button's badge.
 */
importScripts("lookup.js");

/* Settings pushed by the council's IT (chrome.storage.managed, see managed_schema.json) win
   over the ones typed on the options page (chrome.storage.sync). */
async function loadSettings() {
  var managed = {};
  try {
    managed = await chrome.storage.managed.get(null);
  } catch (e) {
    managed = {}; /* no policy support on this platform */
  }
  if (managed && managed.base) {
    return { base: managed.base, systems: managed.systems || [], managed: true };
  }
  var stored = await chrome.storage.sync.get({ base: "", systems: [] });
  return { base: stored.base, systems: stored.systems, managed: false };
}

function showAlert(message) {
  window.alert(message);
}

async function tell(tab, message) {
  var text = "fairdebt lookup: " + message;
  try {
    await chrome.scripting.executeScript({ target: { tabId: tab.id }, func: showAlert, args: [text] });
  } catch (e) {
    /* A page the extension may not touch (the browser's own pages): say it on the button. */
    await chrome.action.setBadgeText({ tabId: tab.id, text: "!" });
    await chrome.action.setTitle({ tabId: tab.id, title: text });
  }
}

async function lookUp(tab) {
  var settings = await loadSettings();
  var system;
  var results;
  var found;
  var url;
  if (!settings.base || !settings.systems.length) {
    await chrome.runtime.openOptionsPage();
    return null;
  }
  system = fairdebtLookup.pickSystem(settings.systems, tab.url || "");
  if (!system) {
    await tell(tab, "this page is not one of the case systems set up in the extension's options.");
    return null;
  }
  try {
    results = await chrome.scripting.executeScript({
      target: { tabId: tab.id },
      func: fairdebtLookup.readReference,
      args: [system.selector]
    });
    found = results && results[0] ? results[0].result : null;
    if (!found || found.error) {
      throw new Error(found ? found.error : "could not read this page.");
    }
    url = fairdebtLookup.lookupUrl(settings.base, system.system, found.text);
  } catch (e) {
    await tell(tab, e.message);
    return null;
  }
  await chrome.tabs.create({ url: url, index: tab.index + 1, openerTabId: tab.id });
  return url;
}

chrome.action.onClicked.addListener(function (tab) {
  lookUp(tab).catch(function (e) {
    console.error("fairdebt lookup failed", e);
  });
});

/* For the project's browser tests, which cannot click the toolbar. */
self.fairdebtLookUp = lookUp;
