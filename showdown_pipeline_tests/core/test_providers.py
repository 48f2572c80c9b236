"""The provider ledger's rules on hand-built registries (core/providers.py): which spellings are one provider,
which stay apart but read the same, and what the shares of such rows add up to."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from showdown_pipeline.core import normalise, providers

END = datetime(2026, 7, 1, tzinfo=UTC)
# model -> the provider as models.csv spells it: OpenAI in every disguise a careless or hostile registry can give
SPELLED = {
    "m-1": "OpenAI",
    "m-2": "openai",  # case only: the same provider, named by its first spelling
    "m-3": "Open\u200bAI\u202e",  # zero-width space and a right-to-left override: removed, the same provider
    "m-4": "OpenAl",  # lower-case L
    "m-5": "Open\u0391I",  # Greek capital Alpha
    "m-6": "Open AI",
    "m-7": "Acme",
    "m-8": "unkn\u043ewn",  # Cyrillic o: not the unknown provider, but reads like it
}
BATTLES = pd.DataFrame(
    [
        ("m-1", "m-7", 10),
        ("m-2", "m-7", 5),
        ("m-3", "m-7", 1),
        ("m-4", "m-7", 4),
        ("m-5", "m-6", 3),
        ("m-8", "m-x", 2),
    ],
    columns=["model_left", "model_right", "n"],
)


def registry(spelled: dict[str, str]) -> list[dict]:
    return [
        {"model_id": m, "provider": normalise.provider(p)[0], "released_at": None, "deprecated_at": None}
        for m, p in spelled.items()
    ]


def test_providers_that_read_the_same_are_kept_apart_but_each_row_names_the_others():
    """Case and invisible characters make one provider (`OpenAI`, 16 sides); a lower-case L, a Greek Alpha and
    a space make providers of their own, which a reader cannot tell from `OpenAI`: each of those rows lists the
    others in `looks_like` (so a provider cannot hide its share by splitting its name unnoticed), and the shares
    of the group add up to what one `OpenAI` would hold. A Cyrillic-o `unknown` is flagged beside `unknown`."""
    table = providers.ledger(
        registry(SPELLED), {"battle": BATTLES, "vote": BATTLES, "licensed": None}, None, None, END
    )
    ledger = table.to_pandas().set_index("provider")
    group = ["OpenAI", "OpenAl", "Open\u0391I", "Open AI"]
    assert list(ledger.index) == [*group, "Acme", "unkn\u043ewn", "unknown"]
    assert ledger["battle_sides"].to_dict() == {
        "OpenAI": 16,
        "OpenAl": 4,
        "Open\u0391I": 3,
        "Open AI": 3,
        "Acme": 20,
        "unkn\u043ewn": 2,
        "unknown": 2,
    }
    for name in group:
        assert sorted(ledger.loc[name, "looks_like"]) == sorted(o for o in group if o != name), name
    assert list(ledger.loc["Acme", "looks_like"]) == []
    assert list(ledger.loc["unknown", "looks_like"]) == ["unkn\u043ewn"]
    one = providers.ledger(
        registry(
            {m: ("OpenAI" if p != "Acme" and not p.startswith("unkn") else p) for m, p in SPELLED.items()}
        ),
        {"battle": BATTLES, "vote": BATTLES, "licensed": None},
        None,
        None,
        END,
    ).to_pandas()
    assert ledger.loc[group, "battle_share"].sum() == pytest.approx(
        one.set_index("provider").loc["OpenAI", "battle_share"], abs=1e-15
    )
    assert ledger["battle_share"].sum() == pytest.approx(1.0, abs=1e-15)


def test_name_skeleton_reads_look_alike_letters_case_spaces_and_punctuation_as_one():
    """The skeleton is what a reader sees; distinct providers keep distinct skeletons."""
    same = ["OpenAI", "OpenAl", "Open\u0391I", "Open AI", "open-ai", "\u041epen\u0410I", "\u00d3penAI"]
    assert {providers.name_skeleton(n) for n in same} == {"openal"}
    distinct = ["OpenAI", "Anthropic", "Acme", "Mistral", "Meta", "unknown"]
    assert len({providers.name_skeleton(n) for n in distinct}) == len(distinct)
