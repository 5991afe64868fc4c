"""Field rules for patient demographics: each check returns the clean value or a message people can act on.

:func:`clean_patient` applies them to a whole record (or, with ``partial``, to the fields given)
and raises one :class:`ValidationFailed` naming every bad field, so a form shows all problems at once.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from careplane.kernel import clock
from careplane.kernel.email_address import normalised_email
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.form_dates import parse_form_date
from careplane.kernel.patients.models import ContactChannel, SexAtBirth

#: USPS codes: the 50 states, the District of Columbia and the inhabited territories.
US_STATES: dict[str, str] = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "DC": "District of Columbia",
    "AS": "American Samoa",
    "GU": "Guam",
    "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands",
}

LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Spanish",
    "zh": "Chinese",
    "vi": "Vietnamese",
    "tl": "Tagalog",
    "ko": "Korean",
    "ar": "Arabic",
    "fr": "French",
    "ru": "Russian",
    "ht": "Haitian Creole",
    "pt": "Portuguese",
    "de": "German",
    "hi": "Hindi",
    "pl": "Polish",
    "ja": "Japanese",
    "ase": "American Sign Language",
}

MAX_AGE_YEARS = 125
NAME_MAX = 100
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
# language[-script][-region][-variant]: the shape of BCP 47 tags people actually use.
_BCP47 = re.compile(r"^[a-z]{2,3}(-[a-z]{4})?(-([a-z]{2}|\d{3}))?(-[a-z0-9]{5,8})*$", re.IGNORECASE)
_NAME_NOISE = re.compile(r"[.'’`\u02bc]")
_SPACES = re.compile(r"\s+")


def normalise_name(name: str) -> str:
    """Lower-case, accents stripped, apostrophes and dots dropped, single spaces: ``"O’Brién "`` -> ``"obrien"``."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", _NAME_NOISE.sub("", stripped.casefold())).strip()


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def check_name(value: Any, label: str, *, required: bool) -> tuple[str | None, str | None]:
    text = _SPACES.sub(" ", _text(value))
    if not text:
        return None, (f"Enter the {label}." if required else None)
    if len(text) > NAME_MAX:
        return None, f"The {label} must be at most {NAME_MAX} characters."
    if not any(ch.isalpha() for ch in text):
        return None, f"The {label} must contain letters."
    return text, None


def check_birth_date(value: Any) -> tuple[date | None, str | None]:
    if value is None or value == "":
        return None, "Enter the date of birth."
    if isinstance(value, date):
        born = value
    else:
        try:
            born = parse_form_date(str(value))
        except ValueError as exc:
            return None, str(exc).replace("the date", "the date of birth")
    today = clock.today()
    if born > today:
        return None, "The date of birth cannot be in the future."
    try:
        oldest = today.replace(year=today.year - MAX_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - MAX_AGE_YEARS, day=28)
    if born < oldest:
        return None, f"The date of birth is more than {MAX_AGE_YEARS} years ago; check the year."
    return born, None


def check_sex_at_birth(value: Any) -> tuple[str | None, str | None]:
    text = _text(value).lower()
    if text not in {s.value for s in SexAtBirth}:
        return None, "Choose female, male or unknown."
    return text, None


def check_state(value: Any) -> tuple[str | None, str | None]:
    text = _text(value).upper()
    if not text:
        return None, None
    if text not in US_STATES:
        return None, "Choose a US state, DC or territory (two-letter code such as NY)."
    return text, None


def check_postal_code(value: Any) -> tuple[str | None, str | None]:
    text = _text(value)
    if not text:
        return None, None
    if not _ZIP.match(text):
        return None, "Enter a ZIP code of 5 digits, or ZIP+4 such as 10001-1234."
    return text, None


def check_phone(value: Any) -> tuple[str | None, str | None]:
    """A US (NANP) number in E.164 form: ``+1NXXNXXXXXX``."""
    text = _text(value)
    if not text:
        return None, None
    if re.search(r"[^\d\s()+.\-]", text):
        return None, "Enter a US phone number using digits, e.g. (212) 555-0123."
    digits = re.sub(r"\D", "", text)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        return None, "Enter a 10-digit US phone number, e.g. (212) 555-0123."
    if digits[0] in "01" or digits[3] in "01":
        return None, "That is not a valid US phone number: area code and exchange cannot start with 0 or 1."
    return f"+1{digits}", None


def check_email(value: Any) -> tuple[str | None, str | None]:
    text = _text(value)
    if not text:
        return None, None
    try:
        return normalised_email(text), None
    except ValueError as exc:
        return None, str(exc)


