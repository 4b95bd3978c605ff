"""moto_server for `make bench-upload`: moto as the suite runs it, but completing a multipart
upload on disk, so a 4 GiB source does not take ~20 GiB of the machine's memory.

moto 5 joins the parts in memory: a bytearray of the object, a second one for its default
CRC64NVME checksum, a bytes copy of each, and the new key's in-memory spool before it rolls over
to disk (about 5x the object). Here the parts are joined into a temporary file, the key is
spooled straight to disk, and no full-object checksum is made (the app never asks for one).
Each part is still checked (known part, matching ETag, all but the last >= 5 MiB), and the ETag
is S3's md5-of-md5s, as moto makes it.

    python -m benchmarks.moto_server -H 127.0.0.1 -p PORT
"""

import codecs
import mmap
import tempfile
from collections.abc import Iterator

from moto import server
from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML
from moto.s3.models import S3_UPLOAD_PART_MIN_SIZE, FakeKey, FakeMultipart
from moto.utilities.utils import md5_hash


def complete_on_disk(self: FakeMultipart, body: Iterator[tuple[int, str]]) -> tuple[mmap.mmap, str, None]:
    """FakeMultipart.complete, with the joined object in a temporary file (mapped, not read)."""
    # The map keeps the (unlinked) file alive once it is closed, until the key has copied it.
    with tempfile.TemporaryFile(prefix="moto-bench-") as joined:
        md5s, last, count = bytearray(), None, 0
        for number, etag in body:
            part = self.parts.get(number)
            if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
                raise InvalidPart()
            if last is not None and last.contentsize < S3_UPLOAD_PART_MIN_SIZE:
                raise EntityTooSmall()
            md5s.extend(codecs.decode(part.etag.replace('"', ""), "hex"))
            joined.write(part.value)  # one part (5 MiB) in memory at a time
            last, count = part, count + 1
        if count == 0:
            raise MalformedXML()
        joined.flush()
        full_etag = md5_hash()
        full_etag.update(bytes(md5s))
        return mmap.mmap(joined.fileno(), 0, access=mmap.ACCESS_READ), f"{full_etag.hexdigest()}-{count}", None


_set_value = FakeKey.value.fset


def set_value_on_disk(self: FakeKey, new_value) -> None:
    """A value larger than the spool goes to the key's temporary file directly, not through memory."""
    if len(new_value) > self._max_buffer_size:
        self._value_buffer.rollover()
    _set_value(self, new_value)


FakeMultipart.complete = complete_on_disk
FakeKey.value = FakeKey.value.setter(set_value_on_disk)

if __name__ == "__main__":
    server.main()
