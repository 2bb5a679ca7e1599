"""The reference form of a file inside an archive, shared by storage (which resolves references)
and media (which reads archive members): fsspec's chained-URL form, so `fsspec.open(ref)`
understands it too:

    tar://<member path inside the archive>::<archive path or URI>

e.g. `tar://00012.jpg::s3://bucket/Echo-4o-Image/Surrel-Fantasy-Image/images/0-5000.tar.gz`.
Reading a member is `hf_mixture.media.archives.read_member`.
"""

from __future__ import annotations

ARCHIVE_PROTOCOL = "tar"
_PREFIX = f"{ARCHIVE_PROTOCOL}://"
_SEPARATOR = "::"


def archive_ref(member: str, archive: str) -> str:
    """The reference to `member` inside `archive` (`tar://member::archive`)."""
    return f"{_PREFIX}{member.lstrip('/')}{_SEPARATOR}{archive}"


def split_archive_ref(ref: str) -> tuple[str, str] | None:
    """(member, archive) for an archive reference, None for any other reference."""
    if not isinstance(ref, str) or not ref.startswith(_PREFIX) or _SEPARATOR not in ref:
        return None
    member, archive = ref[len(_PREFIX) :].split(_SEPARATOR, 1)
    return member, archive


def is_archive_ref(ref: str) -> bool:
    """Whether `ref` names a member inside an archive."""
    return split_archive_ref(ref) is not None


def outer_location(ref: str) -> str:
    """The file a reference lives in: the archive for an archive reference, else `ref` itself."""
    parts = split_archive_ref(ref)
    return parts[1] if parts else ref
