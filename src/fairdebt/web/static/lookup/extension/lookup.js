/*
 * fairdebt lookup: the shared part of the bookmarklet and the browser extension.
 *
 * Pure functions only (no network, no storage, no remote code). The extension loads this file
 * in its service worker and options page; the bookmarklet is built from this file followed by
 * ../bookmarklet.js (see ../README.md). Written as one classic script with block comments only
 * and a semicolon after every statement, so that it still works when a bookmarklet is squashed
 * onto one line.
 *
 * The lookup address is  <base>/lookup?system=<system>&ref=<reference>
 * with system and reference encoded by encodeURIComponent (a space is %20, "/" is %2F).
 */
var fairdebtLookup = (function () {
  "use strict";

  /* A reference longer than this is surely a selector that caught too much of the page (a name,
     an address): refuse it rather than put personal data into an address and a server log. */
  var MAX_REFERENCE_LENGTH = 64;
  var SYSTEM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
  var LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"];

  /* The fairdebt address without a trailing slash: "https://fairdebt.council.gov.uk/app".
     https only, except http on this computer (for trying it out). */
  function normaliseBase(base) {
    var text = typeof base === "string" ? base.trim() : "";
    var url;
    if (!text) {
      throw new Error("The fairdebt address is not set.");
    }
    try {
      url = new URL(text);
    } catch (e) {
      throw new Error("The fairdebt address is not a web address: " + text);
    }
    var local = LOCAL_HOSTS.indexOf(url.hostname) !== -1;
    if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
      throw new Error("The fairdebt address must start with https:// (" + text + ").");
    }
    if (url.search || url.hash || url.username || url.password) {
      throw new Error("The fairdebt address must not have a query, a # part or a password in it (" + text + ").");
    }
    return url.origin + url.pathname.replace(/\/+$/, "");
  }

  function checkSystem(system) {
    var name = typeof system === "string" ? system.trim() : "";
    if (!SYSTEM_NAME.test(name)) {
      throw new Error(
        "The system name must be letters, digits, _ . or - (like housing or council_tax), not \"" + name + "\"."
      );
    }
    return name;
  }

  /* The reference as found on the page, with runs of white space made one space. */
  function cleanReference(text) {
    var ref = String(text === null || text === undefined ? "" : text).replace(/\s+/g, " ").trim();
    if (!ref) {
      throw new Error("The reference on this page is empty.");
    }
    if (ref.length > MAX_REFERENCE_LENGTH) {
      throw new Error(
        "The text found is too long to be a reference (" + ref.length + " characters): " +
        "check the selector set up for this case system."
      );
    }
    return ref;
  }

  function encode(text) {
    try {
      return encodeURIComponent(text);
    } catch (e) {
      throw new Error("The reference has characters that cannot be sent.");
    }
  }

  /* The fairdebt lookup address for a reference; throws an Error with a plain message. */
  function lookupUrl(base, system, reference) {
    return normaliseBase(base) + "/lookup?system=" + encode(checkSystem(system)) +
      "&ref=" + encode(cleanReference(reference));
  }

  /* Does a page address match a case system's pattern? A pattern is the address with * for
     "anything": "https://housing.council.local/tenancy/*". Letter case is ignored. */
  function matchesPattern(pattern, url) {
    var text = typeof pattern === "string" ? pattern.trim() : "";
    if (!text || typeof url !== "string") {
      return false;
    }
    var parts = text.split("*").map(function (part) {
      return part.replace(/[.+?^${}()|[\]\\\/]/g, "\\$&");
    });
    return new RegExp("^" + parts.join(".*") + "$", "i").test(url);
  }

  /* The first configured case system whose pattern matches the page address, or null. */
  function pickSystem(systems, url) {
    var list = Array.isArray(systems) ? systems : [];
    for (var i = 0; i < list.length; i += 1) {
      if (list[i] && matchesPattern(list[i].pattern, url)) {
        return list[i];
      }
    }
    return null;
  }

  /*
   * Read the reference from the page: the value of a form field, or the text of any other
   * element, found with a CSS selector in the page or in any same-origin frame (older case
   * systems often use frames). Returns {text: "..."} or {error: "..."}; never throws.
   *
   * Self-contained on purpose: the extension passes this function to
   * chrome.scripting.executeScript, which runs its source in the page, without this closure.
   */
  function readReference(selector) {
    function find(doc, depth) {
      var element = doc.querySelector(selector);
      var frames;
      var i;
      var inner;
      if (element || depth > 3) {
        return element;
      }
      frames = doc.querySelectorAll("iframe, frame");
      for (i = 0; i < frames.length; i += 1) {
        try {
          inner = frames[i].contentDocument ? find(frames[i].contentDocument, depth + 1) : null;
        } catch (e) {
          inner = null; /* another site's frame: not ours to read */
        }
        if (inner) {
          return inner;
        }
      }
      return null;
    }
    var element;
    if (typeof selector !== "string" || !selector.trim()) {
      return { error: "No selector is set up for this case system." };
    }
    try {
      element = find(document, 0);
    } catch (e) {
      return { error: "The selector is not valid CSS: " + selector };
    }
    if (!element) {
      return { error: "Could not find the reference on this page (nothing matches " + selector + ")." };
    }
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName)) {
      return { text: String(element.value || "") };
    }
    return { text: String(element.textContent || "") };
  }

  return {
    MAX_REFERENCE_LENGTH: MAX_REFERENCE_LENGTH,
    checkSystem: checkSystem,
    cleanReference: cleanReference,
    lookupUrl: lookupUrl,
    matchesPattern: matchesPattern,
    normaliseBase: normaliseBase,
    pickSystem: pickSystem,
    readReference: readReference
  };
})();
