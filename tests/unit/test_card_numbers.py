"""Property tests: a card number is caught whatever separates its digits and whatever digits
it is written in; no text type lets one through, and no control character gets in."""

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from app.core.fields import (
    Email,
    FreeLine,
    FreeText,
    Identifier,
    PlainText,
    ShortCode,
    StaffText,
    contains_card_number,
    luhn_valid,
    mask_card_numbers,
)

# Every character that stands for a digit (ASCII, full-width, Arabic-Indic, Devanagari, ...).
DIGIT_FORMS = {d: [] for d in range(10)}
for code in range(sys.maxunicode + 1):
    value = unicodedata.digit(chr(code), None)
    if value is not None:
        DIGIT_FORMS[value].append(chr(code))

separator_chars = st.characters(blacklist_categories=("L", "N", "Cs")).filter(
    lambda c: not c.isalnum())
separators = st.text(separator_chars, min_size=0, max_size=3)


@st.composite
def luhn_numbers(draw) -> str:
    """A Luhn-valid 13-19 digit number in ASCII digits."""
    length = draw(st.integers(13, 19))
    body = "".join(str(draw(st.integers(0, 9))) for _ in range(length - 1))
    return body + next(d for d in "0123456789" if luhn_valid(body + d))


@st.composite
def disguised_cards(draw) -> tuple[str, str]:
    """(ASCII number, the same number in mixed digit forms with arbitrary separators)."""
    number = draw(luhn_numbers())
    forms = [draw(st.sampled_from(DIGIT_FORMS[int(d)])) for d in number]
    gaps = [draw(separators) for _ in number[1:]]
    written = forms[0] + "".join(gap + form for gap, form in zip(gaps, forms[1:], strict=True))
    return number, written


class _Plain(BaseModel):
    value: PlainText


class _Free(BaseModel):
    value: FreeText


class _Staff(BaseModel):
    value: StaffText


def _digits_in(text: str) -> int:
    return sum(unicodedata.digit(c, None) is not None for c in text)


@settings(max_examples=150, deadline=None)
@given(disguised_cards())
def test_disguised_card_numbers_are_always_found(card):
    _, written = card
    assert contains_card_number(written)
    assert contains_card_number(f"my card: {written} thanks")


@settings(max_examples=150, deadline=None)
@given(disguised_cards())
def test_disguised_card_numbers_are_masked_to_their_last_four_digits(card):
    _, written = card
    masked = mask_card_numbers(f"card {written} ok")
    assert not contains_card_number(masked)
    assert masked.startswith("card ") and masked.endswith(" ok")
    assert _digits_in(masked) == 4
    assert len(masked) == len(written) + len("card  ok")


@settings(max_examples=100, deadline=None)
@given(disguised_cards())
def test_structured_fields_reject_and_free_text_masks(card):
    _, written = card
    if len(written.strip()) <= 200:
        with pytest.raises(ValidationError) as exc:
            _Plain(value=f"x {written}")
        assert {e["type"] for e in exc.value.errors()} & {"card_number_rejected",
                                                           "control_character"}
    if not any(unicodedata.category(c) == "Cc" for c in written):
        assert not contains_card_number(_Free(value=f"pay {written}").value)
        assert not contains_card_number(_Staff(value=f"pay {written}").value)


@pytest.mark.parametrize("written", [
    "4111\u00a01111\u20091111\u30001111",      # no-break, thin and ideographic spaces
    "4111.1111/1111_1111",                    # any punctuation
    "\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 1111",  # full width
    "\u0664\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661"
    "\u0661",                                 # Arabic-Indic digits
    "4111\u200b1111\u200b1111\u200b1111",      # zero-width spaces
    "4 1 1 1 - 1 1 1 1 - 1 1 1 1 - 1 1 1 1",
])
def test_known_disguises_are_caught(written):
    assert contains_card_number(written)
    assert _digits_in(mask_card_numbers(written)) == 4


class _Email(BaseModel):
    email: Email


@pytest.mark.parametrize("email", ["4111111111111111@example.com",
                                   "4111.1111.1111.1111@example.com",
                                   "card-4111-1111-1111-1111@example.com"])
def test_card_numbers_in_an_email_local_part_are_rejected(email):
    with pytest.raises(ValidationError) as exc:
        _Email(email=email)
    assert exc.value.errors()[0]["type"] == "card_number_rejected"
    assert _Email(email="mei.lin+2026@example.com").email == "mei.lin+2026@example.com"


@pytest.mark.parametrize("field", [PlainText, ShortCode, FreeLine, Identifier])
@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\t", "\n", "\r"])
def test_line_fields_refuse_every_control_character(field, control):
    model = type("M", (BaseModel,), {"__annotations__": {"value": field}})
    with pytest.raises(ValidationError) as exc:
        model(value=f"ab{control}cd")
    assert exc.value.errors()[0]["type"] == "control_character"


@pytest.mark.parametrize("field", [FreeText, StaffText])
def test_free_text_keeps_layout_but_refuses_other_controls(field):
    model = type("M", (BaseModel,), {"__annotations__": {"value": field}})
    assert model(value="line one\r\n\tline two").value == "line one\r\n\tline two"
    for control in ("\x00", "\x08", "\x1b", "\x7f"):
        with pytest.raises(ValidationError) as exc:
            model(value=f"text{control}more")
        assert exc.value.errors()[0]["type"] == "control_character"
