"""The lookup tools for the council's case systems: the bookmarklet, the shared lookup.js and the extension.

A fake case system and a fake fairdebt are served from 127.0.0.1 (http.server in threads); the
tools run in Debian's Chromium through Playwright.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
LOOKUP = ROOT / "src/fairdebt/web/static/lookup"
EXTENSION = LOOKUP / "extension"
CORE = EXTENSION / "lookup.js"

REFERENCE = "HRA/0042 7 & co #2"  # a slash, spaces, & and #: each must be encoded
ENCODED = "HRA%2F0042%207%20%26%20co%20%232"

CASE_PAGES = {
    "/tenancy/42": f"""<!doctype html><html lang="en"><head><title>Tenancy 42</title></head><body>
        <h1>Tenancy</h1><p>Tenant: Jane Smith</p>
        <p>Reference: <span id="tenancy-ref">
            {REFERENCE.replace("&", "&amp;")}
        </span></p>
        <form><input name="account_ref" value="  CT-000123  "></form>
        <div id="blank"> </div>
        <div id="address">1 Station Road, Exampletown, EX1 1AA, with a long way to go before it ends here</div>
        </body></html>""",
    "/frames": """<!doctype html><html><head><title>Frames</title></head><body>
        <iframe src="/tenancy/42" title="record"></iframe></body></html>""",
}


def bookmarklet(base: str, system: str, selector: str) -> str:
    """The recipe in static/lookup/README.md, which the app follows to render the bookmarklet."""
    source = (LOOKUP / "bookmarklet.js").read_text(encoding="utf-8")
    for name, value in (("BASE", base), ("SYSTEM", system), ("SELECTOR", selector)):
        placeholder = f'"__FAIRDEBT_{name}__"'
        assert source.count(placeholder) == 1
        source = source.replace(placeholder, json.dumps(value))
    core = CORE.read_text(encoding="utf-8")
    return "javascript:" + quote(f"(function(){{{core}\n{source}\n}})();void 0;", safe="")


# --- the fake servers ----------------------------------------------------------------------------


@dataclass
class Site:
    url: str
    requests: list[dict] = field(default_factory=list)


def _serve(pages: dict[str, str] | None) -> tuple[ThreadingHTTPServer, Site]:
    site = Site(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            path = urlsplit(self.path).path
            if path == "/favicon.ico":  # the browser asks for it; "none" without a 404 in the console
                self.send_response(204)
                self.end_headers()
                return
            site.requests.append({"path": self.path, "headers": dict(self.headers)})
            if pages is None:  # the fake fairdebt: any /lookup is a page
                body = "<!doctype html><title>fairdebt lookup</title><h1>Lookup</h1>" if path.endswith("/lookup") else None
            else:
                body = pages.get(path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body or "not found").encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, site


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[Site, Site]]:
    """(the case system, fairdebt), on two ports of 127.0.0.1."""
    case_server, case = _serve(CASE_PAGES)
    fairdebt_server, fairdebt = _serve(None)
    yield case, fairdebt
    for server in (case_server, fairdebt_server):
        server.shutdown()
        server.server_close()


@pytest.fixture
def case_system(sites):
    case, fairdebt = sites
    case.requests.clear()
    fairdebt.requests.clear()
    return case


@pytest.fixture
def fairdebt(sites):
    return sites[1]


def lookups(site: Site) -> list[dict]:
    """The lookups fairdebt received: their query, parsed, and whether a Referer came with them."""
    return [
        {"path": urlsplit(r["path"]).path, "query": parse_qs(urlsplit(r["path"]).query), "referer": "Referer" in r["headers"]}
        for r in site.requests
    ]


# --- the bookmarklet -----------------------------------------------------------------------------


def test_bookmarklet_opens_the_lookup_with_the_reference_encoded(page, case_system, fairdebt, console_errors):
    page.goto(f"{case_system.url}/tenancy/42")
    source = unquote(bookmarklet(f"{fairdebt.url}/", "housing", "#tenancy-ref").removeprefix("javascript:"))
    with page.context.expect_page() as opened:
        page.evaluate(f"() => {{ {source} }}")
    lookup = opened.value
    lookup.wait_for_load_state()
    assert lookup.url == f"{fairdebt.url}/lookup?system=housing&ref={ENCODED}"
    assert lookups(fairdebt) == [
        {"path": "/lookup", "query": {"system": ["housing"], "ref": [REFERENCE]}, "referer": False}
    ]
    # Nothing is left behind in the case system's page.
    assert page.evaluate("typeof window.fairdebtLookup") == "undefined"
    assert console_errors == []


def test_bookmarklet_as_a_clicked_javascript_link(page, case_system, fairdebt):
    """As the officer uses it: the javascript: address, percent-decoded by the browser itself."""
    page.goto(f"{case_system.url}/tenancy/42")
    href = bookmarklet(f"{fairdebt.url}/fairdebt", "council_tax", "input[name='account_ref']")
    assert re.fullmatch(r"javascript:[A-Za-z0-9_.~%-]+", href)
    page.evaluate(
        """href => { const a = document.createElement('a'); a.href = href; a.id = 'bm';
                     a.textContent = 'fairdebt'; document.body.append(a); }""",
        href,
    )
    with page.context.expect_page() as opened:
        page.click("#bm")
    lookup = opened.value
    lookup.wait_for_load_state()
    assert lookup.url == f"{fairdebt.url}/fairdebt/lookup?system=council_tax&ref=CT-000123"


def test_bookmarklet_finds_the_reference_in_a_frame(page, case_system, fairdebt):
    page.goto(f"{case_system.url}/frames")
    page.frame_locator("iframe").locator("#tenancy-ref").wait_for()
    source = unquote(bookmarklet(fairdebt.url, "housing", "#tenancy-ref").removeprefix("javascript:"))
    with page.context.expect_page() as opened:
        page.evaluate(f"() => {{ {source} }}")
    assert opened.value.url.endswith(f"/lookup?system=housing&ref={ENCODED}")


def test_bookmarklet_opens_with_noopener_and_noreferrer(page, case_system, fairdebt):
    page.goto(f"{case_system.url}/tenancy/42")
    page.evaluate("() => { window.__opened = []; window.open = (...args) => { window.__opened.push(args); return null; }; }")
    source = unquote(bookmarklet(fairdebt.url, "housing", "#tenancy-ref").removeprefix("javascript:"))
    page.evaluate(f"() => {{ {source} }}")
    assert page.evaluate("window.__opened") == [
        [f"{fairdebt.url}/lookup?system=housing&ref={ENCODED}", "_blank", "noopener,noreferrer"]
    ]


@pytest.mark.parametrize(
    ("base", "system", "selector", "message"),
    [
        (None, "housing", "#nowhere", "Could not find the reference on this page (nothing matches #nowhere)."),
        (None, "housing", "#blank", "The reference on this page is empty."),
        (None, "housing", "#address", "The text found is too long to be a reference (79 characters)"),
        (None, "housing", "##", "The selector is not valid CSS: ##"),
        (None, "housing tenancies", "#tenancy-ref", "The system name must be letters, digits"),
        ("http://fairdebt.example.gov.uk", "housing", "#tenancy-ref", "The fairdebt address must start with https://"),
        ("javascript:alert(1)", "housing", "#tenancy-ref", "The fairdebt address must start with https://"),
        ("", "housing", "#tenancy-ref", "The fairdebt address is not set."),
    ],
)
def test_bookmarklet_says_what_is_wrong_and_opens_nothing(page, case_system, fairdebt, base, system, selector, message):
    page.goto(f"{case_system.url}/tenancy/42")
    said: list[str] = []
    page.on("dialog", lambda dialog: (said.append(dialog.message), dialog.dismiss()))
    source = unquote(bookmarklet(fairdebt.url if base is None else base, system, selector).removeprefix("javascript:"))
    page.evaluate(f"() => {{ {source} }}")
    assert len(said) == 1 and said[0].startswith(f"fairdebt lookup: {message}"), said
    assert len(page.context.pages) == 1
    assert lookups(fairdebt) == []


def test_bookmarklet_settings_cannot_break_out_of_their_strings(page, case_system, fairdebt):
    page.goto(f"{case_system.url}/tenancy/42")
    said: list[str] = []
    page.on("dialog", lambda dialog: (said.append(dialog.message), dialog.dismiss()))
    hostile = '"); window.__pwned = 1; ("\u2028</script>'
    source = unquote(bookmarklet(fairdebt.url, "housing", hostile).removeprefix("javascript:"))
    page.evaluate(f"() => {{ {source} }}")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert said == [f"fairdebt lookup: The selector is not valid CSS: {hostile}"]


# --- lookup.js, the shared functions -------------------------------------------------------------


@pytest.fixture
def core(page):
    page.set_content("<!doctype html><title>lookup.js</title><p id='ref'>X</p>")
    page.add_script_tag(path=str(CORE))

    def call(name: str, *args):
        return page.evaluate(
            """([name, args]) => { try { return {value: fairdebtLookup[name](...args)}; }
                                   catch (e) { return {error: e.message}; } }""",
            [name, list(args)],
        )

    return call


@pytest.mark.parametrize(
    "reference",
    ["ABC123", "HRA/0042 7", "a&b=c#d?e", "50% + 1", "Siân Ó'Brien-Ng", "東京 12", "a\tb\n c", "(x)*!~'_.-"],
)
def test_lookup_url_encodes_like_encode_uri_component(core, reference):
    cleaned = " ".join(reference.split())
    expected = "https://fairdebt.council.gov.uk/lookup?system=council_tax&ref=" + quote(cleaned, safe="-_.!~*'()")
    assert core("lookupUrl", "https://fairdebt.council.gov.uk", "council_tax", reference) == {"value": expected}


@pytest.mark.parametrize(
    ("base", "result"),
    [
        ("https://fairdebt.council.gov.uk", {"value": "https://fairdebt.council.gov.uk"}),
        ("  https://fairdebt.council.gov.uk///  ", {"value": "https://fairdebt.council.gov.uk"}),
        ("https://intranet.council.gov.uk/apps/fairdebt/", {"value": "https://intranet.council.gov.uk/apps/fairdebt"}),
        ("HTTPS://Fairdebt.Council.GOV.uk:8443/", {"value": "https://fairdebt.council.gov.uk:8443"}),
        ("http://localhost:8000/", {"value": "http://localhost:8000"}),
        ("http://127.0.0.1:8000", {"value": "http://127.0.0.1:8000"}),
        ("http://fairdebt.council.gov.uk", {"error": "The fairdebt address must start with https:// (http://fairdebt.council.gov.uk)."}),
        ("javascript:alert(1)", {"error": "The fairdebt address must start with https:// (javascript:alert(1))."}),
        ("fairdebt.council.gov.uk", {"error": "The fairdebt address is not a web address: fairdebt.council.gov.uk"}),
        ("https://fairdebt.council.gov.uk/?x=1", {"error": "The fairdebt address must not have a query, a # part or a password in it (https://fairdebt.council.gov.uk/?x=1)."}),
        ("https://user:pw@fairdebt.council.gov.uk", {"error": "The fairdebt address must not have a query, a # part or a password in it (https://user:pw@fairdebt.council.gov.uk)."}),
        ("", {"error": "The fairdebt address is not set."}),
        (None, {"error": "The fairdebt address is not set."}),
    ],
)  # fmt: skip
def test_normalise_base(core, base, result):
    assert core("normaliseBase", base) == result


def test_system_names_and_references_are_checked(core, page):
    assert core("checkSystem", " council_tax ") == {"value": "council_tax"}
    for bad in ("", "housing rent", "ctax&x=1", "-x", None):
        assert "error" in core("checkSystem", bad), bad
    assert core("cleanReference", "  AB \n 12  ") == {"value": "AB 12"}
    assert core("cleanReference", "x" * 64) == {"value": "x" * 64}
    assert core("cleanReference", "x" * 65)["error"].startswith("The text found is too long to be a reference (65 characters)")
    assert core("cleanReference", None) == {"error": "The reference on this page is empty."}
    lone_surrogate = "fairdebtLookup.lookupUrl('https://f.example', 'housing', 'A\\ud800')"
    assert page.evaluate(f"() => {{ try {{ return {lone_surrogate}; }} catch (e) {{ return e.message; }} }}") == (
        "The reference has characters that cannot be sent."
    )


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        ("https://housing.council.local/tenancy/*", "https://housing.council.local/tenancy/42?tab=2", True),
        ("https://housing.council.local/tenancy/*", "https://HOUSING.council.local/tenancy/42", True),
        ("https://housing.council.local/tenancy/*", "https://housing.council.local/tenants/42", False),
        ("https://housing.council.local/tenancy/*", "https://housing.council.local.evil.example/tenancy/1", False),
        ("https://housing.council.local/tenancy/*", "https://evil.example/?https://housing.council.local/tenancy/", False),
        ("https://*.council.local/ctax/account?id=*", "https://revs.council.local/ctax/account?id=7", True),
        ("https://revs.council.local/a.b", "https://revs.council.local/aXb", False),
        ("*", "https://anything.example/", True),
        ("", "https://anything.example/", False),
        ("   ", "https://anything.example/", False),
    ],
)
def test_matches_pattern(core, pattern, url, matches):
    assert core("matchesPattern", pattern, url) == {"value": matches}


def test_pick_system_takes_the_first_match(core):
    systems = [
        {"pattern": "https://revs.council.local/nndr/*", "system": "business_rates", "selector": "#a"},
        {"pattern": "https://revs.council.local/*", "system": "council_tax", "selector": "#b"},
        {"pattern": "https://revs.council.local/ctax/*", "system": "never", "selector": "#c"},
    ]
    assert core("pickSystem", systems, "https://revs.council.local/ctax/1")["value"]["system"] == "council_tax"
    assert core("pickSystem", systems, "https://revs.council.local/nndr/1")["value"]["system"] == "business_rates"
    assert core("pickSystem", systems, "https://housing.council.local/") == {"value": None}
    assert core("pickSystem", None, "https://housing.council.local/") == {"value": None}


def test_read_reference_is_self_contained(core, page):
    """The extension sends readReference's source to the page on its own, without lookup.js."""
    source = page.evaluate("fairdebtLookup.readReference.toString()")
    page.set_content("<p><span class='ref'>  R-9 </span></p><textarea id='t'> T-1 </textarea>")
    assert page.evaluate(f"({source})('.ref')") == {"text": "  R-9 "}
    assert page.evaluate(f"({source})('#t')") == {"text": " T-1 "}
    assert page.evaluate(f"({source})('')") == {"error": "No selector is set up for this case system."}


