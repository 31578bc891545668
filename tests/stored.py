"""The stored files as the tests see them, through the storage API: the same on disk and on
an S3 bucket (TEST_OBJECT_STORAGE=s3), where there is no path to open."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def names(directory: str = "") -> list[str]:
    """Every stored file under `directory` (all of them by default), by name."""
    try:
        subdirectories, files = default_storage.listdir(directory)
    except FileNotFoundError:  # on disk, a directory nothing was ever written to
        return []
    prefix = f"{directory.rstrip('/')}/" if directory else ""
    found = [f"{prefix}{name}" for name in files]
    for sub in subdirectories:
        found += names(f"{prefix}{sub}")
    return sorted(found)


def read(field) -> bytes:
    """The stored bytes (ciphertext) of a file field."""
    with field.storage.open(field.name, "rb") as handle:
        return handle.read()


def overwrite(field, data: bytes) -> None:
    """Replace the stored bytes under the same name, as a disk or an intruder might."""
    storage, name = field.storage, field.name
    storage.delete(name)
    assert storage.save(name, ContentFile(data)) == name


def alter(field, position: int = -1) -> None:
    """Flip one bit of the stored ciphertext."""
    data = bytearray(read(field))
    data[position] ^= 1
    overwrite(field, bytes(data))
