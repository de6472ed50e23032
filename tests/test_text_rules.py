"""The text rules on the start-up path, written with ``str`` methods (``re`` is not
imported there), give exactly what their regular expressions give."""

from __future__ import annotations

import re

import pytest

from bandwidth_credentials import ConfigurationError, UnknownServiceError, parse_source
from bandwidth_credentials._checks import text_problem, url_problem
from bandwidth_credentials._schema import LOOKUP, canonical_service, compact
from bandwidth_credentials._source import _short_number, _valid_scheme

SAMPLES = [
    "",
    "a",
    "env",
    "aws-lambda-ext",
    "x+y.z-1",
    "1abc",
    "-abc",
    "ab_c",
    "ab c",
    "Ab",
    "é",
    "aé",
    "k\u212a",  # KELVIN SIGN: a letter whose lower() is "k"
    "0",
    "60",
    "2.5",
    "123456789",
    "1234567890",
    "1.234",
    "1.2345",
    "1.",
    ".5",
    "1..2",
    "1e3",
    "١٢",  # Arabic-Indic digits: isdigit() but not [0-9]
    "²",
    "Account-ID",
    "BW_VOICE_USERNAME",
    "client.secret",
    "İstanbul",
    "phone number lookup",
    "voice\tapi",
    "a\nb",
    "tab\there",
    "nbsp\u00a0here",
    "del\x7fhere",
    "c1\x85here",
    "c1\x9fend",
    "\x00",
    "zero\u200bwidth",
    "line\u2028sep",
    "emoji 🙂",
    "ascii only !@#$%^&*()",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_scheme_rule_matches_its_regex(text: str) -> None:
    expected = re.match(r"^[a-z][a-z0-9+.\-]*$", text) is not None and not text.endswith("\n")

    assert _valid_scheme(text) is expected


@pytest.mark.parametrize("text", SAMPLES)
def test_short_number_rule_matches_its_regex(text: str) -> None:
    expected = re.fullmatch(r"[0-9]{1,9}(\.[0-9]{1,3})?", text) is not None

    assert _short_number(text) is expected


@pytest.mark.parametrize("text", SAMPLES)
def test_compact_names_match_their_regex(text: str) -> None:
    # Only "_" and "-" are removed and only ASCII letters lowered: "é", a space or a
    # zero-width space stays, and the Kelvin sign is not a "k".
    expected = re.sub(r"[A-Z]", lambda match: match.group().lower(), re.sub(r"[_-]", "", text))

    assert compact(text) == expected


@pytest.mark.parametrize("text", SAMPLES)
def test_control_characters_are_found_as_their_regex_finds_them(text: str) -> None:
    has_control = re.search(r"[\x00-\x1f\x7f-\x9f]", text) is not None

    problem = text_problem(text)

    if has_control:
        assert problem is not None
        assert "control character" in problem
    else:
        assert problem is None or "control character" not in problem


@pytest.mark.parametrize(
    "spelling",
    [
        "Phone Number Lookup",
        "phone__number  lookup",
        " PHONE_NUMBER_LOOKUP ",
        "phone\tnumber_lookup",
    ],
)
def test_runs_of_spaces_and_underscores_are_one_separator(spelling: str) -> None:
    assert canonical_service(spelling) == "phone-number-lookup"


@pytest.mark.parametrize(
    "spelling",
    ["phone-_number-lookup", "voice!", "vo ice", "_voice", "voice_", "__2fa__", "_ voice"],
)
def test_other_spellings_are_unknown_as_before(spelling: str) -> None:
    lowered = spelling.strip().lower()
    expected = LOOKUP.get(lowered) or LOOKUP.get(re.sub(r"[\s_]+", "-", lowered))
    assert expected is None

    with pytest.raises(UnknownServiceError):
        canonical_service(spelling)


def test_a_url_with_a_control_character_is_refused() -> None:
    assert url_problem("https://api.example.com/\x7f") is not None
    assert url_problem("https://api.example.com/") is None


@pytest.mark.parametrize("scheme", ["1env", "en v", "env\u00e9", "_env"])
def test_a_bad_scheme_is_a_configuration_error(scheme: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a source URI"):
        parse_source(f"{scheme}:x")


def test_short_numbers_are_shown_and_others_hidden() -> None:
    shown = parse_source("vault:secret/bw?ttl=60&max_stale=2.5&timeout=1e3")

    assert shown.uri == "vault:secret/bw?ttl=60&max_stale=2.5&timeout=***"


@pytest.mark.parametrize("text", [*SAMPLES, "_a_", "a _ b", " _x", "x\u3000_ y", "__"])
def test_runs_of_spaces_and_underscores_become_one_dash_as_the_regex_makes_them(text: str) -> None:
    from bandwidth_credentials._schema import _dashed

    assert _dashed(text) == re.sub(r"[\s_]+", "-", text)
