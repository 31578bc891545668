"""AES-256-GCM envelope encryption.

Each object gets its own random data key (a `DataKey` row), stored only wrapped
by a master key named by a key id. Master keys come from ENCRYPTION_KEYS; new
data keys are wrapped under ENCRYPTION_CURRENT_KEY_ID, and `rotate_keys`
re-wraps the old ones, so a master key can be retired without touching any
ciphertext. Destroying a data key (crypto-shredding) makes its ciphertexts
unreadable for good.

A master key's bytes are pinned by a key check value (`KeyCheck`) the first time its key
id wraps a data key: a wrong key under a known id is refused at start-up (system check)
and never wraps a new data key. A ciphertext that does not decrypt raises
`DecryptionError`, which names the object (its authenticated context) and the key, never
the content: `espace_sante.integrity` turns it into an incident and a French page.
"""

import hashlib
import hmac
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from espace_sante.models import DataKey, IntegrityIncident, KeyCheck

NONCE_BYTES = 12
FORMAT_VERSION = b"\x01"


Reason = IntegrityIncident.Reason


class DecryptionError(Exception):
    """The ciphertext was altered, belongs to another key, or its key is destroyed.

    `subject` is the object as its ciphertext's context names it ("document:<uuid>"),
    `data_key_pk` and `key_id` the keys involved: enough to investigate, no content.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str = Reason.ALTERED,
        key_id: str = "",
        data_key_pk: int | None = None,
    ):
        super().__init__(message)
        self.reason = reason
        self.key_id = key_id
        self.data_key_pk = data_key_pk
        self.subject = ""


class KeyCheckError(Exception):
    """A configured master key is not the one its key id had: it must not wrap anything."""

    def __init__(self, message: str, *, key_id: str):
        super().__init__(message)
        self.key_id = key_id


@contextmanager
def _naming(data_key: DataKey, context: bytes):
    """Tell a DecryptionError raised inside which object and which keys it is about."""
    try:
        yield
    except DecryptionError as exc:
        exc.subject = exc.subject or context.decode("ascii", "replace")[:200]
        exc.data_key_pk = exc.data_key_pk or data_key.pk
        exc.key_id = exc.key_id or data_key.key_id
        raise


def _master_key(key_id: str) -> bytes:
    try:
        return settings.ENCRYPTION_KEYS[key_id]
    except KeyError:
        raise DecryptionError(
            f"master key {key_id!r} is not configured", reason=Reason.UNKNOWN_KEY, key_id=key_id
        ) from None


# --- Key check values ------------------------------------------------------------------------

_KCV_CONSTANT = b"mon-espace-sante|key-check-value|v1"


def key_check_value(key: bytes) -> str:
    """An HMAC-SHA256 of a constant under the key: tells keys apart, reveals nothing of them."""
    return hmac.new(key, _KCV_CONSTANT, hashlib.sha256).hexdigest()


def master_key_problem(key_id: str) -> str | None:
    """Why the configured bytes of `key_id` are not its own, or None when they are (or new).

    Compared with the stored key check value; a key id that has none yet (data keys
    wrapped before check values existed) is tried on one of its live data keys instead.
    """
    key = settings.ENCRYPTION_KEYS.get(key_id)
    if key is None:
        return f"master key {key_id!r} is not configured"
    stored = KeyCheck.objects.filter(key_id=key_id).values_list("kcv", flat=True).first()
    if stored is not None:
        if hmac.compare_digest(stored, key_check_value(key)):
            return None
        return f"master key {key_id!r} does not match its key check value"
    sample = (
        DataKey.objects.filter(key_id=key_id, destroyed_at__isnull=True, wrapped__isnull=False)
        .order_by("-pk")
        .first()
    )
    if sample is not None:
        try:
            _unwrap(sample)
        except DecryptionError:
            return f"master key {key_id!r} does not unwrap its data keys"
    return None


def check_master_key(key_id: str) -> None:
    """Refuse (KeyCheckError) a master key that is not its key id's; pin it the first time."""
    problem = master_key_problem(key_id)
    if problem is not None:
        raise KeyCheckError(problem, key_id=key_id)
    kcv = key_check_value(settings.ENCRYPTION_KEYS[key_id])
    # Two processes may pin the same key at once: the unique key id keeps one, compared below.
    check, _created = KeyCheck.objects.get_or_create(key_id=key_id, defaults={"kcv": kcv})
    if not hmac.compare_digest(check.kcv, kcv):
        raise KeyCheckError(
            f"master key {key_id!r} does not match its key check value", key_id=key_id
        )


