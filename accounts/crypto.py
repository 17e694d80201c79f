"""Secrets at rest, sealed with SM4-GCM (GB/T 32907 block cipher, authenticated mode).

A sealed value is text, so it fits an ordinary column: ``sm4gcm:v1:<nonce>:<ciphertext+tag>``,
both parts URL-safe base64. "v1" names the key (``settings.FIELD_ENCRYPTION_KEY``): a later key
rotation adds "v2", re-seals every value and keeps "v1" only until then.

Each value is sealed for one ``context`` (e.g. the row and the column it belongs to), passed as
the GCM associated data: a sealed value copied into another row does not open there.
"""

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings

PREFIX = "sm4gcm:v1:"
# 96-bit nonces, the size GCM is built for; random, so two seals of one value never look alike.
NONCE_BYTES = 12
TAG_BYTES = 16


class SealError(ValueError):
    """A sealed value that does not open: another key, another context, or altered text."""


def _key():
    key = settings.FIELD_ENCRYPTION_KEY
    if len(key) != 16:
        raise SealError("FIELD_ENCRYPTION_KEY must be 16 bytes (SM4 has a 128-bit key).")
    return key


def _b64encode(data):
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_sealed(value):
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(plaintext, *, context):
    nonce = os.urandom(NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(_key()), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(context.encode("utf-8"))
    body = encryptor.update(plaintext.encode("utf-8")) + encryptor.finalize()
    return f"{PREFIX}{_b64encode(nonce)}:{_b64encode(body + encryptor.tag)}"


def unseal(sealed, *, context):
    """The plaintext of ``sealed``; raises SealError rather than return anything unverified."""
    if not is_sealed(sealed):
        raise SealError("Not a sealed value (expected the prefix sm4gcm:v1:).")
    try:
        nonce_text, body_text = sealed[len(PREFIX) :].split(":")
        nonce, body = _b64decode(nonce_text), _b64decode(body_text)
    except (ValueError, binascii.Error) as exc:
        raise SealError("A sealed value is malformed.") from exc
    if len(nonce) != NONCE_BYTES or len(body) < TAG_BYTES:
        raise SealError("A sealed value is malformed.")
    decryptor = Cipher(algorithms.SM4(_key()), modes.GCM(nonce, body[-TAG_BYTES:])).decryptor()
    decryptor.authenticate_additional_data(context.encode("utf-8"))
    try:
        plaintext = decryptor.update(body[:-TAG_BYTES]) + decryptor.finalize()
    except InvalidTag as exc:
        raise SealError("A sealed value does not open with this key: another key, or the text was altered.") from exc
    return plaintext.decode("utf-8")
