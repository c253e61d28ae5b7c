"""Development certificates for docker-compose's Kafka: a throwaway CA, the broker's key and chain
(SANs kafka, localhost; server and client use: it is also the broker's own mutual-TLS identity, CN
kafka-broker), and the health check's client config. Written once into the `kafka-certs` volume.

DEVELOPMENT ONLY: the files are world-readable so the Kafka container's user can read them, and the
key is not encrypted. Production brings its own CA and keys (deploy/README.md)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def main(target: Path) -> None:
    if (target / "kafka.keystore.pem").exists():
        print(f"certificates already in {target}")
        return
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Bridge dev Kafka CA"))
        .issuer_name(_name("Bridge dev Kafka CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kafka-broker"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("kafka"), x509.DNSName("localhost")]), critical=False
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_pem = ca.public_bytes(pem)
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    target.mkdir(parents=True, exist_ok=True)
    (target / "ca.pem").write_bytes(ca_pem)
    (target / "kafka.keystore.pem").write_bytes(key_pem + cert.public_bytes(pem) + ca_pem)
    (target / "healthcheck.properties").write_text(
        "security.protocol=SSL\n"
        "ssl.keystore.type=PEM\n"
        f"ssl.keystore.location={target}/kafka.keystore.pem\n"
        "ssl.truststore.type=PEM\n"
        f"ssl.truststore.location={target}/ca.pem\n"
    )
    for path in target.iterdir():
        path.chmod(0o644)
    print(f"wrote the development CA and the broker's certificate to {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/certs"))