def _wrap(raw: bytes, *, key_id: str, data_key_pk: int) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    aad = b"datakey:%d" % data_key_pk
    return nonce + AESGCM(_master_key(key_id)).encrypt(nonce, raw, aad)


def _unwrap(data_key: DataKey) -> bytes:
    keys = {"key_id": data_key.key_id, "data_key_pk": data_key.pk}
    if data_key.wrapped is None or data_key.destroyed_at is not None:
        raise DecryptionError("data key destroyed", reason=Reason.DESTROYED, **keys)
    blob = bytes(data_key.wrapped)
    aad = b"datakey:%d" % data_key.pk
    try:
        return AESGCM(_master_key(data_key.key_id)).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad
        )
    except InvalidTag as exc:
        raise DecryptionError("data key does not unwrap", reason=Reason.UNWRAP, **keys) from exc


def new_data_key() -> DataKey:
    """Create and store a fresh data key wrapped under the current master key."""
    key_id = settings.ENCRYPTION_CURRENT_KEY_ID
    check_master_key(key_id)
    with transaction.atomic():
        data_key = DataKey.objects.create(key_id=key_id)
        raw = AESGCM.generate_key(bit_length=256)
        data_key.wrapped = _wrap(raw, key_id=key_id, data_key_pk=data_key.pk)
        data_key.save(update_fields=["wrapped"])
    return data_key


def new_data_keys(count: int) -> list[DataKey]:
    """`count` fresh data keys at once, for bulk imports: the master key checked once, the
    rows written in a few statements (a key per row of `new_data_key` costs round trips)."""
    if count <= 0:
        return []
    key_id = settings.ENCRYPTION_CURRENT_KEY_ID
    check_master_key(key_id)
    with transaction.atomic():
        keys = DataKey.objects.bulk_create([DataKey(key_id=key_id) for _ in range(count)])
        for data_key in keys:
            raw = AESGCM.generate_key(bit_length=256)
            data_key.wrapped = _wrap(raw, key_id=key_id, data_key_pk=data_key.pk)
        DataKey.objects.bulk_update(keys, ["wrapped"], batch_size=500)
    return keys


def encrypt(plaintext: bytes, data_key: DataKey, *, context: bytes = b"") -> bytes:
    """Encrypt under the data key; `context` (e.g. the object's identity) is authenticated."""
    nonce = os.urandom(NONCE_BYTES)
    aesgcm = AESGCM(_unwrap(data_key))
    return FORMAT_VERSION + nonce + aesgcm.encrypt(nonce, plaintext, context)


@contextmanager
def open_stored(open_source: Callable[[], Any], data_key: DataKey, *, context: bytes = b""):
    """The stored ciphertext `open_source()` opens, for binary reading (a context manager).

    A file the storage no longer has (deleted from the disk or the bucket) is an integrity
    incident like an altered one: DecryptionError, reason "missing", naming the object.
    """
    with _naming(data_key, context):
        try:
            source = open_source()
        except FileNotFoundError as exc:
            raise DecryptionError("stored file missing", reason=Reason.MISSING) from exc
        with source:
            yield source


def decrypt_stored(
    open_source: Callable[[], Any], data_key: DataKey, *, context: bytes = b""
) -> bytes:
    """`decrypt` of the whole ciphertext `open_source()` opens (see `open_stored`)."""
    with open_stored(open_source, data_key, context=context) as source:
        ciphertext = source.read()
    return decrypt(ciphertext, data_key, context=context)


def decrypt(ciphertext: bytes, data_key: DataKey, *, context: bytes = b"") -> bytes:
    with _naming(data_key, context):
        if not ciphertext or ciphertext[:1] != FORMAT_VERSION:
            raise DecryptionError("unknown ciphertext format", reason=Reason.FORMAT)
        nonce, body = ciphertext[1 : 1 + NONCE_BYTES], ciphertext[1 + NONCE_BYTES :]
        aesgcm = AESGCM(_unwrap(data_key))
        try:
            return aesgcm.decrypt(nonce, body, context)
        except InvalidTag as exc:
            raise DecryptionError("ciphertext altered or not of this key") from exc


