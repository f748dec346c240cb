import Synchronization
import Testing

@testable import SwitchyardCore

@Suite("Runtime snapshot: certificates")
struct RuntimeCertificateTests {
    static func certificate(_ fingerprint: String) -> CertificateSpec {
        CertificateSpec(
            certificatePem: "-----BEGIN CERTIFICATE-----\n\(fingerprint)\n-----END CERTIFICATE-----\n",
            details: CertificateDetails(
                subject: "CN=a", sanNames: ["a"], issuer: "CN=ca", notBefore: "2026-01-01T00:00:00Z", notAfter: "2027-01-01T00:00:00Z",
                keyType: "ecdsa-p256", fingerprintSha256: fingerprint),
            sealedKey: SealedPrivateKey(version: 1, keyId: "k", sealed: "sealed-\(fingerprint)"))
    }

    static func document(site: String) -> ConfigDocument {
        ConfigDocument(
            pools: ["web": PoolEntry(spec: .defaults)],
            listeners: ["secure": ListenerSpec(port: 443, protocol: .https, defaultPool: "web", tls: TLSSpec(certificates: ["site", "other"]))],
            certificates: ["site": certificate(site), "other": certificate("bb")])
    }

    @Test("keys are opened once per certificate version; unchanged certificates are taken over from the previous snapshot")
    func opensChangedOnly() throws {
        let opened = Mutex<[String]>([])
        let opener: RuntimeCertificate.KeyOpener = { name, spec in
            opened.withLock { $0.append(name) }
            return "key of \(spec.details.fingerprintSha256)"
        }
        let first = try RuntimeConfig(document: Self.document(site: "aa"), generation: 1, openKey: opener)
        #expect(opened.withLock { $0.sorted() } == ["other", "site"])
        #expect(first.certificates["site"]?.privateKeyPem == "key of aa")
        let second = try RuntimeConfig(document: Self.document(site: "cc"), generation: 2, reusing: first, changedPools: [], openKey: opener)
        #expect(opened.withLock { $0.sorted() } == ["other", "site", "site"])
        #expect(second.certificates["site"]?.privateKeyPem == "key of cc")
        #expect(second.certificates["other"] == first.certificates["other"])
    }

    @Test("a key that cannot be opened leaves the certificate out, with the reason; the rest of the snapshot stands")
    func unavailable() throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "sealed under another key" } }
        let refusing = try RuntimeConfig(document: Self.document(site: "aa"), generation: 1, openKey: { _, _ in throw Refused() })
        #expect(refusing.certificates.isEmpty)
        #expect(refusing.unavailableCertificates["site"] == "sealed under another key")
        #expect(refusing.listeners["secure"] != nil)
        let keyless = try RuntimeConfig(document: Self.document(site: "aa"), generation: 1)
        #expect(keyless.unavailableCertificates.keys.sorted() == ["other", "site"])
    }

    @Test("a listener naming a missing certificate is refused; the diff writes certificates before listeners and deletes them after")
    func referencesAndDiffOrder() throws {
        var document = Self.document(site: "aa")
        document.certificates["other"] = nil
        #expect(throws: ValidationFailure.self) { try RuntimeConfig(document: document, generation: 1) }

        let target = Self.document(site: "aa")
        let created = ConfigDiff.changes(from: .empty, to: target).map(\.resource.kind)
        #expect(created.firstIndex(of: .certificate)! < created.firstIndex(of: .listener)!)
        let deleted = ConfigDiff.changes(from: target, to: .empty).map(\.resource.kind)
        #expect(deleted.lastIndex(of: .certificate)! > deleted.lastIndex(of: .listener)!)
    }
}
