"""A throwaway certificate authority for a secured local Kafka: the broker's certificate (server and
client: it also authenticates to its own controller) and client certificates for mutual TLS, as PEM
files Kafka reads directly (`ssl.keystore.type=PEM`). `cryptography` comes with bridge-shared
(PyJWT's crypto extra). Never for production: keys are unencrypted and live one day."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class CertFiles:
    cert: Path  # the certificate, then the CA (the chain)
    key: Path  # unencrypted PKCS#8
    keystore: Path  # key + chain in one file: Kafka's PEM keystore


@dataclass
class Pki:
    directory: Path
    ca: Path
    broker: CertFiles
    clients: dict[str, CertFiles] = field(default_factory=dict)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not ca,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_pki(
    directory: Path, *, broker_cn: str = "kafka-broker", client_cns: tuple[str, ...] = (), days: int = 1
) -> Pki:
    """Writes ca.pem, the broker's files and one set per client CN under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Bridge local Kafka CA"))
        .issuer_name(_name("Bridge local Kafka CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_pem)

    def issue(cn: str, *, server: bool) -> CertFiles:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(ca=False), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                    if server
                    else [ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        chain = cert.public_bytes(serialization.Encoding.PEM) + ca_pem
        files = CertFiles(directory / f"{cn}.pem", directory / f"{cn}.key", directory / f"{cn}.keystore.pem")
        files.cert.write_bytes(chain)
        files.key.write_bytes(_key_pem(key))
        files.key.chmod(0o600)
        files.keystore.write_bytes(_key_pem(key) + chain)
        files.keystore.chmod(0o600)
        return files

    pki = Pki(directory, ca_path, issue(broker_cn, server=True))
    for cn in client_cns:
        pki.clients[cn] = issue(cn, server=False)
    return pki
