"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint file says: at ``at`` the chain reached seq ``seq``, whose stored hash was ``hash``
(sealed with audit key ``key_id``), and the contents of rows 1..seq hash, with plain SHA-256 and no
key, to ``digest``. It is signed with an Ed25519 key the operators hold and the database does
not, so whoever writes the database cannot make one, and anyone with the public key can check
it: its signature, and that the rows up to ``seq`` still give ``hash`` and ``digest``. The digest
needs no audit key, so an auditor who holds only the public key checks the rows' contents too.

Files are only ever created, never rewritten, so the folder can be write-once (WORM) storage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.audit.chain import HEAD_ID
from careplane.kernel.audit.keys import Keyring, sealing_keyring
from careplane.kernel.audit.models import AuditChainHead
from careplane.kernel.audit.verify import VERIFY_BATCH, Anchor, Problem, span, verify_since
from careplane.kernel.jobs import scheduled
from careplane.settings import Settings, get_settings

log = logging.getLogger(__name__)

FORMAT = "careplane-audit-checkpoint/1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class CheckpointError(Exception):
    """A key or checkpoint file that cannot be used, with a message for the person running the command."""


class CheckpointRefused(CheckpointError):
    """The chain does not verify, so no checkpoint was signed: signing would vouch for a rewrite."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"the audit chain does not verify ({len(problems)} problem(s)); no checkpoint was written")
        self.problems = problems


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    key_id: str | None
    digest: str
    at: datetime
    #: Id of the public key that verifies the signature (:func:`signer_id`).
    signer: str
    #: The file it was read from.
    name: str = ""

    def payload(self) -> bytes:
        """The bytes that are signed: canonical JSON of every field but the file name."""
        fields = {
            "format": FORMAT,
            "seq": self.seq,
            "hash": self.hash,
            "key_id": self.key_id,
            "digest": self.digest,
            "at": self.at.isoformat(timespec="microseconds"),
            "signer": self.signer,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    @property
    def anchor(self) -> Anchor:
        return Anchor(self.seq, self.hash, self.digest, self.key_id)

    @property
    def file_name(self) -> str:
        # seq first, zero-padded: the newest checkpoint sorts last
        return f"audit-checkpoint-{self.seq:015d}-{self.at:%Y%m%dT%H%M%S%fZ}.json"


# ---------------------------------------------------------------- keys


def signer_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def generate_signing_key(path: Path) -> Ed25519PrivateKey:
    """A new private key in a new file readable by its owner only; an existing file is never replaced."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CheckpointError(f"{path} exists already; a signing key is never overwritten") from None
    with os.fdopen(fd, "wb") as file:
        file.write(pem)
    return key


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise CheckpointError(
            f"no checkpoint signing key at {path}: make one with `careplane audit keygen --out {path}`"
        ) from None
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} is not an Ed25519 private key")
    return key


def signing_key(settings: Settings | None = None) -> Ed25519PrivateKey:
    """The configured signing key; in development, made in the data folder on first use."""
    settings = settings or get_settings()
    path = settings.resolved_audit_signing_key_file()
    if settings.audit_signing_key_file is None and not path.exists():
        return generate_signing_key(path)
    return load_signing_key(path)


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"no public key file at {path}") from None
    except ValueError as exc:
        raise CheckpointError(f"{path} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path} is not an Ed25519 public key")
    return key


# ---------------------------------------------------------------- files


def write(folder: Path, checkpoint: Checkpoint, private_key: Ed25519PrivateKey) -> Path:
    """Sign ``checkpoint`` and write it as a new file in ``folder``."""
    body = json.loads(checkpoint.payload())
    body["signature"] = base64.b64encode(private_key.sign(checkpoint.payload())).decode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / checkpoint.file_name
    with path.open("x", encoding="utf-8") as file:  # never overwrite: the folder may be write-once
        json.dump(body, file, indent=2, sort_keys=True)
        file.write("\n")
    return path


