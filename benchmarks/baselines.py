"""Plain-Python baselines the benchmarks compare against.

The v1 record stream baseline is Disco 0.5's own Python implementation of the format
(docs/formats/record-streams.md): per-record ``pickle.dumps(record, 1)`` into a BytesIO hunk,
``zlib`` level 2, and a reader that calls ``pickle.load`` once per record.
"""
import io
import pickle
import struct
import zlib

HUNK_SIZE = 1024 ** 2


class BaselineOutputStream_v1(object):
    def __init__(self, stream, compression_level=2, min_hunk_size=HUNK_SIZE):
        self.stream = stream
        self.compression_level = compression_level
        self.min_hunk_size = min_hunk_size
        self.hunk_size = 0
        self.hunk = io.BytesIO()

    def add(self, k, v):
        self.append((k, v))

    def append(self, record):
        data = pickle.dumps(record, 1)
        self.hunk.write(data)
        self.hunk_size += len(data)
        if self.hunk_size > self.min_hunk_size:
            self.flush()

    def flush(self):
        hunk = self.hunk.getvalue()
        checksum = zlib.crc32(hunk) & 0xFFFFFFFF
        compressed = int(self.compression_level > 0)
        if compressed:
            hunk = zlib.compress(hunk, self.compression_level)
        self.stream.write(struct.pack("<BBIQ", 129, compressed, checksum, len(hunk)) + hunk)
        self.hunk_size = 0
        self.hunk = io.BytesIO()

    def close(self):
        if self.hunk_size:
            self.flush()
        self.flush()


def baseline_input_stream(stream, size, url):
    while True:
        header = stream.read(1)
        if not header:
            return
        compressed, checksum, hunk_size = struct.unpack("<BIQ", stream.read(13))
        if not hunk_size:
            return
        hunk = stream.read(hunk_size)
        data = zlib.decompress(hunk) if compressed else hunk
        if checksum != (zlib.crc32(data) & 0xFFFFFFFF):
            raise ValueError("Checksum does not match")
        hunk = io.BytesIO(data)
        while True:
            try:
                yield pickle.load(hunk)
            except EOFError:
                break
