import base64
import io
import os

import pytest

from espace_sante import crypto
from espace_sante.models import DataKey

pytestmark = pytest.mark.django_db


def _ring(**keys):
    return {
        kid: base64.b64decode(value) if isinstance(value, str) else value
        for kid, value in keys.items()
    }


def test_round_trip_and_the_stored_key_is_wrapped_not_raw(settings):
    data_key = crypto.new_data_key()
    blob = crypto.encrypt(b"compte rendu", data_key, context=b"doc:1")
    assert b"compte rendu" not in blob
    assert crypto.decrypt(blob, data_key, context=b"doc:1") == b"compte rendu"
    assert data_key.key_id == settings.ENCRYPTION_CURRENT_KEY_ID
    assert len(bytes(DataKey.objects.get(pk=data_key.pk).wrapped)) == 12 + 32 + 16


def test_tampered_ciphertext_is_refused():
    data_key = crypto.new_data_key()
    blob = bytearray(crypto.encrypt(b"ordonnance", data_key))
    blob[-1] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(bytes(blob), data_key)


def test_ciphertext_bound_to_its_context():
    data_key = crypto.new_data_key()
    blob = crypto.encrypt(b"x", data_key, context=b"doc:1")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(blob, data_key, context=b"doc:2")


def test_rotation_rewraps_under_the_new_key_and_old_ciphertexts_still_open(settings):
    data_key = crypto.new_data_key()
    blob = crypto.encrypt(b"bilan sanguin", data_key)
    old_kid = data_key.key_id
    settings.ENCRYPTION_KEYS = {**settings.ENCRYPTION_KEYS, "k2": os.urandom(32)}
    settings.ENCRYPTION_CURRENT_KEY_ID = "k2"

    assert sum(crypto.rotate(batch_size=1)) == 1

    data_key.refresh_from_db()
    assert data_key.key_id == "k2"
    # The old master key can now be retired.
    settings.ENCRYPTION_KEYS = {"k2": settings.ENCRYPTION_KEYS["k2"]}
    assert old_kid not in settings.ENCRYPTION_KEYS
    assert crypto.decrypt(blob, data_key) == b"bilan sanguin"


def test_destroyed_data_key_makes_content_unreadable():
    data_key = crypto.new_data_key()
    blob = crypto.encrypt(b"radio", data_key)
    crypto.destroy_data_key(data_key)
    data_key.refresh_from_db()
    assert data_key.wrapped is None
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(blob, data_key)


def test_rotate_keys_command_reports_the_count(settings):
    from io import StringIO

    from django.core.management import call_command

    crypto.new_data_key()
    crypto.new_data_key()
    settings.ENCRYPTION_KEYS = {**settings.ENCRYPTION_KEYS, "k3": os.urandom(32)}
    settings.ENCRYPTION_CURRENT_KEY_ID = "k3"
    out = StringIO()
    call_command("rotate_keys", stdout=out)
    assert "2 data keys re-wrapped under 'k3'" in out.getvalue()
    assert set(DataKey.objects.values_list("key_id", flat=True)) == {"k3"}


def _stream(data: bytes, data_key, context=b"ctx") -> bytes:
    sink = io.BytesIO()
    writer = crypto.EncryptingWriter(sink, data_key, context=context)
    for start in range(0, len(data), 300_000):  # written in pieces, as zipfile does
        writer.write(data[start : start + 300_000])
    writer.close()
    return sink.getvalue()


def _records(stream: bytes) -> list[bytes]:
    records, position = [], 1
    while position < len(stream):
        size = int.from_bytes(stream[position : position + 4], "big")
        end = position + 4 + crypto.NONCE_BYTES + size
        records.append(stream[position:end])
        position = end
    return records


def test_a_stream_of_several_chunks_decrypts_to_what_was_written():
    data_key = crypto.new_data_key()
    data = os.urandom(3 * crypto.STREAM_CHUNK + 12345)
    stream = _stream(data, data_key)
    assert data[:1000] not in stream
    assert len(_records(stream)) == 4
    assert b"".join(crypto.decrypt_stream(io.BytesIO(stream), data_key, context=b"ctx")) == data


@pytest.mark.parametrize("attack", ["cut", "reorder", "drop_middle", "other_context"])
def test_a_stream_cut_reordered_or_moved_does_not_decrypt(attack):
    data_key = crypto.new_data_key()
    stream = _stream(os.urandom(3 * crypto.STREAM_CHUNK + 10), data_key)
    head, records = stream[:1], _records(stream)
    context = b"ctx"
    if attack == "cut":
        stream = head + b"".join(records[:-1])
    elif attack == "reorder":
        stream = head + b"".join([records[1], records[0], *records[2:]])
    elif attack == "drop_middle":
        stream = head + b"".join([records[0], *records[2:]])
    else:
        context = b"another archive"
    with pytest.raises(crypto.DecryptionError):
        b"".join(crypto.decrypt_stream(io.BytesIO(stream), data_key, context=context))


# --- decrypt_chunks: a ciphertext of `encrypt`, sent in chunks ------------------------------


class _Trickle(io.BytesIO):
    """A file that returns at most `step` bytes per read, as a network storage may."""

    def __init__(self, data, step):
        super().__init__(data)
        self.step = step

    def read(self, size=-1):
        return super().read(self.step if size < 0 else min(size, self.step))


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 64, 100, 1000])
@pytest.mark.parametrize("step", [1, 7, 4096])
def test_chunks_decrypt_to_the_plaintext_in_blocks_of_the_chunk_size(length, step):
    data_key = crypto.new_data_key()
    plaintext = os.urandom(length)
    blob = crypto.encrypt(plaintext, data_key, context=b"doc:1")
    chunks = list(
        crypto.decrypt_chunks(
            lambda: _Trickle(blob, step), data_key, context=b"doc:1", chunk_size=16
        )
    )
    assert b"".join(chunks) == plaintext
    assert chunks and all(len(chunk) <= 16 for chunk in chunks)


@pytest.mark.parametrize("where", [0, 1, 13, 40, -1])
def test_an_altered_ciphertext_raises_before_the_first_chunk(where):
    data_key = crypto.new_data_key()
    blob = bytearray(crypto.encrypt(b"x" * 64, data_key, context=b"doc:1"))
    blob[where] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_chunks(lambda: io.BytesIO(bytes(blob)), data_key, context=b"doc:1")


def test_a_ciphertext_changed_between_the_passes_stops_before_the_changed_block():
    data_key = crypto.new_data_key()
    plaintext = b"a" * 16 + b"b" * 16 + b"c" * 16
    blob = crypto.encrypt(plaintext, data_key, context=b"doc:1")
    changed = bytearray(blob)
    changed[1 + 12 + 20] ^= 1  # in the second block of ciphertext
    opened = iter([blob, bytes(changed)])
    chunks = crypto.decrypt_chunks(
        lambda: io.BytesIO(next(opened)), data_key, context=b"doc:1", chunk_size=16
    )
    assert next(chunks) == b"a" * 16
    with pytest.raises(crypto.DecryptionError):
        next(chunks)


def test_a_nonce_changed_between_the_passes_yields_nothing():
    data_key = crypto.new_data_key()
    blob = crypto.encrypt(b"a" * 32, data_key, context=b"doc:1")
    changed = bytearray(blob)
    changed[3] ^= 1
    opened = iter([blob, bytes(changed)])
    chunks = crypto.decrypt_chunks(
        lambda: io.BytesIO(next(opened)), data_key, context=b"doc:1", chunk_size=16
    )
    with pytest.raises(crypto.DecryptionError):
        next(chunks)
