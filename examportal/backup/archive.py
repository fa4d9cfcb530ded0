"""The encrypted backup container: a byte stream cut into chunks, each one a Fernet token.

Fernet (AES-CBC with an HMAC-SHA256 over every token) authenticates what it encrypts, but only
a whole message held in memory, and a database dump can be larger than memory. So the stream is
cut into chunks, and each chunk's plaintext begins with the archive's random id, the chunk's
number and a last-chunk flag: a chunk edited, moved, dropped, copied in from another archive of
the same key, or a file cut short after any chunk, all fail to read back.

Layout: one header line ``EXAMPORTAL-BACKUP <version> <key id>``, then per chunk a 4-byte
big-endian length and the Fernet token. The key id (a keyed digest of the key, which tells
nothing about it) only lets a wrong key be told apart from a damaged file.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from cryptography.fernet import Fernet, InvalidToken

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

MAGIC = b"EXAMPORTAL-BACKUP"
VERSION = 1
CHUNK_SIZE = 1 << 20
ARCHIVE_ID_BYTES = 16
_CHUNK_HEADER = struct.Struct(f">{ARCHIVE_ID_BYTES}sQ?")
_LENGTH = struct.Struct(">I")
# A Fernet token is base64 of 57 bytes of overhead plus the padded plaintext: refuse anything far
# bigger before reading it, so a damaged length field cannot make the reader take all memory.
_MAX_TOKEN = 4 * (CHUNK_SIZE + _CHUNK_HEADER.size + 64) // 3 + 256
_KEY_ID_CONTEXT = b"examportal-backup-key-id"


class BackupError(Exception):
    """A backup could not be made or read back; the message says why and what to do."""


class BackupKeyError(BackupError):
    """BACKUP_KEY is missing, malformed, or not the key the archive was made with."""


class ArchiveDamaged(BackupError):
    """The archive does not authenticate: edited, cut short, or not a backup at all."""


@dataclass(frozen=True)
class BackupKey:
    """A Fernet key and its public key id."""

    fernet: Fernet
    id: str

    @classmethod
    def from_text(cls, text: str | None) -> BackupKey:
        """The key from its text form (BACKUP_KEY); BackupKeyError saying what to do if unusable."""
        if not text or not text.strip():
            raise BackupKeyError("BACKUP_KEY is not set: backups are encrypted with it. Make one with "
                                 "`flask backup new-key`, and keep it apart from the backups (without it they cannot be read)")
        text = text.strip()
        try:
            fernet = Fernet(text)
        except ValueError:
            raise BackupKeyError("BACKUP_KEY is not a Fernet key (32 url-safe base64-encoded bytes, as "
                                 "`flask backup new-key` prints)") from None
        digest = hmac.new(text.encode("ascii"), _KEY_ID_CONTEXT, hashlib.sha256).hexdigest()
        return cls(fernet, digest[:16])

    @staticmethod
    def generate() -> str:
        return Fernet.generate_key().decode("ascii")


class EncryptingWriter(io.RawIOBase):
    """Write plaintext in; chunks of Fernet tokens go to ``target``. ``finish()`` writes the last
    chunk: an archive whose writer never finished (closed, or dropped after an error) cannot be
    read back."""

    def __init__(self, target: BinaryIO, key: BackupKey, chunk_size: int = CHUNK_SIZE) -> None:
        if not 0 < chunk_size <= CHUNK_SIZE:
            raise ValueError(f"chunk_size must be between 1 and {CHUNK_SIZE}")
        self._target = target
        self._key = key
        self._chunk_size = chunk_size
        self._archive_id = os.urandom(ARCHIVE_ID_BYTES)
        self._index = 0
        self._buffer = bytearray()
        self._finished = False
        target.write(b"%s %d %s\n" % (MAGIC, VERSION, key.id.encode("ascii")))

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        if self._finished or self.closed:
            raise ValueError("the archive is finished")
        view = memoryview(data).cast("B")
        self._buffer += view
        # Up to a whole chunk is held back: finish() writes it, flagged as the last one.
        while len(self._buffer) > self._chunk_size:
            self._emit(bytes(self._buffer[:self._chunk_size]), last=False)
            del self._buffer[:self._chunk_size]
        return len(view)

    def finish(self) -> None:
        if not self._finished:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._finished = True

    def _emit(self, payload: bytes, last: bool) -> None:
        token = self._key.fernet.encrypt(_CHUNK_HEADER.pack(self._archive_id, self._index, last) + payload)
        self._target.write(_LENGTH.pack(len(token)) + token)
        self._index += 1


class DecryptingReader(io.RawIOBase):
    """Read plaintext out of an archive; ArchiveDamaged or BackupKeyError as soon as a chunk fails.

    Every byte returned comes from a chunk that authenticated, but the archive as a whole is proved
    complete only when ``read_to_end()`` (or reading up to the end) has returned.
    """

    def __init__(self, source: BinaryIO, key: BackupKey) -> None:
        self._source = source
        self._key = key
        line = source.readline(256)
        parts = line.rstrip(b"\n").split(b" ")
        if len(parts) != 3 or parts[0] != MAGIC or not line.endswith(b"\n"):
            raise ArchiveDamaged("this is not an examportal backup (no backup header)")
        if parts[1] != str(VERSION).encode("ascii"):
            raise ArchiveDamaged(f"backup format {parts[1].decode('ascii', 'replace')} is not supported here "
                                 f"(this version reads format {VERSION}); restore it with the version that made it")
        archive_key_id = parts[2].decode("ascii", "replace")
        if archive_key_id != key.id:
            raise BackupKeyError(f"the archive was encrypted with another key (key id {archive_key_id}); "
                                 f"BACKUP_KEY here has key id {key.id}. Set BACKUP_KEY to the key the backup was made with")
        self._archive_id: bytes | None = None
        self._index = 0
        self._buffer = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._done and not self._buffer:
            self._buffer = self._next_chunk()
        target = memoryview(buffer).cast("B")
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size

    def read_to_end(self) -> int:
        """Read (and authenticate) the rest of the archive; the number of plaintext bytes left."""
        left = len(self._buffer)
        self._buffer = b""
        while not self._done:
            left += len(self._next_chunk())
        return left

    def _next_chunk(self) -> bytes:
        number = self._index
        prefix = self._source.read(_LENGTH.size)
        if len(prefix) < _LENGTH.size:
            raise ArchiveDamaged(f"the archive ends before its last chunk (chunk {number} is missing): it was cut short")
        (length,) = _LENGTH.unpack(prefix)
        if length > _MAX_TOKEN:
            raise ArchiveDamaged(f"chunk {number} has an impossible length: the archive was altered or damaged")
        token = self._source.read(length)
        if len(token) < length:
            raise ArchiveDamaged(f"the archive ends inside chunk {number}: it was cut short")
        try:
            plain = self._key.fernet.decrypt(token)
        except InvalidToken:
            raise ArchiveDamaged(f"chunk {number} does not authenticate: the archive was altered or damaged "
                                 "(nothing was restored)") from None
        if len(plain) < _CHUNK_HEADER.size:
            raise ArchiveDamaged(f"chunk {number} is too short to be a backup chunk")
        archive_id, index, last = _CHUNK_HEADER.unpack_from(plain)
        if self._archive_id is None:
            self._archive_id = archive_id
        if archive_id != self._archive_id:
            raise ArchiveDamaged(f"chunk {number} belongs to another archive: the archive was spliced")
        if index != number:
            raise ArchiveDamaged(f"chunk {number} is chunk {index} of its archive: chunks were removed or reordered")
        self._index += 1
        if last:
            if self._source.read(1):
                raise ArchiveDamaged("there is data after the archive's last chunk: the archive was altered")
            self._done = True
        return plain[_CHUNK_HEADER.size:]
