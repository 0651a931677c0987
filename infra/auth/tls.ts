// A private CA and a server certificate for nats-server's tls {} block. Keys come from node:crypto
// (native RSA generation); node-forge (no dependencies, maintained) builds and signs the X.509
// certificates, which node:crypto can read and verify but not make.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { isIP } from "node:net";
import type forge from "node-forge";

// Loaded on the first certificate (`docswarm auth init --tls`, tests): every command reaches this
// module through infra/'s index, and node-forge is ~40 modules none of them needs otherwise.
const require = createRequire(import.meta.url);
let loaded: typeof forge | undefined;
const lib = (): typeof forge => (loaded ??= require("node-forge") as typeof forge);

export type PemPair = { cert: string; key: string };

const DAY_MS = 86_400_000;

function rsaKeys(): { forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const forgeKey = lib().pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  return { forgeKey, publicKey: lib().pki.setRsaPublicKey(forgeKey.n, forgeKey.e), pem };
}

function serial(): string {
  // Positive, 16 random bytes (RFC 5280 allows up to 20 octets).
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString("hex");
}

function baseCert(publicKey: forge.pki.rsa.PublicKey, days: number): forge.pki.Certificate {
  const cert = lib().pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + days * DAY_MS);
  return cert;
}

/** A self-signed certificate authority, valid for `days`. */
export function createCa(name = "docswarm CA", days = 3650): PemPair {
  const keys = rsaKeys();
  const cert = baseCert(keys.publicKey, days);
  const subject = [{ name: "commonName", value: name }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.forgeKey, lib().md.sha256.create());
  return { cert: lib().pki.certificateToPem(cert), key: keys.pem };
}

/**
 * A certificate for `hosts` (DNS names and IP addresses, all in subjectAltName), signed by `ca`.
 * `usage` picks the extended key usage: a server's, or a client's for mutual TLS.
 */
export function issueCertificate(
  ca: PemPair,
  commonName: string,
  hosts: string[],
  usage: "server" | "client" = "server",
  days = 825,
): PemPair {
  const caCert = lib().pki.certificateFromPem(ca.cert);
  const caKey = lib().pki.privateKeyFromPem(ca.key);
  const keys = rsaKeys();
  const cert = baseCert(keys.publicKey, days);
  cert.setSubject([{ name: "commonName", value: commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    // A server's certificate is also its client certificate on cluster routes (nodes verify each
    // other), and Go refuses a client certificate without clientAuth.
    { name: "extKeyUsage", serverAuth: usage === "server", clientAuth: true },
    ...(hosts.length > 0
      ? [
          {
            name: "subjectAltName",
            altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })),
          },
        ]
      : []),
    { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, lib().md.sha256.create());
  return { cert: lib().pki.certificateToPem(cert), key: keys.pem };
}
