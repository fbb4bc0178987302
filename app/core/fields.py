"""Validated field types: phone numbers, countries, and text that must never hold a card number
or a control character.

A card number is a Luhn-valid run of 13-19 digits, in any script or width, whose groups are
separated by up to three characters that are neither letters nor digits (spaces of any kind,
punctuation, symbols, invisible marks): "4111 1111 1111 1111", "4111.1111/1111 1111",
full-width or Arabic-Indic digits alike.
"""

import unicodedata
from typing import Annotated

import phonenumbers
from pydantic import (
    AfterValidator,
    BeforeValidator,
    EmailStr,
    Field,
    JsonValue,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from app.core.config import get_settings
from app.core.errors import CARD_NUMBER_ERROR

MAX_SEPARATOR = 3
"""Digit groups joined by up to this many non-alphanumeric characters count as one number."""

_FREE_TEXT_CONTROLS = frozenset("\t\n\r")


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn check used by payment card numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def digit_value(char: str) -> int | None:
    """The digit a character stands for in any script or width ("7", full-width, Arabic-Indic)."""
    return unicodedata.digit(char, None)


def _digit_groups(text: str) -> list[list[tuple[int, int, str]]]:
    """Chains of digit groups (start, end, ASCII digits) joined by short non-alphanumeric runs."""
    chains: list[list[tuple[int, int, str]]] = []
    index, length = 0, len(text)
    while index < length:
        if digit_value(text[index]) is None:
            index += 1
            continue
        start, digits = index, []
        while index < length and (value := digit_value(text[index])) is not None:
            digits.append(str(value))
            index += 1
        group = (start, index, "".join(digits))
        previous = chains[-1][-1] if chains else None
        gap = text[previous[1]:start] if previous else ""
        if previous and len(gap) <= MAX_SEPARATOR and not any(c.isalnum() for c in gap):
            chains[-1].append(group)
        else:
            chains.append([group])
    return chains


def _card_runs(text: str):
    """Spans of Luhn-valid 13-19 digit runs made of whole digit groups."""
    for groups in _digit_groups(text):
        first = 0
        while first < len(groups):
            digits, last_valid = "", None
            for last in range(first, len(groups)):
                digits += groups[last][2]
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and luhn_valid(digits):
                    last_valid = last
            if last_valid is None:
                first += 1
                continue
            yield groups[first][0], groups[last_valid][1]
            first = last_valid + 1


def contains_card_number(text: str) -> bool:
    """Whether the text holds a Luhn-valid 13-19 digit run, whatever its separators and digits."""
    return next(_card_runs(text), None) is not None


def _mask_run(run: str) -> str:
    """Every digit but the last four becomes '*'; separators stay."""
    keep, masked = 4, []
    for char in reversed(run):
        if digit_value(char) is not None:
            masked.append(char if keep > 0 else "*")
            keep -= 1
        else:
            masked.append(char)
    return "".join(reversed(masked))


def _mask_once(text: str) -> str:
    pieces, last = [], 0
    for start, end in _card_runs(text):
        pieces += [text[last:start], _mask_run(text[start:end])]
        last = end
    return "".join(pieces) + text[last:] if pieces else text


def mask_card_numbers(text: str) -> str:
    """Replace every card-number-like run with asterisks, keeping only its last four digits."""
    masked = _mask_once(text)
    while masked != text:  # kept digits can join the next groups into a new run: mask again
        text, masked = masked, _mask_once(masked)
    return masked


def _reject_card_number(value: str) -> str:
    if contains_card_number(value):
        raise PydanticCustomError(
            CARD_NUMBER_ERROR, "looks like a payment card number, which is never stored"
        )
    return value


def _control_error() -> PydanticCustomError:
    return PydanticCustomError("control_character", "control characters are not allowed")


def _reject_controls(value: str) -> str:
    """Refuse NUL and every other control character (Unicode category Cc)."""
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise _control_error()
    return value


def _reject_controls_but_layout(value: str) -> str:
    """Refuse control characters except tab, newline and carriage return."""
    if any(unicodedata.category(c) == "Cc" and c not in _FREE_TEXT_CONTROLS for c in value):
        raise _control_error()
    return value


def _to_e164(value: str) -> str:
    try:
        number = phonenumbers.parse(value, get_settings().default_phone_region)
    except phonenumbers.NumberParseException as exc:
        raise PydanticCustomError("phone_invalid", "not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise PydanticCustomError("phone_invalid", "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _country(value: str) -> str:
    code = value.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise PydanticCustomError("country_invalid", "not an ISO 3166-1 alpha-2 country code")
    return code


def _trimmed(max_length: int):
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


def _documented(pattern: str):
    """Tell the OpenAPI document which characters are refused (unless a stricter pattern is)."""
    def add_pattern(schema: dict[str, JsonValue]) -> None:
        schema.setdefault("pattern", pattern)

    return Field(json_schema_extra=add_pattern)


LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
_Line = (AfterValidator(_reject_controls), _documented(LINE_PATTERN))
_Text = (AfterValidator(_reject_controls_but_layout), _documented(TEXT_PATTERN))
_NoCard = AfterValidator(_reject_card_number)
_Masked = AfterValidator(mask_card_numbers)

PlainText = Annotated[str, _trimmed(200), *_Line, _NoCard]
"""A short structured value (name, street, product); card numbers are rejected."""

ShortCode = Annotated[str, _trimmed(40), *_Line, _NoCard]
"""A short code such as a house or postal number; card numbers are rejected."""

FreeText = Annotated[str, StringConstraints(min_length=1, max_length=20_000), *_Text,
                     _Masked]
"""Free text such as a message body; card numbers are masked to their last four digits."""

FreeLine = Annotated[str, _trimmed(300), *_Line, _Masked]
"""A free-text line such as a subject; card numbers are masked."""

StaffText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500),
                      *_Text, _Masked]
"""A short text staff write to a customer, such as a rejection reason; card numbers masked."""

DocumentText = Annotated[str, StringConstraints(min_length=1, max_length=200_000), *_Text]
"""A published document such as the privacy policy (Markdown): no control characters."""

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=36), *_Line]
"""The id of a stored row, as given by the API."""

Email = Annotated[EmailStr, *_Line, _NoCard]
"""An email address; a card number in it (local part included) is rejected."""

Phone = Annotated[str, _trimmed(40), *_Line, AfterValidator(_to_e164)]
"""A phone number, stored as E.164."""

Country = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country)]
"""ISO 3166-1 alpha-2 country code."""

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""ISO 4217 currency code."""

OrderNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$"),
                        _NoCard]
"""A shop order number, e.g. `HG-2026-000123`."""


def _query_bool(value: object) -> object:
    """Only the words true and false: not 0, 1, "yes" or "on" (bodies use `StrictBool`)."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise PydanticCustomError("bool_type", "must be true or false")


QueryFlag = Annotated[bool, BeforeValidator(_query_bool)]
"""A query parameter that is `true` or `false`, nothing else."""
