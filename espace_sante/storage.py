"""Object storage (S3 API) for the portal's files: documents, attachments, archives, letters.

Every file the portal stores is ciphertext already (`espace_sante.crypto` encrypts before
`FieldFile.save` and decrypts after `FieldFile.open`): the bucket, like the local
filesystem of the embedded default, never holds a clear byte. This backend adds only what
health data needs on top of `storages.backends.s3.S3Storage`:

- objects are private and never reached by a URL: `url()` gives the same never-served path
  as the filesystem backend (downloads go through views that ask the policy), never a
  bucket address, presigned or not;
- an existing object is never silently replaced (a name taken gets a suffix, as on disk);
- reads stream: `open(name, "rb")` reads the object's body as it arrives, where
  `S3File` would first download it whole (into memory, by default). A multi-gigabyte
  archive is decrypted and sent chunk by chunk, as from disk.
"""

from __future__ import annotations

import io
from urllib.parse import urljoin

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.base import File
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage
from storages.utils import clean_name


class PrivateObjectStorage(S3Storage):
    """Private objects on an S3-compatible bucket, read as streams, never served by URL."""

    def get_default_settings(self):
        return {
            **super().get_default_settings(),
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,  # should a URL ever be signed, it would not be public
            "custom_domain": None,
        }

    def url(self, name, parameters=None, expire=None, http_method=None):
        """The same never-served path as on disk (MEDIA_URL): no route answers it."""
        return urljoin(settings.MEDIA_URL, filepath_to_uri(clean_name(name)))

    def _open(self, name, mode="rb"):
        if mode in ("rb", "br"):
            return StreamedObject(self, self._normalize_name(clean_name(name)), name)
        return super()._open(name, mode)


def _not_found(error: ClientError) -> bool:
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404 or (
        error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}
    )


class StreamedObject(File):
    """An object's body read as it arrives (binary, read-only); `open()` reads it again.

    A missing object raises FileNotFoundError, as a missing file does on disk. `read(n)`
    returns n bytes unless the object ends first, whatever sizes the network gives.
    """

    def __init__(self, storage: PrivateObjectStorage, key: str, name: str):
        self._storage, self._key = storage, key
        self._size: int | None = None
        self._closed = False
        super().__init__(self._get(), name)
        self.mode = "rb"

    def _get(self):
        try:
            answer = self._storage.bucket.Object(self._key).get()
        except ClientError as error:
            if _not_found(error):
                raise FileNotFoundError(f"object does not exist: {self._key}") from error
            raise
        self._size = answer.get("ContentLength")
        self._closed = False
        return answer["Body"]

    @property
    def size(self):
        return self._size

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        # The body's own `closed` stays False once closed: the flag is kept here.
        if not self._closed:
            self.file.close()
            self._closed = True

    def open(self, mode=None):
        if mode not in (None, "rb", "br"):
            raise ValueError("an object opened for reading is not reopened for writing")
        self.close()
        self.file = self._get()
        return self

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.file.read()
        parts, wanted = [], size
        while wanted > 0 and (data := self.file.read(wanted)):
            parts.append(data)
            wanted -= len(data)
        return b"".join(parts)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if (offset, whence) != (0, io.SEEK_SET):
            raise io.UnsupportedOperation("an object stream only seeks back to its start")
        self.open()
        return 0

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def chunks(self, chunk_size=None):
        while data := self.read(chunk_size or self.DEFAULT_CHUNK_SIZE):
            yield data
