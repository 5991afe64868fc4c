"""The keys that seal the audit chain: HMAC-SHA256 keys the app servers hold and the database does not.

Each sealed row names the key that sealed it (``key_id``; empty on rows sealed before the chain
was keyed). The current key (``CAREPLANE_AUDIT_KEY``) seals new rows; earlier keys
(``CAREPLANE_AUDIT_KEYS_OLD``) stay in the keyring so that the rows they sealed still verify.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from careplane.settings import Settings, get_settings

#: Shorter keys are refused: the key is all that stands between a database writer and a rewritten chain.
MIN_KEY_LENGTH = 32


def key_id(secret: bytes) -> str:
    """A name for a key that tells nothing about it (16 hex digits of an HMAC of a fixed label)."""
    return hmac.new(secret, b"careplane audit key id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class AuditKey:
    id: str
    secret: bytes = field(repr=False)

    @classmethod
    def from_text(cls, text: str, setting: str = "CAREPLANE_AUDIT_KEY") -> AuditKey:
        text = text.strip()
        if len(text) < MIN_KEY_LENGTH:
            raise ValueError(f"{setting}: an audit key must be at least {MIN_KEY_LENGTH} random characters")
        secret = text.encode()
        return cls(key_id(secret), secret)

    def mac(self, message: bytes) -> str:
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Keyring:
    current: AuditKey
    keys: Mapping[str, AuditKey]

    @classmethod
    def of(cls, current: AuditKey, *older: AuditKey) -> Keyring:
        return cls(current, {key.id: key for key in (*older, current)})

    def get(self, key_id: str) -> AuditKey | None:
        return self.keys.get(key_id)


def sealing_key(settings: Settings | None = None) -> AuditKey:
    """The key new rows are sealed with (generated in development, required in production)."""
    return AuditKey.from_text((settings or get_settings()).resolved_audit_key())


def sealing_keyring(settings: Settings | None = None) -> Keyring:
    """The sealing key and the earlier ones: what the app servers check rows with."""
    settings = settings or get_settings()
    return Keyring.of(sealing_key(settings), *_older(settings))


def keyring(settings: Settings | None = None) -> Keyring | None:
    """The keys rows are checked with, or None when no audit key is configured: none is generated
    for verifying, so an auditor without the key checks what the public key can."""
    settings = settings or get_settings()
    current = settings.resolved_audit_key(create=False)
    return Keyring.of(AuditKey.from_text(current), *_older(settings)) if current else None


def _older(settings: Settings) -> list[AuditKey]:
    return [
        AuditKey.from_text(text, "CAREPLANE_AUDIT_KEYS_OLD")
        for text in settings.audit_keys_old.split(",")
        if text.strip()
    ]
