"""E-mail addresses as people type them: normalised, or refused with a reason in plain words.

``email-validator`` does the checking (no DNS lookups; the reserved ``.test`` domain is allowed for
demos and tests); what the person reads is ours, and says what to change.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

EXAMPLE = "name@example.com"


def normalised_email(text: str) -> str:
    """The address in the form careplane keeps (lower case); ``ValueError`` says what is wrong."""
    text = text.strip()
    try:
        return validate_email(text, check_deliverability=False, test_environment=True).normalized.lower()
    except EmailNotValidError:
        raise ValueError(_why_not(text)) from None


def _why_not(text: str) -> str:
    if not text:
        return f"Enter an e-mail address, like {EXAMPLE}."
    if any(ch.isspace() for ch in text):
        return f"An e-mail address has no spaces: enter it like {EXAMPLE}."
    if "@" not in text:
        return f"An e-mail address needs an @ between the name and the domain, like {EXAMPLE}."
    if text.count("@") > 1:
        return f"An e-mail address has one @ only, like {EXAMPLE}."
    name, domain = text.split("@")
    if not name:
        return f"Put the name before the @, like {EXAMPLE}."
    if not domain:
        return f"Put the domain after the @, like {EXAMPLE}."
    if "." not in domain:
        return f"The part after the @ should be a domain with a dot in it, like example.com in {EXAMPLE}."
    if domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return f"The domain after the @ has a dot out of place; it should look like example.com in {EXAMPLE}."
    if name.startswith(".") or name.endswith(".") or ".." in name:
        return f"The name before the @ has a dot out of place; enter the address like {EXAMPLE}."
    return f"This is not an e-mail address that can receive mail: check it for typing errors (like {EXAMPLE})."