def read(path: Path, public_keys: Mapping[str, Ed25519PublicKey]) -> Checkpoint:
    """A checkpoint file whose signature verifies with one of ``public_keys`` (by signer id)."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise CheckpointError(f"not a {FORMAT} file")
        checkpoint = Checkpoint(
            seq=body["seq"],
            hash=body["hash"],
            key_id=body["key_id"],
            digest=body["digest"],
            at=datetime.fromisoformat(body["at"]),
            signer=body["signer"],
            name=path.name,
        )
        signature = base64.b64decode(body["signature"], validate=True)
    except (
        OSError,
        UnicodeDecodeError,
        KeyError,
        TypeError,
        ValueError,
        binascii.Error,
    ) as exc:  # JSONDecodeError is a ValueError
        raise CheckpointError(f"unreadable ({exc.__class__.__name__}: {exc})") from None
    if not (
        isinstance(checkpoint.seq, int)
        and checkpoint.seq > 0
        and _HEX64.fullmatch(str(checkpoint.hash))
        and _HEX64.fullmatch(str(checkpoint.digest))
        and checkpoint.at.tzinfo is not None
    ):
        raise CheckpointError("malformed fields")
    public_key = public_keys.get(checkpoint.signer)
    if public_key is None:
        raise CheckpointError(f"signed by key {checkpoint.signer}, which is not among the public keys given")
    try:
        public_key.verify(signature, checkpoint.payload())
    except InvalidSignature:
        raise CheckpointError("signature does not verify: the file was edited or forged") from None
    return checkpoint


def read_folder(folder: Path, public_keys: Iterable[Ed25519PublicKey]) -> tuple[list[Checkpoint], list[Problem]]:
    """Every checkpoint in ``folder`` that verifies, and a problem for every file that does not."""
    if not folder.is_dir():
        raise CheckpointError(f"{folder} is not a folder")
    keys = {signer_id(key): key for key in public_keys}
    checkpoints, problems = [], []
    paths = sorted(folder.glob("*.json"))
    for path in paths:
        try:
            checkpoints.append(read(path, keys))
        except CheckpointError as exc:
            problems.append(Problem("checkpoint-file", f"checkpoint {path.name}: {exc}"))
    if not paths:
        problems.append(Problem("checkpoint-file", f"no checkpoint files (*.json) in {folder}"))
    return checkpoints, problems


def latest(folder: Path, public_key: Ed25519PublicKey) -> Checkpoint | None:
    """The newest checkpoint in ``folder`` signed with ``public_key`` (files that do not verify are passed over)."""
    if not folder.is_dir():
        return None
    keys = {signer_id(public_key): public_key}
    for path in sorted(folder.glob("audit-checkpoint-*.json"), reverse=True):
        try:
            return read(path, keys)
        except CheckpointError:
            continue
    return None


# ---------------------------------------------------------------- taking one


def take(
    session: Session, folder: Path, keys: Keyring, private_key: Ed25519PrivateKey, *, batch: int = VERIFY_BATCH
) -> tuple[Checkpoint, Path] | None:
    """Check the rows sealed since the newest checkpoint in ``folder`` and sign the chain head.

    Returns the checkpoint and its file, or None while nothing is sealed. Raises
    :class:`CheckpointRefused` when the chain does not verify. Sealed rows are never changed, so
    reading the head first and the rows up to it needs no snapshot.
    """
    head = session.get(AuditChainHead, HEAD_ID, populate_existing=True)
    upto = head.last_seq if head else 0
    previous = latest(folder, private_key.public_key())
    if previous is not None and previous.seq > upto:
        raise CheckpointRefused(
            [
                Problem(
                    "checkpoint",
                    f"checkpoint {previous.name} says the chain reached seq {previous.seq}, "
                    f"but the chain head is at seq {upto}: {span(upto + 1, previous.seq)} deleted",
                    upto + 1,
                )
            ]
        )
    if upto == 0:
        return None
    report = verify_since(session, keys, previous.anchor if previous else Anchor(), upto, batch=batch)
    if not report.ok:
        raise CheckpointRefused(report.problems)
    assert report.digest is not None  # a gap is a problem, and problems were refused above
    checkpoint = Checkpoint(
        seq=upto,
        hash=report.last_hash,
        key_id=report.last_key_id,
        digest=report.digest,
        at=clock.now(),
        signer=signer_id(private_key.public_key()),
    )
    return checkpoint, write(folder, checkpoint, private_key)


@scheduled("audit.checkpoint", every=timedelta(minutes=15))
def checkpoint_job(session: Session) -> None:
    settings = get_settings()
    if settings.audit_checkpoint_dir is None:
        return
    try:
        taken = take(session, settings.audit_checkpoint_dir, sealing_keyring(settings), signing_key(settings))
    except CheckpointRefused as exc:
        for problem in exc.problems[:20]:
            log.error("audit chain does not verify: %s", problem.message)
        raise
    if taken is not None:
        log.info("audit checkpoint written", extra={"fields": {"seq": taken[0].seq, "file": str(taken[1])}})