# --- the extension -------------------------------------------------------------------------------


def test_extension_asks_for_little_and_runs_no_inline_or_remote_code():
    manifest = json.loads((EXTENSION / "manifest.json").read_text())
    assert manifest["manifest_version"] == 3
    assert sorted(manifest["permissions"]) == ["activeTab", "scripting", "storage"]
    for key in ("host_permissions", "optional_host_permissions", "optional_permissions", "content_scripts",
                "externally_connectable", "web_accessible_resources", "update_url"):  # fmt: skip
        assert key not in manifest, key
    csp = manifest["content_security_policy"]["extension_pages"]
    assert "script-src 'self';" in csp and "unsafe" not in csp and "http" not in csp
    referenced = [manifest["background"]["service_worker"], manifest["options_ui"]["page"], manifest["storage"]["managed_schema"]]
    for name in referenced:
        assert (EXTENSION / name).is_file(), name
    json.loads((EXTENSION / manifest["storage"]["managed_schema"]).read_text())

    for html in EXTENSION.glob("*.html"):
        text = html.read_text()
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", text, flags=re.S)
        assert scripts
        for attributes, body in scripts:
            src = re.search(r'\bsrc="([^"]+)"', attributes)
            assert src and body.strip() == "", f"{html.name}: inline script"
            assert (EXTENSION / src.group(1)).is_file(), f"{html.name}: {src.group(1)} is not in the extension"
        assert not re.search(r"\son[a-z]+\s*=", text, flags=re.I), f"{html.name}: inline event handler"
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), f"{html.name}: remote resource"
    for js in [*EXTENSION.glob("*.js"), LOOKUP / "bookmarklet.js"]:
        # Comments and messages may mention addresses; the code itself may not.
        code = re.sub(r"/\*.*?\*/", "", js.read_text(), flags=re.S)
        code = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', code)
        for remote in ("fetch(", "XMLHttpRequest", "eval(", "new Function", "import(", "http://", "https://", "//"):
            assert remote not in code, f"{js.name}: {remote}"
    background = (EXTENSION / manifest["background"]["service_worker"]).read_text()
    assert re.findall(r"importScripts\(([^)]*)\)", background) == ['"lookup.js"']


