"""moto_server for `make bench-upload`: moto as the suite runs it, but completing a multipart
upload on disk, so a 4 GiB source does not take ~20 GiB of the machine's memory.

moto 5 joins the parts in memory: a bytearray of the object, a second one for its default
CRC64NVME checksum, a bytes copy of each, and the new key's in-memory spool before it rolls over
to disk (about 5x the object). Here the parts are joined into a temporary file that becomes the
key's buffer, in one pass (a 4 GiB copy must end within botocore's 60 s read timeout on a busy
machine), and no full-object checksum is made (the app never asks for one).
Each part is still checked (known part, matching ETag, all but the last >= 5 MiB), and the ETag
is S3's md5-of-md5s, as moto makes it.

    python -m benchmarks.moto_server -H 127.0.0.1 -p PORT
"""

import codecs
import tempfile
from collections.abc import Iterator

from moto import server
from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML
from moto.s3.models import S3_UPLOAD_PART_MIN_SIZE, FakeKey, FakeMultipart
from moto.utilities.utils import md5_hash


class JoinedParts:
    """The parts, joined in a temporary file that becomes the new key's buffer (no second copy)."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile()  # noqa: SIM115 (FakeKey's buffer type; the key closes it)
        self.file.rollover()  # on disk from the start
        self.size = 0

    def __len__(self) -> int:
        return self.size


def complete_on_disk(self: FakeMultipart, body: Iterator[tuple[int, str]]) -> tuple[JoinedParts, str, None]:
    """FakeMultipart.complete, joining the parts on disk."""
    joined, md5s, last, count = JoinedParts(), bytearray(), None, 0
    for number, etag in body:
        part = self.parts.get(number)
        if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
            joined.file.close()
            raise InvalidPart()
        if last is not None and last.contentsize < S3_UPLOAD_PART_MIN_SIZE:
            joined.file.close()
            raise EntityTooSmall()
        md5s.extend(codecs.decode(part.etag.replace('"', ""), "hex"))
        joined.size += joined.file.write(part.value)  # one part (5 MiB) in memory at a time
        last, count = part, count + 1
    if count == 0:
        joined.file.close()
        raise MalformedXML()
    full_etag = md5_hash()
    full_etag.update(bytes(md5s))
    return joined, f"{full_etag.hexdigest()}-{count}", None


_set_value = FakeKey.value.fset  # type: ignore[attr-defined]  # moto's property, typed as its getter


def set_value_on_disk(self: FakeKey, new_value) -> None:
    """Joined parts become the key's buffer as they are; any other value larger than the spool
    goes to the key's temporary file directly, not through memory first."""
    if isinstance(new_value, JoinedParts):
        self._value_buffer.close()
        self._value_buffer, self.contentsize = new_value.file, new_value.size
        return
    if len(new_value) > self._max_buffer_size:
        self._value_buffer.rollover()
    _set_value(self, new_value)


FakeMultipart.complete = complete_on_disk  # type: ignore[method-assign, assignment]
FakeKey.value = FakeKey.value.setter(set_value_on_disk)  # type: ignore[method-assign, attr-defined]

if __name__ == "__main__":
    server.main()
