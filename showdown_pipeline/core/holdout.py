"""The 60-day holdout (DESIGN §5): what a licensed export may contain. One place, one rule.

An export as of D (the instant D 00:00:00 UTC) contains only counted, dated votes cast before D, and
never:
  * a vote of the `live` distribution younger than HOLDOUT_DAYS at D, i.e. voted_at > D − 60 days
    (a vote exactly 60 days old may be licensed; one second younger may not);
  * any vote, of any distribution and any age, whose prompt_hash also occurs among live votes cast in
    that window (D − 60 days, D): an old copy of a live prompt would leak the live distribution.
No raw user_id, vote_id, ip_hash or device_hash leaves: contributors and votes appear only as keyed
hashes (HMAC-SHA256) under a key derived per licensee from the secret in SHOWDOWN_LICENSE_KEY, so two
licensees cannot join their copies on people. Demographic values held by fewer than K_ANONYMITY
contributors of an export are generalised to `other`.

HOLDOUT_DAYS is policy, not configuration: changing it is a code change with a new POLICY_VERSION.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from datetime import date, datetime, timedelta

from showdown_pipeline.settings import cutoff_instant

HOLDOUT_DAYS = 60
POLICY_VERSION = "holdout-60d/v1"
LIVE_DISTRIBUTION = "live"
K_ANONYMITY = 10
SECRET_ENV = "SHOWDOWN_LICENSE_KEY"
FORBIDDEN_COLUMNS = ("user_id", "vote_id", "battle_id", "session_id", "ip_hash", "device_hash")
GENERALISED_COLUMNS = ("country", "age_band", "education", "profession")
_LICENSEE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class HoldoutError(RuntimeError):
    pass


def export_window(as_of: date) -> tuple[datetime, datetime]:
    """(holdout cutoff, data cut): live votes after the cutoff are held out; nothing at or after the cut."""
    cut = cutoff_instant(as_of)
    return cut - timedelta(days=HOLDOUT_DAYS), cut


def check_licensee(name: str) -> str:
    if not _LICENSEE.match(name or ""):
        raise HoldoutError(f"licensee must be 1-64 letters, digits, '.', '_' or '-' (got {name!r})")
    return name


def license_secret() -> bytes:
    secret = os.environ.get(SECRET_ENV, "")
    if len(secret) < 16:
        raise HoldoutError(
            f"{SECRET_ENV} is not set (or shorter than 16 characters): licensed exports need a secret to key "
            "contributor and vote pseudonyms; nothing was written"
        )
    return secret.encode()


def licensee_key(secret: bytes, licensee: str) -> bytes:
    """The per-licensee HMAC key: pseudonyms of two licensees cannot be joined."""
    return hmac.new(secret, f"showdown-licensee:{licensee}".encode(), hashlib.sha256).digest()


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """(inner, outer) padded keys, so SQL computes HMAC-SHA256 as sha256(outer || sha256(inner || m))."""
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def pseudonym(key: bytes, value: str) -> str:
    """HMAC-SHA256(key, value) in hex: what the SQL computes, for tests and independent checks."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
