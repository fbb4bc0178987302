"""Card-number detection and masking, and the validated field types (phone, country, text)."""

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from app.core import fields
from app.core.config import Settings
from app.core.fields import (
    Country,
    FreeText,
    OrderNumber,
    Phone,
    PlainText,
    contains_card_number,
    luhn_valid,
    mask_card_numbers,
)

DIGITS = "0123456789"
VALID_CARDS = ["4111111111111111", "5555555555554444", "378282246310005", "4222222222222",
               "6011111111111117", "3530111333300000", "4000000000000000006"]
PHONES = ["+86 138 0013 8000", "+86-138-0013-8000", "+8613800138000", "+44 20 7946 0958",
          "+1 (415) 555-2671", "+61 2 9374 4000", "+33 1 42 68 53 00", "0049 30 901820"]


def _check_digit(body: str) -> str:
    return next(d for d in DIGITS if luhn_valid(body + d))


def _digit(char: str) -> bool:
    return unicodedata.digit(char, None) is not None


def _spec_card_runs(text: str) -> list[str]:
    """Independent oracle: every Luhn-valid 13-19 digit run the text holds."""
    # A run is 13-19 digits (any script or width), optionally joined by 1-3 characters that are
    # neither letters nor digits, with no digit directly before or after it; every such window
    # counts, not only the longest one.
    found, n = [], len(text)
    for start in range(n):
        if not _digit(text[start]) or (start and _digit(text[start - 1])):
            continue
        digits, i = "", start
        while i < n and len(digits) < 19:
            if _digit(text[i]):
                digits += str(unicodedata.digit(text[i]))
                end = i + 1
                if (len(digits) >= 13 and not (end < n and _digit(text[end]))
                        and luhn_valid(digits)):
                    found.append(text[start:end])
                i += 1
                continue
            gap = i
            while gap < n and gap - i < 3 and not text[gap].isalnum():
                gap += 1
            if gap == i or gap >= n or not _digit(text[gap]):
                break
            i = gap
    return found


@st.composite
def card_numbers(draw) -> str:
    """A Luhn-valid 13-19 digit number, plain or grouped by fours with spaces or dashes."""
    length = draw(st.integers(13, 19))
    body = draw(st.text(DIGITS, min_size=length - 1, max_size=length - 1))
    number = body + _check_digit(body)
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join(number[i:i + 4] for i in range(0, len(number), 4))


texts_with_cards = st.lists(
    st.one_of(card_numbers(), st.text(DIGITS + " -/+abcXYZ.", max_size=8)), max_size=6,
).map("".join)
texts_without_digit_runs = st.text(st.characters(blacklist_categories=("Nd", "No")),
                                   max_size=60)


class _Structured(BaseModel):
    value: PlainText


class _Order(BaseModel):
    number: OrderNumber


class _Free(BaseModel):
    body: FreeText


class _Phone(BaseModel):
    phone: Phone


class _Country(BaseModel):
    country: Country


def _error_type(exc: ValidationError) -> str:
    return exc.value.errors()[0]["type"]


@pytest.mark.parametrize("number", VALID_CARDS + ["79927398713", "0"])
def test_luhn_accepts_known_valid_numbers(number):
    """Test card numbers and the textbook example pass the Luhn check."""
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4111111111111112", "1234567812345678", "79927398710",
                                    "5555555555554445", "8613800138000"])
def test_luhn_rejects_invalid_numbers(number):
    """A wrong check digit fails the Luhn check."""
    assert not luhn_valid(number)


@pytest.mark.parametrize("number", VALID_CARDS)
@pytest.mark.parametrize("separator", ["", " ", "-"])
def test_card_numbers_are_found_plain_or_grouped(number, separator):
    """13-19 digit Luhn-valid runs are found, grouped by spaces or dashes, inside text."""
    grouped = separator.join(number[i:i + 4] for i in range(0, len(number), 4))
    assert contains_card_number(grouped)
    assert contains_card_number(f"my card is {grouped}, thanks")
    assert contains_card_number(f"card:{grouped}.")


@pytest.mark.parametrize("text", [
    "4111111111111112",            # 16 digits, Luhn-invalid
    "4111 1111 1111 1112",
    "1234-5678-1234-5678",
    "411111111117",                # 12 digits, Luhn-valid
    "41111111111111111115",        # 20 digits, Luhn-valid
    "x41111111111111111115y",
    "order HG-2026-000123 for 2 items",
    "4111 x 1111 1111 1111",       # a letter breaks the number
    "4111    1111 1111 1111",      # so do four separators in a row
])
def test_non_card_digit_runs_are_ignored(text):
    """Luhn-invalid runs and 12- or 20-digit runs are not card numbers."""
    assert not contains_card_number(text)
    assert mask_card_numbers(text) == text


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_not_card_numbers(phone):
    """Ordinary phone numbers, in any common format, are left alone."""
    text = f"please call me on {phone} after six"
    assert not contains_card_number(text)
    assert mask_card_numbers(text) == text


