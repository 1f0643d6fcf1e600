"""Reading a stored checkpoint wherever Ray's storage put it: a local path or any pyarrow URI (s3://...)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hpo.results.errors import StoreError
from hpo.results.secrets import mask_secrets, mask_url

__all__ = ["local_checkpoint"]


@contextlib.contextmanager
def local_checkpoint(uri: str) -> Iterator[Path]:
    """The checkpoint at ``uri`` as a local directory: the path itself, or a temporary copy of a remote one.

    Credentials and endpoints come from the environment, as for Ray (``AWS_*``, ``AWS_ENDPOINT_URL_S3``...).

    Raises:
        StoreError: the remote checkpoint cannot be read (one line).
    """
    if "://" not in uri or uri.startswith("file://"):
        yield Path(uri.removeprefix("file://"))
        return
    import pyarrow.fs

    with tempfile.TemporaryDirectory(prefix="hpo-ckpt-") as tmp:
        try:
            fs, path = pyarrow.fs.FileSystem.from_uri(uri)
            pyarrow.fs.copy_files(path, tmp, source_filesystem=fs, destination_filesystem=pyarrow.fs.LocalFileSystem())
        except (OSError, ValueError) as exc:
            first = (mask_secrets(str(exc)).strip().splitlines() or [type(exc).__name__])[0]
            raise StoreError(f"cannot read checkpoint {mask_url(uri)}: {first}") from exc
        yield Path(tmp)
