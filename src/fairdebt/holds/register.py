"""The client fairdebt uses to pull notifications from the Breathing Space register.

The wire contract is the one `fairdebt.fakes.breathing_space` documents and serves locally.
Standard library only (urllib), no Django: the importer decides where the URL and key come from
(FAIRDEBT_BREATHING_SPACE_URL and FAIRDEBT_BREATHING_SPACE_KEY) and stores the cursor.

Every failure to get a usable answer raises `RegisterUnavailable`, whose message tells an operator
what went wrong and what to do. Nothing is half-read: a page is yielded only once it has been
fetched and checked whole, so a failure part-way leaves the caller's saved cursor where it was.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

__all__ = ["MAX_PAGE_SIZE", "RegisterClient", "RegisterUnavailable"]

MAX_PAGE_SIZE = 500
KEY_SETTING = "FAIRDEBT_BREATHING_SPACE_KEY"
URL_SETTING = "FAIRDEBT_BREATHING_SPACE_URL"


class RegisterUnavailable(Exception):
    """The register could not be read; the message says what went wrong and what to do next.

    `status` is the HTTP status when the register answered, None when it could not be reached.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RegisterClient:
    def __init__(self, base_url: str, api_key: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def notifications(self, after: str | None = None, page_size: int = 100) -> Iterator[tuple[dict, str | None]]:
        """Every notification published after cursor `after` (all of them if None), in order.

        Yields (notification, cursor), where the cursor is always safe to save once that
        notification has been handled, and passing it back as `after` resumes the feed:
        with the last notification of a page it is the cursor after that page; with the others
        it is the cursor the page started from (None on the very first page: the start of the
        feed). So saving after every notification never skips one if the run stops part-way; at
        worst the rest of a page is read again, which importing by notification id makes harmless.
        The last cursor yielded is where the next run should start.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be from 1 to {MAX_PAGE_SIZE}, not {page_size}")
        cursor = after
        while True:
            query = {"limit": page_size} | ({"after": cursor} if cursor is not None else {})
            _, page = self._get(f"/v1/notifications?{urlencode(query)}", what="notifications")
            notices, nxt, resume = self._check_page(page)
            last = len(notices) - 1
            for i, notice in enumerate(notices):
                yield notice, (resume if i == last else cursor)
            if nxt is None:
                return
            if nxt == cursor:  # a register that hands back the same cursor would loop for ever
                raise RegisterUnavailable(
                    f"The Breathing Space register at {self.base_url} returned the same page cursor twice "
                    f"({nxt!r}). Stop the import and report this to the Insolvency Service; the saved cursor "
                    "has not moved.")
            cursor = nxt

    def moratorium(self, reference: str) -> dict | None:
        """The register's current state of one moratorium, or None if it has no such moratorium."""
        status, body = self._get(f"/v1/moratoria/{quote(reference, safe='')}", what=f"moratorium {reference}",
                                 allow_404=True)
        if status == 404:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("reference"), str):
            raise self._malformed(f"moratorium {reference}", "it is not a moratorium record")
        return body

    # ------------------------------------------------------------------------------ internals
    def _check_page(self, page: Any) -> tuple[list[dict], str | None, str]:
        ok = (isinstance(page, dict) and isinstance(page.get("notifications"), list)
              and all(isinstance(n, dict) for n in page["notifications"])
              and (page.get("next") is None or isinstance(page.get("next"), str))
              and isinstance(page.get("cursor"), str))
        if not ok:
            raise self._malformed("notifications", "it does not have notifications, next and cursor")
        return page["notifications"], page["next"], page["cursor"]

    def _malformed(self, what: str, why: str) -> RegisterUnavailable:
        return RegisterUnavailable(
            f"The Breathing Space register at {self.base_url} sent a reply for {what} that we cannot use ({why}). "
            "Nothing was imported from it and the saved cursor has not moved; try again later, and if it "
            "keeps happening report it to the Insolvency Service.", status=200)

    def _get(self, path: str, *, what: str, allow_404: bool = False) -> tuple[int, Any]:
        url = self.base_url + path
        request = Request(url, headers={"Authorization": f"Bearer {self.api_key}", "Accept": "application/json",
                                        "User-Agent": "fairdebt-breathing-space-client/1"})
        try:
            with urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - the URL is configuration
                status, raw = response.status, response.read()
        except HTTPError as exc:
            status, raw = exc.code, exc.read()
            exc.close()
        except URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise self._timed_out() from None
            raise RegisterUnavailable(
                f"Could not reach the Breathing Space register at {self.base_url} ({reason}). Check "
                f"{URL_SETTING} and that the network allows the connection; the import will try again on its "
                "next run and no notices are lost (the saved cursor has not moved).") from None
        except (TimeoutError, socket.timeout):
            raise self._timed_out() from None
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            raise RegisterUnavailable(
                f"The connection to the Breathing Space register at {self.base_url} broke while reading {what} "
                f"({type(exc).__name__}). The import will try again on its next run; the saved cursor has not moved."
            ) from None

        if status == 404 and allow_404:
            return status, None
        if status in (401, 403):
            raise RegisterUnavailable(
                f"The Breathing Space register refused our API key ({status}). Check {KEY_SETTING} "
                "(it may have expired or been replaced) and run the import again.", status=status)
        if status == 429 or status >= 500:
            raise RegisterUnavailable(
                f"The Breathing Space register at {self.base_url} is not able to answer just now (HTTP {status}). "
                "The import will try again on its next run; if this lasts more than a day, contact the "
                "Insolvency Service and check notices by hand in the online breathing space service.",
                status=status)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            snippet = raw[:80].decode("utf-8", "replace")
            raise RegisterUnavailable(
                f"The Breathing Space register at {self.base_url} sent a reply for {what} that is not JSON "
                f"(HTTP {status}, starting {snippet!r}). Check {URL_SETTING} points at the register's API, "
                "not a web page or a proxy; the saved cursor has not moved.", status=status) from None
        if status == 400:
            error = body.get("error") if isinstance(body, dict) else None
            raise RegisterUnavailable(
                f"The Breathing Space register refused our request for {what} (400: {str(error)[:200]}). "
                "If it names the cursor, the saved cursor is not one the register knows: clear it to read "
                "the feed again from the start (notices already imported are recognised by id and skipped).",
                status=status)
        if status != 200:
            raise RegisterUnavailable(
                f"The Breathing Space register at {self.base_url} answered {what} with HTTP {status}, which we "
                f"did not expect. Check {URL_SETTING}; the saved cursor has not moved.", status=status)
        return status, body

    def _timed_out(self) -> RegisterUnavailable:
        return RegisterUnavailable(
            f"The Breathing Space register at {self.base_url} did not answer within {self.timeout:g} seconds. "
            "The import will try again on its next run; the saved cursor has not moved.")