# --- Large objects: a stream of chunks -----------------------------------------------------
# An archive of a whole record can weigh gigabytes: it is encrypted as it is written,
# chunk by chunk, never held whole in memory. Each chunk is sealed with its index and
# whether it is the last one in its authenticated data, so chunks cannot be reordered,
# dropped or cut short without decryption failing.

STREAM_VERSION = b"\x02"
STREAM_CHUNK = 1 << 20  # plaintext bytes per chunk


class EncryptingWriter:
    """A write-only file object: what is written goes, encrypted, to `sink` (a binary file).

    Call `close()` to seal the last chunk; a stream that was not closed does not decrypt.
    """

    def __init__(self, sink, data_key: DataKey, *, context: bytes = b""):
        self._sink = sink
        self._aesgcm = AESGCM(_unwrap(data_key))
        self._context = context
        self._buffer = bytearray()
        self._index = 0
        self._closed = False
        self._written = 0
        sink.write(STREAM_VERSION)

    def write(self, data) -> int:
        self._buffer += data
        self._written += len(data)
        while len(self._buffer) > STREAM_CHUNK:
            self._seal(bytes(self._buffer[:STREAM_CHUNK]), last=False)
            del self._buffer[:STREAM_CHUNK]
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if not self._closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aesgcm.encrypt(nonce, chunk, _chunk_aad(self._context, self._index, last))
        self._sink.write(len(sealed).to_bytes(4, "big") + nonce + sealed)
        self._index += 1


def _chunk_aad(context: bytes, index: int, last: bool) -> bytes:
    return context + b"|chunk:" + index.to_bytes(8, "big") + (b"|last" if last else b"|more")


def decrypt_stream(source, data_key: DataKey, *, context: bytes = b"") -> Iterator[bytes]:
    """The plaintext of an `EncryptingWriter` stream read from `source`, chunk by chunk."""
    with _naming(data_key, context):
        if source.read(1) != STREAM_VERSION:
            raise DecryptionError("unknown stream format", reason=Reason.FORMAT)
        aesgcm = AESGCM(_unwrap(data_key))
        index = 0
        while True:
            size = source.read(4)
            if len(size) != 4:
                raise DecryptionError("stream cut short")
            nonce = source.read(NONCE_BYTES)
            sealed = source.read(int.from_bytes(size, "big"))
            for last in (False, True):
                try:
                    chunk = aesgcm.decrypt(nonce, sealed, _chunk_aad(context, index, last))
                except InvalidTag:
                    continue
                break
            else:
                raise DecryptionError("stream altered or not of this key")
            yield chunk
            if last:
                if source.read(1):
                    raise DecryptionError("data after the last chunk")
                return
            index += 1


# --- A ciphertext of `encrypt`, read in chunks ----------------------------------------------
# A document is one GCM ciphertext, and GCM authenticates only at its end. To send it without
# holding it whole and still send nothing unauthenticated, it is read twice: a first pass
# checks the tag and keeps a digest of each block of ciphertext, the second decrypts and
# yields a block only if its digest is the one the first pass authenticated in its place.

TAG_BYTES = 16
CHANGED = "ciphertext changed while it was read"


def decrypt_chunks(
    open_source: Callable[[], Any],
    data_key: DataKey,
    *,
    context: bytes = b"",
    chunk_size: int = STREAM_CHUNK,
) -> Iterator[bytes]:
    """The plaintext of an `encrypt` ciphertext, chunk by chunk, as `decrypt` would give it.

    `open_source()` opens the ciphertext for binary reading (a context manager); it is
    called once per pass. The whole ciphertext is authenticated before this returns, so an
    altered one raises DecryptionError here; if it changes between the passes, the chunks
    stop (DecryptionError) before the first one that differs.
    """
    with _naming(data_key, context):
        key = _unwrap(data_key)
        with open_stored(open_source, data_key, context=context) as source:
            nonce = _read_header(source)
            decryptor = _gcm_decryptor(key, nonce, context)
            blocks = _SealedBlocks(source, chunk_size)
            digests = []
            for block in blocks:
                decryptor.update(block)
                digests.append(hashlib.sha256(block).digest())
            _finalize(decryptor, blocks.tag)
    return _authenticated_chunks(
        open_source,
        data_key,
        key,
        context=context,
        chunk_size=chunk_size,
        nonce=nonce,
        digests=digests,
    )


