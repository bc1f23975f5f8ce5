"""How the local server's bytes reach the client: in pieces with gaps, as TCP and TLS deliver them.

Over loopback every write arrives whole in one read, which a client reading a
body with one `read(n)` never notices. Over a real network a body or a
websocket frame arrives in segments of about one MSS (1.4 KB), some
milliseconds apart. `PiecesProtocol` sits between the socket (or TLS) transport
and aiohttp's protocol and gives aiohttp a transport that writes every write in
such pieces, with a fixed gap between them: the same for HTTP bodies and
websocket frames, with no handler knowing. It is deterministic (fixed sizes
and gaps, no randomness), and the first piece of a write after a quiet moment
goes at once, so first-byte times do not change.

`LocalCertificate` is a certificate authority and a server certificate for
127.0.0.1 and localhost, made at run time, for the server's TLS mode.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
import datetime as dt
import ipaddress
from pathlib import Path
import ssl
import tempfile
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Ethernet's MSS less TCP options, which TLS records of this size also fit.
SEGMENT_BYTES: Final = 1400
SEGMENT_GAP: Final = 0.001
# How long a closed websocket connection waits for the client to close before closing itself.
LINGER: Final = 2.0
# Above this many bytes waiting, aiohttp is told to stop writing (as a socket's buffer would).
_HIGH_WATER: Final = 256 * 1024
_LOW_WATER: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class Network:
    """How writes are delivered: pieces of `segment_bytes`, `gap` seconds apart (0: whole)."""

    segment_bytes: int = SEGMENT_BYTES
    gap: float = SEGMENT_GAP

    @property
    def whole_writes(self) -> bool:
        """Whether writes go to the socket as they are, as over loopback."""
        return self.segment_bytes <= 0

    def serve(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """Wrap a protocol factory (aiohttp's `web.Server`) so its writes go this way."""
        if self.whole_writes:
            return factory
        return lambda: PiecesProtocol(factory(), self)


PIECES: Final = Network()
"""A real network's delivery: the server's default."""
WHOLE_WRITES: Final = Network(segment_bytes=0, gap=0.0)
"""Loopback's delivery: each write whole."""


class PiecesTransport(asyncio.Transport):
    """The transport aiohttp writes to: bytes leave in segments, `gap` apart.

    Writes are queued as one stream of bytes, so a burst of small writes is sent
    in full segments and a message may be cut anywhere, as TCP does. A write
    after a quiet moment leaves at once.
    """

    def __init__(self, outer: PiecesProtocol, transport: asyncio.Transport) -> None:
        """Send through `transport` for `outer`, which owns the flow control."""
        super().__init__()
        self._outer = outer
        self._transport = transport
        self._queue = bytearray()
        self._sender: asyncio.Task[None] | None = None
        self._closing = False
        self._websocket = False
        self._linger: asyncio.TimerHandle | None = None

    @property
    def queued(self) -> int:
        """How many bytes wait to be written."""
        return len(self._queue)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue the bytes; send a first segment now when the line is quiet."""
        if self._closing or not data:
            return
        if not self._websocket and not self._queue and self._sender is None:
            self._websocket = bytes(data[:12]) == b"HTTP/1.1 101"
        self._queue += data
        if self._sender is None:
            self._send_segment()
            self._sender = asyncio.get_running_loop().create_task(self._send())
        self._outer.queue_changed()

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        """Queue the bytes of every buffer, as one write."""
        self.write(b"".join(list_of_data))

    def _send_segment(self) -> None:
        """Write the next segment of the queue to the socket."""
        size = self._outer.network.segment_bytes
        segment = bytes(self._queue[:size])
        del self._queue[:size]
        self._transport.write(segment)

    async def _send(self) -> None:
        """Write the rest of the queue a segment per `gap`; then close if asked."""
        gap = self._outer.network.gap
        try:
            await asyncio.sleep(gap)
            while self._queue and not self._transport.is_closing():
                self._send_segment()
                self._outer.queue_changed()
                await asyncio.sleep(gap)
        finally:
            self._sender = None
        if self._closing:
            self._after_last_segment()

    def _after_last_segment(self) -> None:
        """Close; a websocket waits for the client's close first, as websocket servers do."""
        if not self._websocket or self._transport.is_closing():
            self._transport.close()
            return
        # The client answers a close frame and then closes; only then does TCP (or TLS) close.
        loop = asyncio.get_running_loop()
        self._linger = loop.call_later(LINGER, self._transport.close)

    def peer_closed(self) -> None:
        """The client closed its side: stop lingering."""
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
            self._transport.close()

    def connection_lost(self) -> None:
        """The connection is gone: nothing more is sent."""
        self._queue.clear()
        if self._sender is not None:
            self._sender.cancel()
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None

    def close(self) -> None:
        """Close once every queued byte is written."""
        if self._closing:
            return
        self._closing = True
        if self._sender is None:
            self._after_last_segment()

    def abort(self) -> None:
        """Drop the connection without a close; what was written before is on the wire."""
        self._closing = True
        if self._sender is not None:
            self._sender.cancel()
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if self._queue and not self._transport.is_closing():
            self._transport.write(bytes(self._queue))
        self._queue.clear()
        self._transport.abort()

    def is_closing(self) -> bool:
        """Whether close or abort was called, or the connection is going."""
        return self._closing or self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Answer from the real transport (socket, peer name, SSL object)."""
        return self._transport.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        """The bytes queued here and in the real transport."""
        return self._queued + self._transport.get_write_buffer_size()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Pass the real transport's limits on."""
        self._transport.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        """Never: aiohttp does not half-close, and a queued piece would be cut."""
        return False

    def pause_reading(self) -> None:
        """Stop reading from the socket."""
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        """Read from the socket again."""
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        """Whether the socket is being read."""
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Not supported: aiohttp keeps its protocol for the connection's life."""
        raise NotImplementedError

    def get_protocol(self) -> asyncio.BaseProtocol:
        """The protocol aiohttp reads with."""
        return self._outer.inner


class PiecesProtocol(asyncio.Protocol):
    """Sits between the socket and aiohttp: reads pass through, writes go in pieces."""

    def __init__(self, inner: asyncio.Protocol, network: Network) -> None:
        """Serve `inner` (aiohttp's request handler) over `network`."""
        self.inner = inner
        self.network = network
        self._transport: PiecesTransport | None = None
        self._socket_paused = False
        self._queue_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Hand aiohttp the transport that writes in pieces."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = PiecesTransport(self, transport)
        self.inner.connection_made(self._transport)

    def data_received(self, data: bytes) -> None:
        """Pass the client's bytes on."""
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        """Pass the client's end of writing on."""
        if self._transport is not None:
            self._transport.peer_closed()
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        """Pass the end of the connection on."""
        if self._transport is not None:
            self._transport.connection_lost()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        """The socket's buffer is full."""
        self._socket_paused = True
        self._flow_changed(was_paused=self._queue_paused)

    def resume_writing(self) -> None:
        """The socket's buffer drained."""
        self._socket_paused = False
        self._flow_changed(was_paused=True)

    def queue_changed(self) -> None:
        """Pause aiohttp while much is queued here; resume it once the queue is short."""
        if self._transport is None:
            return
        queued = self._transport.queued
        was_paused = self._socket_paused or self._queue_paused
        if queued > _HIGH_WATER:
            self._queue_paused = True
        elif queued <= _LOW_WATER:
            self._queue_paused = False
        self._flow_changed(was_paused=was_paused)

    def _flow_changed(self, *, was_paused: bool) -> None:
        """Tell aiohttp to stop or go on writing when the combined state changed."""
        paused = self._socket_paused or self._queue_paused
        if paused and not was_paused:
            self.inner.pause_writing()
        elif was_paused and not paused:
            self.inner.resume_writing()


class LocalCertificate:
    """A certificate authority and its server certificate for 127.0.0.1 and localhost.

    The client trusts `ca_pem` (`client_context()`, or `trust()` on an existing
    context); the server presents the certificate (`server_context()`).
    """

    def __init__(self, hosts: Iterable[str] = ("127.0.0.1", "localhost")) -> None:
        """Make the keys and certificates (elliptic curve: a few milliseconds)."""
        now = dt.datetime.now(dt.UTC)
        validity = (now - dt.timedelta(hours=1), now + dt.timedelta(days=2))
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Local Deepgram test CA")])
        ca_certificate = (
            _builder(ca_name, ca_name, ca_key.public_key(), validity)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Local Deepgram server")])
        certificate = (
            _builder(subject, ca_name, key.public_key(), validity)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            # Python 3.13's strict verification wants both key identifiers.
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_pem = ca_certificate.public_bytes(serialization.Encoding.PEM).decode()
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        self.key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def server_context(self) -> ssl.SSLContext:
        """Return the server's TLS context, presenting the certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        # `load_cert_chain` reads files only; they live just long enough to be read.
        with tempfile.TemporaryDirectory() as directory:
            chain, key = Path(directory, "chain.pem"), Path(directory, "key.pem")
            chain.write_text(self.certificate_pem + self.ca_pem, encoding="ascii")
            key.write_text(self.key_pem, encoding="ascii")
            context.load_cert_chain(chain, key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Return a client context that trusts only this authority."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self.trust(context)
        return context

    def trust(self, context: ssl.SSLContext) -> None:
        """Make a client context trust this authority too."""
        context.load_verify_locations(cadata=self.ca_pem)

    def write(self, directory: Path) -> Path:
        """Write the authority's certificate to `directory`; return its path."""
        path = directory / "deepgram-local-ca.pem"
        path.write_text(self.ca_pem, encoding="ascii")
        return path


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    validity: tuple[dt.datetime, dt.datetime],
) -> x509.CertificateBuilder:
    """Start a certificate: names, key, serial number and validity."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
    )