@pytest.mark.parametrize(("text", "masked"), [
    ("4111111111111111", "************1111"),
    ("4111 1111 1111 1111", "**** **** **** 1111"),
    ("4111-1111-1111-1111", "****-****-****-1111"),
    ("amex 3782 822463 10005 ok", "amex **** ****** *0005 ok"),
    ("a 4222222222222 and 5555 5555 5555 4444.",
     "a *********2222 and **** **** **** 4444."),
])
def test_masking_keeps_only_the_last_four_digits_and_separators(text, masked):
    """Every digit but the last four becomes '*'; separators and other text stay."""
    assert mask_card_numbers(text) == masked


def test_card_followed_by_expiry_is_still_masked():
    """A card number typed with its expiry and CVV after it is still found and masked."""
    text = "my card is 4111 1111 1111 1111 12/27 cvv 123"
    assert contains_card_number(text)
    assert mask_card_numbers(text) == "my card is **** **** **** 1111 12/27 cvv 123"


@given(texts_with_cards)
@example("my card is 4111 1111 1111 1111 12/27 cvv 123")
@example("qty 2 4111111111111111")
def test_masking_never_leaves_a_card_number(text):
    """After masking, no Luhn-valid 13-19 digit run is left anywhere in the text."""
    masked = mask_card_numbers(text)
    assert _spec_card_runs(masked) == []
    assert len(masked) == len(text)
    assert all(m == t or (m == "*" and _digit(t)) for m, t in zip(masked, text, strict=True))


@given(texts_with_cards)
@example("card 5555-5555-5555-4444 12")
@example("cvv 123 4111 1111 1111 1111")
def test_detection_agrees_with_the_definition(text):
    """contains_card_number is true exactly when the text holds a card-number run."""
    assert contains_card_number(text) == bool(_spec_card_runs(text))


@given(st.one_of(texts_without_digit_runs, texts_with_cards))
def test_text_without_card_numbers_is_unchanged(text):
    """Text holding no card-number run comes back exactly as it went in."""
    if not _spec_card_runs(text):
        assert mask_card_numbers(text) == text


@given(card_numbers(), texts_without_digit_runs, texts_without_digit_runs)
def test_card_in_words_is_masked_to_last_four(card, before, after):
    """A card number between words loses all but its last four digits."""
    digits = sum(c in DIGITS for c in card)
    seen, masked_card = 0, ""
    for c in card:
        seen += c in DIGITS
        masked_card += "*" if c in DIGITS and seen <= digits - 4 else c
    assert mask_card_numbers(f"{before} {card} {after}") == f"{before} {masked_card} {after}"


def test_structured_field_rejects_card_numbers():
    """PlainText and order numbers refuse card numbers with card_number_rejected."""
    with pytest.raises(ValidationError) as exc:
        _Structured(value="4111 1111 1111 1111")
    assert _error_type(exc) == "card_number_rejected"
    with pytest.raises(ValidationError) as exc:
        _Order(number="4111111111111111")
    assert _error_type(exc) == "card_number_rejected"
    assert _Structured(value="  Keyuan Road 18 ").value == "Keyuan Road 18"
    assert _Order(number="HG-2026-000123").number == "HG-2026-000123"


def test_free_text_is_masked_not_rejected():
    """FreeText keeps the message but masks the card number in it."""
    body = _Free(body="Please charge 4111-1111-1111-1111 again").body
    assert body == "Please charge ****-****-****-1111 again"


@pytest.mark.parametrize(("given_phone", "e164"), [
    ("+86 138 0013 8000", "+8613800138000"),
    ("+86-138-0013-8000", "+8613800138000"),
    ("+1 (415) 555-2671", "+14155552671"),
    ("+44 20 7946 0958", "+442079460958"),
    ("  +8613800138000  ", "+8613800138000"),
])
def test_phone_is_stored_as_e164(given_phone, e164):
    """Phone numbers in international form are normalised to E.164."""
    assert _Phone(phone=given_phone).phone == e164


@pytest.mark.parametrize("bad", ["12", "not a phone", "+1 555", "+86 138", "+999 123 456"])
def test_invalid_phone_is_rejected(bad):
    """Things that are not valid phone numbers fail with phone_invalid."""
    with pytest.raises(ValidationError) as exc:
        _Phone(phone=bad)
    assert _error_type(exc) == "phone_invalid"


def test_national_phone_needs_a_default_region(monkeypatch):
    """Without a default region a national number is invalid; with one it is normalised."""
    monkeypatch.setattr(fields, "get_settings", lambda: Settings(_env_file=None))
    with pytest.raises(ValidationError) as exc:
        _Phone(phone="138 0013 8000")
    assert _error_type(exc) == "phone_invalid"
    monkeypatch.setattr(fields, "get_settings",
                        lambda: Settings(_env_file=None, default_phone_region="CN"))
    assert _Phone(phone="138 0013 8000").phone == "+8613800138000"
    assert _Phone(phone="+44 20 7946 0958").phone == "+442079460958"


def test_country_is_an_upper_case_alpha2_code():
    """Country codes are upper-cased and must be known regions."""
    assert _Country(country="cn").country == "CN"
    with pytest.raises(ValidationError) as exc:
        _Country(country="XX")
    assert _error_type(exc) == "country_invalid"
