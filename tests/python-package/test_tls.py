"""TLS and mutual TLS: a server with certificates made for the test, called
with the client's ca=, cert= and key= options."""

from __future__ import annotations

import datetime
import ipaddress
import pathlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import stratus


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> pathlib.Path:
    """ca.pem, server.pem/.key (localhost, 127.0.0.1) and client.pem/.key."""
    folder = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("stratus test CA"))
        .issuer_name(_name("stratus test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def issue(stem: str, names: list[x509.GeneralName], usage: x509.ObjectIdentifier) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(stem))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (folder / f"{stem}.key").write_bytes(_pem_key(key))

    issue(
        "server",
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
    )
    issue("client", [x509.DNSName("analyst")], x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH)
    return folder


def _server_args(pki: pathlib.Path, mutual: bool) -> list[str]:
    args = [f"--tls-cert={pki / 'server.pem'}", f"--tls-key={pki / 'server.key'}"]
    if mutual:
        args.append(f"--tls-client-ca={pki / 'ca.pem'}")
    return args


def test_https_with_a_private_ca(pki, start_server):
    with start_server(_server_args(pki, mutual=False)) as address:
        with stratus.Client(f"https://{address}", ca=pki / "ca.pem", timeout=20) as client:
            assert client.tls
            frame = client.forecast("china-cloud-infra-annual", model="naive", horizon=2)
            assert len(frame) == 2
        # A bare host:port with TLS options uses TLS too; the CA may be given as bytes.
        with stratus.Client(address, ca=(pki / "ca.pem").read_bytes(), timeout=20) as client:
            assert "naive" in set(client.models()["name"])
        # The system roots do not trust the test CA.
        with stratus.Client(f"https://{address}", timeout=20) as client:
            with pytest.raises(stratus.Unavailable):
                client.models()


def test_mutual_tls_needs_the_client_certificate(pki, start_server):
    with start_server(_server_args(pki, mutual=True)) as address:
        with stratus.Client(
            f"https://{address}", ca=pki / "ca.pem", cert=pki / "client.pem", key=str(pki / "client.key"), timeout=20
        ) as client:
            assert len(client.forecast("china-cloud-infra-annual", model="naive", horizon=1)) == 1
        with stratus.Client(f"https://{address}", ca=pki / "ca.pem", timeout=20) as client:
            with pytest.raises(stratus.StratusError) as error:
                client.models()
            assert error.value.code.name == "UNAVAILABLE"
