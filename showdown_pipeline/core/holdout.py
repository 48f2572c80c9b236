"""The 60-day holdout (DESIGN §5): what a licensed export may contain. One place, one rule.

An export as of D (the instant D 00:00:00 UTC) contains only counted, dated votes cast before D, and
never:
  * a vote of the `live` distribution younger than HOLDOUT_DAYS at D, i.e. voted_at > D − 60 days
    (a vote exactly 60 days old may be licensed; one second younger may not);
  * any vote, of any distribution and any age, whose prompt is PROTECTED. The leak guard fails closed:
    a prompt is protected when ANY ingested vote record carried it (votes_checked: valid, quarantined for
    whatever reason, a duplicate, excluded by integrity) that
      - is or might be live: its distribution normalised to `live`, or did not normalise (a look-alike,
        garbage) or arrived as a non-string, so it might be live; and
      - is or might be in the window: voted after D − 60 days with NO upper bound (a live vote at or
        after the export's cut, already in the warehouse, protects its prompt too: an export as of a
        past date must not license old copies of prompts that are live now), or its voted_at is missing
        or unreadable.
    A record's protective keys are `protected_prompt_keys`: its prompt key folded leniently (lower
    case, every character but a-z and 0-9 removed, a leading "0x" dropped: "ABCD-EF01-…" and
    "ab:cd:ef:…" are "abcdef01…"), and for a prompt delivered as a JSON integer (raw_votes.json_types)
    also its 64-bit two's-complement hex spelling; they are compared with the candidates' canonical keys.
    The writer's SQL (sql/licensing/create_licensed_candidates.sql) and the independent re-check
    (sql/licensing/export_violations.sql) each implement this rule on their own.
D is never later than today (UTC): a future as-of would move the window past every live vote.
Consequence: an export's contents depend on the warehouse when it is made, not only on D (a live vote
ingested later protects more prompts); the manifest records the warehouse it was made from.

No upstream identifier leaves: contributors, votes and prompts appear only as keyed hashes
(HMAC-SHA256) under a key derived per export — licensee AND as-of — from the secret in
SHOWDOWN_LICENSE_KEY, which must have real entropy (`secret_weakness`). Two exports, of one licensee or
of two, share no key. The quasi-identifiers an export carries are k-anonymous per contributor
(K_ANONYMITY contributors share each one's demographics and set of languages; `core/anonymity.py`),
and times and style counts are coarsened (`EXPORT_PRECISION`) so a row is not a fingerprint of the raw
vote.

HOLDOUT_DAYS is policy, not configuration: changing it is a code change with a new POLICY_VERSION.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import os
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from showdown_pipeline.settings import cutoff_instant

HOLDOUT_DAYS = 60
# v3: the leak guard protects the prompts of every ingested record that might be live, with no upper bound;
# pseudonyms keyed per (licensee, as-of); k-anonymity per contributor including their set of languages.
POLICY_VERSION = "holdout-60d/v3"
K_ANONYMITY = 10
SECRET_ENV = "SHOWDOWN_LICENSE_KEY"
FORBIDDEN_COLUMNS = (
    "user_id",
    "vote_id",
    "battle_id",
    "session_id",
    "ip_hash",
    "device_hash",
    "prompt_hash",
)
# What a licensee receives instead of full precision (measured in bench/bench_licensing.py, README):
# the UTC date of the vote, counts to 2 significant digits, loading times to 100 ms.
EXPORT_PRECISION = {"voted_on": "UTC date", "counts": "2 significant digits", "latency_ms": "100 ms"}

SECRET_MIN_LENGTH = 32
SECRET_MIN_DISTINCT = 12
SECRET_MIN_BITS = 96
SECRET_ADVICE = "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
# Orders in which a run of neighbours is a pattern, not randomness: code points (abc…, 123…, aZbY… by
# constant steps) and the rows of a QWERTY keyboard (qwerty…, asdf…), a key typed with shift held at the
# same place as without it (!QAZ@WSX… is 1qaz2wsx…).
_KEYBOARD = "`1234567890-=qwertyuiop[]\\asdfghjkl;'zxcvbnm,./"
_KEYBOARD_SHIFTED = '~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:"ZXCVBNM<>?'
_KEY_POSITION = {**{c: i for i, c in enumerate(_KEYBOARD)}, **{c: i for i, c in enumerate(_KEYBOARD_SHIFTED)}}
# sha256 of secrets published in this repository's history (tests, instructions): known, so never a key.
_PUBLISHED_SECRETS = frozenset({"e4e508f4661bab0484abb25ebf626bd83f4f7ebdbc03a8f37c4e9bd550401abc"})
# A secret that is mostly a date or a time (a timestamp is guessable to the second), or a UUID in its
# 8-4-4-4-12 spelling of any version but 4 (v1/v6: a clock and a network node; v3/v5: a hash of a name;
# v7: a clock and 74 random bits).
_DAY = (
    r"(?:(?:19|20|21)\d{2}([-/.])(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0[1-9]|[12]\d|3[01])([-/.])(?:0[1-9]|1[0-2])\2(?:19|20|21)\d{2})"
)
_CLOCK = (
    r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:[.,]\d+)?"
    r"(?:\s*(?:[zZ]|UTC|GMT|[+-](?:[01]\d|2[0-3]):?[0-5]\d))*"
)
_DATE_TIME = re.compile(rf"{_DAY}(?:[T _]?{_CLOCK})?[zZ]?|{_CLOCK}")
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-([0-9a-fA-F])[0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# An encoded secret (hex, base64, base64url) is judged by what it encodes: text by the rules for a secret
# (but its length), bytes by their structure: their estimate must reach this share of the most an
# estimate over that many symbols can give (random bytes of 16-32: 0.85-0.99 over 18,000 draws; none of
# 120,000 generated secrets — token_urlsafe, token_hex, random letters and digits, v4 UUIDs — refused).
DECODED_MIN_SHARE = 0.75
_LICENSEE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class HoldoutError(RuntimeError):
    pass


def export_window(as_of: date) -> tuple[datetime, datetime]:
    """(holdout cutoff, data cut): live votes after the cutoff are held out, and so are the prompts of
    records that might be live after it (at any time, even after the cut); no vote at or after the cut."""
    cut = cutoff_instant(as_of)
    return cut - timedelta(days=HOLDOUT_DAYS), cut


def check_export_as_of(as_of: date, today: date | None = None) -> date:
    """An export's as-of may be today (UTC) or earlier, never later: a future as-of would move the 60-day
    window past every live vote. The one rule for the CLI, the Dagster config and any schedule."""
    today = today or datetime.now(UTC).date()
    if as_of > today:
        raise HoldoutError(
            f"export as-of {as_of.isoformat()} is later than today ({today.isoformat()} UTC): a future as-of "
            "would move the 60-day holdout past live votes; nothing was written"
        )
    return as_of


def check_licensee(name: str) -> str:
    if not _LICENSEE.match(name or ""):
        raise HoldoutError(f"licensee must be 1-64 letters, digits, '.', '_' or '-' (got {name!r})")
    return name


def license_secret() -> bytes:
    """The licensing secret from SHOWDOWN_LICENSE_KEY, refused unless it is strong (`check_secret`)."""
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        raise HoldoutError(
            f"{SECRET_ENV} is not set: licensed exports need a secret to key contributor, vote and prompt "
            f"pseudonyms; {SECRET_ADVICE}; nothing was written"
        )
    problem = secret_weakness(secret)
    if problem:
        raise HoldoutError(f"{SECRET_ENV} is too weak: {problem}; {SECRET_ADVICE}; nothing was written")
    return secret.encode()


def secret_weakness(secret: str) -> str | None:
    """Why `secret` is not a strong licensing secret, or None. Nothing is stripped or normalised: the
    bytes given are the key, so whitespace around it (a copy-paste accident) is refused, not trimmed.
    Refused: short, few distinct characters, one character class, a secret published in this
    repository, mostly a date/time or a non-v4 UUID, a low entropy estimate, and a hex or base64
    string whose decoded text or bytes fail the same judgement (`_decoded_problem`)."""
    if secret != secret.strip():
        return "it has leading or trailing whitespace (refused, not stripped: the key would silently differ)"
    if not secret.isprintable():
        return "it contains invisible or control characters"
    if len(secret) < SECRET_MIN_LENGTH:
        return f"{len(secret)} characters, at least {SECRET_MIN_LENGTH} are needed"
    distinct = len(set(secret))
    if distinct < SECRET_MIN_DISTINCT:
        return f"only {distinct} distinct characters, at least {SECRET_MIN_DISTINCT} are needed"
    classes = _character_classes(secret)
    if len(classes) < 2:
        return f"only {classes.pop()} characters (one character class, like a word run together)"
    if hashlib.sha256(secret.encode()).hexdigest() in _PUBLISHED_SECRETS:
        return "it is published (a test secret of this repository): anybody can recompute the pseudonyms"
    return _predictable(secret) or _entropy_problem(secret) or _decoded_problem(secret)


def _entropy_problem(text: str, what: str = "estimated entropy") -> str | None:
    bits = secret_entropy_bits(text)
    if bits < SECRET_MIN_BITS:
        return (
            f"{what} {bits:.0f} bits, at least {SECRET_MIN_BITS} are needed "
            "(repeated blocks, sequences or keyboard runs count little)"
        )
    return None


def _predictable(secret: str) -> str | None:
    """A secret that is mostly a UUID of another version than 4, or mostly a date or time."""
    for match in _UUID.finditer(secret):
        if 2 * len(match.group()) >= len(secret) and match.group(1) != "4":
            return f"it is a version-{match.group(1)} UUID (a clock, a node or a name, not random bits)"
    covered = sum(len(m.group()) for m in _DATE_TIME.finditer(secret))
    if 2 * covered >= len(secret):
        return "it is mostly a date or a time (guessable to the second)"
    return None


def _decoded_problem(secret: str) -> str | None:
    """What is wrong with what a hex or base64 secret encodes: text is judged as a secret (but its
    length), bytes by their structure (sequences, repeats) relative to what random bytes would show."""
    decoded = _decode(secret)
    if decoded is None:
        return None
    if all(0x20 <= b < 0x7F for b in decoded):
        text = decoded.decode("ascii")
        if len(set(text)) < SECRET_MIN_DISTINCT or len(_character_classes(text)) < 2:
            return f"it encodes a {len(text)}-character text of few distinct characters or one class"
        return _entropy_problem(text, "it encodes text of estimated entropy")
    symbols = decoded.decode("latin-1")
    bits, most = secret_entropy_bits(symbols), len(decoded) * math.log2(min(len(decoded), 256))
    if bits < min(SECRET_MIN_BITS, DECODED_MIN_SHARE * most):
        return f"it encodes {len(decoded)} bytes of estimated entropy {bits:.0f} bits (a pattern, not random)"
    return None


def _decode(secret: str) -> bytes | None:
    """The bytes a hex, base64 or base64url string encodes (None: it is none of those)."""
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", secret):
        return bytes.fromhex(secret)
    if not re.fullmatch(r"[A-Za-z0-9+/_-]+={0,2}", secret) or len(secret.rstrip("=")) % 4 == 1:
        return None
    body = secret.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def secret_entropy_bits(secret: str) -> float:
    """A conservative estimate of a secret's entropy in bits: the least of
    * its length × the Shannon entropy of its own characters (catches few symbols and skewed use);
    * the same over the steps between characters one and two apart, in code-point order and along a
      QWERTY keyboard (a shifted key at its own key's place), plus one character's worth for the start
      (catches abcdef…, 13579…, aZbYcX…, qwerty…, 1qaz2wsx…, !QAZ@WSX…);
    * one block's worth when the secret repeats a block (catches a secret pasted twice).
    An estimate, not a measurement: it can only refuse, never certify a secret drawn from a small set
    (a sentence passes it); make secrets with `secrets.token_urlsafe`."""
    n = len(secret)
    if n == 0:
        return 0.0
    per_char = _shannon(list(secret))
    start = math.log2(len(set(secret)))
    estimates = [n * per_char, _period(secret) * per_char]
    for order in (None, "keyboard"):
        positions = [_position(c, order) for c in secret]
        for lag in (1, 2):
            steps = [b - a for a, b in zip(positions, positions[lag:], strict=False)]
            estimates.append(len(steps) * _shannon(steps) + lag * start)
    return min(estimates)


def _character_classes(secret: str) -> set[str]:
    return {
        "lower-case" if c.islower() else "upper-case" if c.isupper() else "digit" if c.isdigit() else "symbol"
        for c in secret
    }


def _shannon(symbols: list) -> float:
    if not symbols:
        return 0.0
    total = len(symbols)
    return -sum(c / total * math.log2(c / total) for c in Counter(symbols).values())


def _position(char: str, order: str | None) -> int:
    if order is None:
        return ord(char)
    index = _KEY_POSITION.get(char, -1)
    return index if index >= 0 else 1000 + ord(char)  # off the keyboard: far from every key


def _period(text: str) -> int:
    """Length of the shortest block whose repetition (possibly cut short) is `text` (prefix function)."""
    border = [0] * len(text)
    for i in range(1, len(text)):
        k = border[i - 1]
        while k and text[i] != text[k]:
            k = border[k - 1]
        border[i] = k + (text[i] == text[k])
    return len(text) - border[-1] if text else 0


def protected_prompt_keys(prompt_key: str | None, delivered_as_integer: bool = False) -> set[str]:
    """The keys under which a record that might be live and young protects its prompt (module docstring):
    the lenient fold of its prompt key, and the 64-bit hex spelling of a prompt delivered as a JSON
    integer. The SQL of the writer and of the re-check compute the same set; tests compare with this."""
    if not prompt_key:
        return set()
    keys = {re.sub(r"^0x", "", re.sub(r"[^a-z0-9]", "", prompt_key.lower()))}
    if delivered_as_integer and re.fullmatch(r"-?[0-9]+", prompt_key):
        number = int(prompt_key)
        if -(2**63) <= number < 2**64:
            keys.add(f"{number % 2**64:016x}")
    return keys - {""}


def licensee_key(secret: bytes, licensee: str, as_of: date) -> bytes:
    """The HMAC key of one export (licensee AND as-of): two licensees' pseudonyms of the same contributor,
    vote or prompt differ, and so do one licensee's at two as-of dates (their monthly exports do not join
    on keys; they can still be aligned by content, README)."""
    message = f"showdown-export:{licensee}:{as_of.isoformat()}"
    return hmac.new(secret, message.encode(), hashlib.sha256).digest()


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """(inner, outer) padded keys, so SQL computes HMAC-SHA256 as sha256(outer || sha256(inner || m))."""
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def pseudonym(key: bytes, value: str) -> str:
    """HMAC-SHA256(key, value) in hex: what the SQL computes, for tests and independent checks."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
