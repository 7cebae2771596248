/*
 * fairdebt lookup bookmarklet (readable source, and the template the app fills in).
 *
 * On a case system's page, reads the reference from the element the selector names and opens
 * <base>/lookup?system=<system>&ref=<reference> in a new tab. The three settings below are
 * placeholders: the app replaces each quoted placeholder with a JSON string, puts
 * extension/lookup.js in front, wraps the whole in a function and percent-encodes it into a
 * javascript: address (README.md has the exact recipe). Nothing is fetched from anywhere.
 *
 * Block comments only, and a semicolon after every statement: see lookup.js.
 */
(function (settings) {
  "use strict";
  var found = fairdebtLookup.readReference(settings.selector);
  var url;
  try {
    if (found.error) {
      throw new Error(found.error);
    }
    url = fairdebtLookup.lookupUrl(settings.base, settings.system, found.text);
  } catch (e) {
    window.alert("fairdebt lookup: " + e.message);
    return;
  }
  /* noopener: the case system and fairdebt cannot reach each other's window;
     noreferrer: the case system's address (which may hold personal data) is not sent. */
  window.open(url, "_blank", "noopener,noreferrer");
})({
  base: "__FAIRDEBT_BASE__",
  system: "__FAIRDEBT_SYSTEM__",
  selector: "__FAIRDEBT_SELECTOR__"
});
