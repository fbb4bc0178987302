"""Validated field types: phone numbers, countries, and text that must never hold a card number."""

import re
from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

from app.core.config import get_settings
from app.core.errors import CARD_NUMBER_ERROR

# Digit groups joined by single spaces or dashes, e.g. "4111 1111 1111 1111 12".
_DIGIT_GROUPS = re.compile(r"\d+(?:[ -]\d+)*")
_GROUP = re.compile(r"\d+")


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn check used by payment card numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_runs(text: str):
    """Spans of Luhn-valid 13-19 digit runs made of whole digit groups."""
    for match in _DIGIT_GROUPS.finditer(text):
        groups = [(match.start() + g.start(), match.start() + g.end())
                  for g in _GROUP.finditer(match.group())]
        first = 0
        while first < len(groups):
            digits, last_valid = "", None
            for last in range(first, len(groups)):
                digits += text[groups[last][0]:groups[last][1]]
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
    """Whether the text holds a Luhn-valid 13-19 digit run."""
    return next(_card_runs(text), None) is not None


def _mask_once(text: str) -> str:
    pieces, last = [], 0
    for start, end in _card_runs(text):
        run = text[start:end]
        keep_from = len(run) - 4
        masked = "".join(c if i >= keep_from or not c.isdigit() else "*" for i, c in enumerate(run))
        pieces += [text[last:start], masked]
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


PlainText = Annotated[str, _trimmed(200), AfterValidator(_reject_card_number)]
"""A short structured value (name, street, product); card numbers are rejected."""

ShortCode = Annotated[str, _trimmed(40), AfterValidator(_reject_card_number)]
"""A short code such as a house or postal number; card numbers are rejected."""

FreeText = Annotated[str, StringConstraints(min_length=1, max_length=20_000),
                     AfterValidator(mask_card_numbers)]
"""Free text such as a message body; card numbers are masked to their last four digits."""

FreeLine = Annotated[str, _trimmed(300), AfterValidator(mask_card_numbers)]
"""A free-text line such as a subject; card numbers are masked."""

Phone = Annotated[str, _trimmed(40), AfterValidator(_to_e164)]
"""A phone number, stored as E.164."""

Country = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country)]
"""ISO 3166-1 alpha-2 country code."""

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""ISO 4217 currency code."""

OrderNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$"),
                        AfterValidator(_reject_card_number)]
"""A shop order number, e.g. `HG-2026-000123`."""
