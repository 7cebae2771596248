"""The bookmarklet for one case system, built from the files in web/static/lookup (see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

LOOKUP = Path(__file__).resolve().parent.parent / "web" / "static" / "lookup"
MAX_SELECTOR = 200


def bookmarklet(base: str, system: str, selector: str) -> str:
    source = (LOOKUP / "bookmarklet.js").read_text(encoding="utf-8")
    for name, value in (("BASE", base), ("SYSTEM", system), ("SELECTOR", selector)):
        placeholder = f'"__FAIRDEBT_{name}__"'
        if source.count(placeholder) != 1:
            raise RuntimeError(f"bookmarklet.js must hold {placeholder} once")
        # json.dumps escapes quotes, backslashes and non-ASCII: a setting cannot leave its string.
        source = source.replace(placeholder, json.dumps(value))
    core = (LOOKUP / "extension" / "lookup.js").read_text(encoding="utf-8")
    return "javascript:" + quote(f"(function(){{{core}\n{source}\n}})();void 0;", safe="")