@pytest.fixture
def extension(playwright, browser_type_launch_args, tmp_path):
    """The extension loaded in a Chromium of its own; returns (context, service worker).

    Loaded from a copy given host permission for 127.0.0.1: it stands in for the activeTab grant
    that clicking the toolbar button gives, which Playwright cannot do.
    """
    unpacked = tmp_path / "extension"
    shutil.copytree(EXTENSION, unpacked)
    manifest = json.loads((unpacked / "manifest.json").read_text())
    manifest["host_permissions"] = ["http://127.0.0.1/*"]
    (unpacked / "manifest.json").write_text(json.dumps(manifest))
    options = {k: v for k, v in browser_type_launch_args.items() if k != "args"}
    args = [*browser_type_launch_args.get("args", []), f"--disable-extensions-except={unpacked}", f"--load-extension={unpacked}"]
    context = playwright.chromium.launch_persistent_context(tmp_path / "profile", **options, args=args)
    try:
        worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
        yield context, worker
    finally:
        context.close()


def test_extension_options_and_toolbar_button(extension, case_system, fairdebt):
    context, worker = extension
    extension_id = urlsplit(worker.url).hostname
    options = context.new_page()
    errors: list[str] = []
    options.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    options.on("pageerror", lambda exc: errors.append(str(exc)))
    options.goto(f"chrome-extension://{extension_id}/options.html")
    options.locator("fieldset.system").first.wait_for()  # the saved settings are in

    # Wrong settings are refused with a message for each.
    options.get_by_label("fairdebt address").fill("http://fairdebt.example.gov.uk")
    options.get_by_label("System", exact=True).fill("housing tenancies")
    options.get_by_role("button", name="Save").click()
    summary = options.locator("#errors")
    assert summary.is_visible()
    assert summary.locator("li").all_inner_texts() == [
        "The fairdebt address must start with https:// (http://fairdebt.example.gov.uk).",
        "Case system 1: enter the page addresses.",
        'Case system 1: The system name must be letters, digits, _ . or - (like housing or council_tax), not "housing tenancies".',
        "Case system 1: enter a valid CSS selector.",
    ]

    # Right ones are saved.
    options.get_by_label("fairdebt address").fill(f"{fairdebt.url}/")
    options.get_by_label("Page addresses").fill("http://127.0.0.1:*/tenancy/*")
    options.get_by_label("System", exact=True).fill("housing")
    options.get_by_label("Selector", exact=True).fill("#tenancy-ref")
    options.get_by_role("button", name="Add a case system").click()
    options.locator("#pattern-2").fill("http://127.0.0.1:*/ctax/*")
    options.locator("#system-2").fill("council_tax")
    options.locator("#selector-2").fill("input[name=account_ref]")
    options.get_by_role("button", name="Save").click()
    assert options.locator("#status").inner_text() == "Saved"
    assert not summary.is_visible()
    assert worker.evaluate("chrome.storage.sync.get(null)") == {
        "base": fairdebt.url,
        "systems": [
            {"pattern": "http://127.0.0.1:*/tenancy/*", "system": "housing", "selector": "#tenancy-ref"},
            {"pattern": "http://127.0.0.1:*/ctax/*", "system": "council_tax", "selector": "input[name=account_ref]"},
        ],
    }
    options.reload()
    assert options.get_by_label("fairdebt address").input_value() == fairdebt.url
    assert options.locator("fieldset.system").count() == 2
    assert errors == []

    # The toolbar button on a case system page opens the lookup next to it.
    record = context.new_page()
    record.goto(f"{case_system.url}/tenancy/42")
    click = """async url => { const [tab] = await chrome.tabs.query({url}); return await self.fairdebtLookUp(tab); }"""
    with context.expect_page() as opened:
        opened_url = worker.evaluate(click, f"{case_system.url}/tenancy/42")
    lookup = opened.value
    lookup.wait_for_load_state()
    assert opened_url == lookup.url == f"{fairdebt.url}/lookup?system=housing&ref={ENCODED}"
    assert lookups(fairdebt) == [
        {"path": "/lookup", "query": {"system": ["housing"], "ref": [REFERENCE]}, "referer": False}
    ]

    # On a page that is not a configured case system it says so on the page and opens nothing.
    said: list[str] = []
    other = context.new_page()
    other.on("dialog", lambda dialog: (said.append(dialog.message), dialog.dismiss()))
    other.goto(f"{case_system.url}/frames")
    pages = len(context.pages)
    assert worker.evaluate(click, f"{case_system.url}/frames") is None
    assert said == ["fairdebt lookup: this page is not one of the case systems set up in the extension's options."]
    assert len(context.pages) == pages