def check_language(value: Any) -> tuple[str | None, str | None]:
    text = _text(value).replace("_", "-")
    if not text:
        return "en", None
    if not _BCP47.match(text):
        return None, "Enter a language code such as en, es or zh-Hant."
    parts = text.split("-")
    tag = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            tag.append(part.title())
        elif len(part) == 2 or (len(part) == 3 and part.isdigit()):
            tag.append(part.upper())
        else:
            tag.append(part.lower())
    return "-".join(tag), None


def check_optional_text(value: Any, label: str, max_len: int) -> tuple[str | None, str | None]:
    text = _text(value)
    if not text:
        return None, None
    if len(text) > max_len:
        return None, f"The {label} must be at most {max_len} characters."
    return text, None


def check_channel(value: Any) -> tuple[str | None, str | None]:
    text = _text(value).lower() or ContactChannel.EMAIL.value
    if text not in {c.value for c in ContactChannel}:
        return None, "Choose e-mail, text message, phone or the portal."
    return text, None


def check_flag(value: Any) -> tuple[bool, None]:
    if isinstance(value, bool):
        return value, None
    return _text(value).lower() in {"1", "true", "on", "yes"}, None


_CHECKS = {
    "given_name": lambda v: check_name(v, "given name", required=True),
    "family_name": lambda v: check_name(v, "family name", required=True),
    "middle_name": lambda v: check_name(v, "middle name", required=False),
    "preferred_name": lambda v: check_name(v, "preferred name", required=False),
    "birth_date": check_birth_date,
    "sex_at_birth": check_sex_at_birth,
    "gender_identity": lambda v: check_optional_text(v, "gender identity", 60),
    "address_line1": lambda v: check_optional_text(v, "address", 200),
    "address_line2": lambda v: check_optional_text(v, "address line 2", 200),
    "city": lambda v: check_optional_text(v, "city", 100),
    "state": check_state,
    "postal_code": check_postal_code,
    "phone": check_phone,
    "email": check_email,
    "language": check_language,
    "preferred_channel": check_channel,
    "allow_sms": check_flag,
    "allow_email": check_flag,
    "allow_phone": check_flag,
}

PATIENT_FIELDS = tuple(_CHECKS)
REQUIRED_FIELDS = ("given_name", "family_name", "birth_date", "sex_at_birth")
#: Fields a patient may change about themself; legal name, birth date and sex at birth go through staff.
SELF_SERVICE_FIELDS = frozenset(
    {
        "preferred_name",
        "gender_identity",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "postal_code",
        "phone",
        "email",
        "language",
        "preferred_channel",
        "allow_sms",
        "allow_email",
        "allow_phone",
    }
)


def clean_patient(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Check and normalise patient fields. Unknown keys are ignored; ``partial`` checks only keys given."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, check in _CHECKS.items():
        if partial and name not in data:
            continue
        if not partial and name not in data and name.startswith("allow_"):
            continue  # the model's defaults apply
        value, message = check(data.get(name))
        if message:
            errors[name] = message
        else:
            cleaned[name] = value
    if partial:
        for name in REQUIRED_FIELDS:
            if name in data and cleaned.get(name) is None and name not in errors:
                errors[name] = f"The {name.replace('_', ' ')} cannot be removed."
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def check_preferences_consistent(
    channel: str, *, allow_sms: bool, allow_email: bool, allow_phone: bool, phone: str | None, email: str | None
) -> dict[str, str]:
    """The preferred channel must be allowed and reachable."""
    errors: dict[str, str] = {}
    if channel == ContactChannel.SMS and not (allow_sms and phone):
        errors["preferred_channel"] = "Text messages need a phone number and permission to text."
    elif channel == ContactChannel.PHONE and not (allow_phone and phone):
        errors["preferred_channel"] = "Phone calls need a phone number and permission to call."
    elif channel == ContactChannel.EMAIL and not (allow_email and email):
        errors["preferred_channel"] = "E-mail needs an e-mail address and permission to e-mail."
    return errors


def clean_emergency_contact(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name, msg = check_name(data.get("name"), "contact's name", required=True)
    if msg:
        errors[f"emergency_contacts.{index}.name"] = msg
    relation, msg = check_optional_text(data.get("relationship"), "relationship", 60)
    if msg or not relation:
        errors[f"emergency_contacts.{index}.relationship"] = msg or "Enter how the contact is related, e.g. spouse."
    phone, msg = check_phone(data.get("phone"))
    if msg or not phone:
        errors[f"emergency_contacts.{index}.phone"] = msg or "Enter the contact's phone number."
    if errors:
        raise ValidationFailed(errors)
    return {"name": name, "relationship_to_patient": relation, "phone": phone}