def _authenticated_chunks(
    open_source,
    data_key: DataKey,
    key: bytes,
    *,
    context: bytes,
    chunk_size: int,
    nonce: bytes,
    digests: list[bytes],
) -> Iterator[bytes]:
    with _naming(data_key, context), open_stored(open_source, data_key, context=context) as source:
        if _read_header(source) != nonce:
            raise DecryptionError(CHANGED)
        decryptor = _gcm_decryptor(key, nonce, context)
        blocks = _SealedBlocks(source, chunk_size)
        count = 0
        for block in blocks:
            if count >= len(digests) or hashlib.sha256(block).digest() != digests[count]:
                raise DecryptionError(CHANGED)
            count += 1
            yield decryptor.update(block)
        if count != len(digests):
            raise DecryptionError(CHANGED)
        yield _finalize(decryptor, blocks.tag)  # b"" for GCM: at least one chunk, always


def _gcm_decryptor(key: bytes, nonce: bytes, context: bytes):
    decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).decryptor()
    if context:
        decryptor.authenticate_additional_data(context)
    return decryptor


def _read_header(source) -> bytes:
    """The nonce of the ciphertext, after its format byte (reads may come back short)."""
    header = bytearray()
    while len(header) < 1 + NONCE_BYTES and (data := source.read(1 + NONCE_BYTES - len(header))):
        header += data
    if header[:1] != FORMAT_VERSION:
        raise DecryptionError("unknown ciphertext format", reason=Reason.FORMAT)
    if len(header) != 1 + NONCE_BYTES:
        raise DecryptionError("ciphertext cut short")
    return bytes(header[1:])


def _finalize(decryptor, tag: bytes) -> bytes:
    try:
        return decryptor.finalize_with_tag(tag)
    except InvalidTag as exc:
        raise DecryptionError("ciphertext altered or not of this key") from exc


class _SealedBlocks:
    """The body of a GCM ciphertext after its header, in blocks of exactly `size` bytes (the
    last one shorter) whatever sizes `source.read` returns; the tag is held back, and is
    `tag` once the blocks are exhausted."""

    def __init__(self, source, size: int):
        self._source, self._size = source, size
        self.tag = b""

    def __iter__(self) -> Iterator[bytes]:
        size, buffer = self._size, bytearray()
        while data := self._source.read(size):
            buffer += data
            while len(buffer) >= size + TAG_BYTES:
                yield bytes(buffer[:size])
                del buffer[:size]
        if len(buffer) < TAG_BYTES:
            raise DecryptionError("ciphertext cut short")
        if len(buffer) > TAG_BYTES:
            yield bytes(buffer[:-TAG_BYTES])
        self.tag = bytes(buffer[-TAG_BYTES:])


def destroy_data_key(data_key: DataKey) -> None:
    """Crypto-shred: forget the wrapped key, so nothing it protected can be read again."""
    DataKey.objects.filter(pk=data_key.pk).update(wrapped=None, destroyed_at=timezone.now())
    data_key.wrapped, data_key.destroyed_at = None, timezone.now()


def rotate(batch_size: int = 500) -> Iterator[int]:
    """Re-wrap every live data key not under the current master key; yield counts per batch.

    Each batch is its own transaction and locks its rows, so rotation can run
    while the portal serves requests, and can be interrupted and run again.
    """
    current = settings.ENCRYPTION_CURRENT_KEY_ID
    check_master_key(current)
    while True:
        with transaction.atomic():
            batch = list(
                DataKey.objects.select_for_update(skip_locked=True)
                .filter(destroyed_at__isnull=True)
                .exclude(key_id=current)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return
            now = timezone.now()
            for data_key in batch:
                raw = _unwrap(data_key)
                data_key.wrapped = _wrap(raw, key_id=current, data_key_pk=data_key.pk)
                data_key.key_id = current
                data_key.rotated_at = now
            DataKey.objects.bulk_update(batch, ["wrapped", "key_id", "rotated_at"])
        yield len(batch)
