"""The keys of the council's side: a token key (HMAC for pseudonymisation) and a seal key
(AES-GCM for raw identifiers at rest in the vault). Each has versions; one is current.

Kept in $FAIRDEBT_HOME/keys/keys.json (mode 600), made on first use. In production the keys
directory lives with the vault, on the council's side, never with the analysis environment.
Rotation (`fairdebt rotate_keys`) adds new versions, re-seals the vault and re-tokenises every
party; the old token key is then destroyed so old extracts can no longer be matched to people.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fairdebt.domain.identity import Tokeniser


class KeyError_(Exception):
    pass


def _path() -> Path:
    from django.conf import settings

    return Path(os.environ.get("FAIRDEBT_KEYS", Path(settings.HOME) / "keys" / "keys.json"))


def _new(kind: str, n: int) -> dict:
    return {"id": f"{kind[0]}{n}", "key": base64.b64encode(secrets.token_bytes(32)).decode(),
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "retired": None}


def load() -> dict:
    path = _path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        save({"token": [_new("token", 1)], "seal": [_new("seal", 1)]})
    return json.loads(path.read_text())


def save(keys: dict) -> None:
    path = _path()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(keys, indent=1))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _current(kind: str, keys: dict | None = None) -> dict:
    keys = keys or load()
    live = [k for k in keys[kind] if not k["retired"]]
    if not live:
        raise KeyError_(f"no current {kind} key in {_path()}: restore the keys file from the council's backup")
    return live[-1]


def tokeniser(keys: dict | None = None) -> Tokeniser:
    k = _current("token", keys)
    return Tokeniser(base64.b64decode(k["key"]), k["id"])


def seal(plain: dict, context: str, keys: dict | None = None) -> tuple[str, bytes]:
    """(key id, nonce + ciphertext) of a JSON dict; `context` is bound in, so a sealed row cannot be moved."""
    k = _current("seal", keys)
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(base64.b64decode(k["key"])).encrypt(nonce, json.dumps(plain, sort_keys=True).encode(), context.encode())
    return k["id"], nonce + sealed


def unseal(key_id: str, blob: bytes, context: str, keys: dict | None = None) -> dict:
    keys = keys or load()
    matches = [k for k in keys["seal"] if k["id"] == key_id and k.get("key")]
    if not matches:
        raise KeyError_(f"seal key {key_id} is not in {_path()}: the vault row cannot be opened")
    blob = bytes(blob)
    return json.loads(AESGCM(base64.b64decode(matches[0]["key"])).decrypt(blob[:12], blob[12:], context.encode()))


def rotate() -> dict:
    """Add a new token key and a new seal key; the old ones are retired but kept until re-sealing ends."""
    keys = load()
    for kind in ("token", "seal"):
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        for k in keys[kind]:
            k["retired"] = k["retired"] or now
        keys[kind].append(_new(kind, len(keys[kind]) + 1))
    save(keys)
    return keys


def destroy_retired_token_keys() -> int:
    """Forget retired token keys (kept: their ids and dates). Seal keys are kept while any row uses them."""
    keys = load()
    count = 0
    for k in keys["token"]:
        if k["retired"] and k.get("key"):
            k["key"] = None
            count += 1
    save(keys)
    return count


def destroy_unused_seal_keys(in_use: set[str]) -> int:
    """Forget retired seal keys that no vault row uses any more."""
    keys = load()
    count = 0
    for k in keys["seal"]:
        if k["retired"] and k.get("key") and k["id"] not in in_use:
            k["key"] = None
            count += 1
    save(keys)
    return count
