import Foundation
import SwitchyardStore
import Testing

/// The base64 lines of a PEM private key that its certificate does not hold too (an RSA key's modulus
/// is in both): none of them may show up anywhere but in the request that sent it.
func privateKeyLines(_ pair: (certificate: String, key: String)) -> [String] {
    pair.key.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("-----") && $0.count >= 16 && !pair.certificate.contains($0) }
}

/// Whether `text` holds any private line of the pair's key.
func leaks(_ pair: (certificate: String, key: String), in text: String) -> Bool {
    let lines = privateKeyLines(pair)
    precondition(!lines.isEmpty, "a key with no line of its own")
    return lines.contains { text.contains($0) }
}

@Suite("Certificates API")
struct CertificateAPITests {
    @Test("create, read, list, replace, delete; fields derived from the leaf; the key never comes back")
    func lifecycle() async throws {
        let fixture = try TLSFixture()
        let first = try fixture.leaf("one.test", dnsNames: ["one.test", "*.one.test"], ipAddresses: ["127.0.0.1", "::1"])
        let renewed = try fixture.leaf("one-renewed.test", dnsNames: ["one.test"], rsa: true)
        let (logger, lines) = RecordingLogHandler.logger()
        let database = try await TestServer.createDatabase()
        let server = try await TestServer.start(storeConfiguration: database, logger: logger)
        do {
            let created = try await server.post(
                "/v1/certificates", ["name": "one", "certificate_pem": first.certificate, "private_key_pem": first.key])
            #expect(created.status == 201, "\(created.text)")
            #expect(created[header: "Location"] == "/v1/certificates/one")
            #expect(created.json["subject"] as? String == "CN=one.test")
            #expect(created.json["issuer"] as? String == "CN=Switchyard Test Intermediate")
            #expect(created.json["san_names"] as? [String] == ["one.test", "*.one.test", "127.0.0.1", "::1"])
            #expect(created.json["key_type"] as? String == "ecdsa-p256")
            #expect(created.json["fingerprint_sha256"] as? String == (try fixture.fingerprint(first.certificate)))
            #expect(created.json["certificate_pem"] as? String == first.certificate)
            #expect(created.json["private_key_pem"] == nil)
            // `openssl x509 -days 2`: valid from now for two days, to the second.
            let notBefore = try Date(created.json["not_before"] as? String ?? "", strategy: .iso8601)
            let notAfter = try Date(created.json["not_after"] as? String ?? "", strategy: .iso8601)
            #expect(abs(notBefore.timeIntervalSinceNow) < 600)
            #expect(abs(notAfter.timeIntervalSince(notBefore) - 2 * 86400) < 2)

            let read = try await server.get("/v1/certificates/one")
            #expect(read.status == 200)
            #expect(read[header: "ETag"] == created[header: "ETag"])
            #expect(read.json["fingerprint_sha256"] as? String == created.json["fingerprint_sha256"] as? String)
            let list = try await server.get("/v1/certificates")
            #expect((list.json["items"] as? [[String: Any]])?.map { $0["name"] as? String } == ["one"])

            let stale = try await server.put(
                "/v1/certificates/one", ["certificate_pem": renewed.certificate, "private_key_pem": renewed.key],
                headers: ["If-Match": "\"1\""])
            #expect(stale.status == 412)
            let replaced = try await server.put(
                "/v1/certificates/one", ["certificate_pem": renewed.certificate, "private_key_pem": renewed.key],
                headers: ["If-Match": created[header: "ETag"] ?? ""])
            #expect(replaced.status == 200, "\(replaced.text)")
            #expect(replaced.json["key_type"] as? String == "rsa-2048")
            #expect(replaced.json["subject"] as? String == "CN=one-renewed.test")
            #expect(replaced.json["fingerprint_sha256"] as? String == (try fixture.fingerprint(renewed.certificate)))
            #expect(replaced[header: "ETag"] != created[header: "ETag"])

            let missing = try await server.put(
                "/v1/certificates/nothing", ["certificate_pem": renewed.certificate, "private_key_pem": renewed.key])
            #expect(missing.status == 404)
            let taken = try await server.post(
                "/v1/certificates", ["name": "one", "certificate_pem": first.certificate, "private_key_pem": first.key])
            #expect(taken.status == 409)

            // The audit shows the fingerprints, never a key; nor do the tables hold one.
            let changes = try await server.get("/v1/changes")
            #expect(changes.text.contains(try fixture.fingerprint(first.certificate)))
            #expect(changes.text.contains(try fixture.fingerprint(renewed.certificate)))
            let config = try await server.get("/v1/config")
            #expect((config.json["certificates"] as? [[String: Any]])?.first?["key_type"] as? String == "rsa-2048")
            let rows = try await server.sql("SELECT settings::text FROM certificates")
                + server.sql("SELECT coalesce(before::text, '') || coalesce(after::text, '') FROM audit_log WHERE resource_type = 'certificate'")
            #expect(rows.count == 3)
            #expect(try await server.sql("SELECT settings->'sealed_key'->>'key_id' FROM certificates") == [TestServer.masterKey.id])

            #expect(try await server.delete("/v1/certificates/one").status == 204)
            #expect(try await server.get("/v1/certificates/one").status == 404)
            #expect(try await server.delete("/v1/certificates/one").status == 404)

            let answers = [created, read, list, replaced, stale, taken, changes, config].map(\.text).joined()
            for key in [first, renewed] {
                #expect(!leaks(key, in: answers))
                #expect(!rows.contains { leaks(key, in: $0 ?? "") })
                #expect(!lines.all.contains { leaks(key, in: $0) })
            }
            #expect(!lines.all.isEmpty)
            try await server.stop()
            try await TestServer.dropDatabase(database)
        } catch {
            try? await server.stop()
            try? await TestServer.dropDatabase(database)
            throw error
        }
    }

    @Test("bad PEM, a key that is not the leaf's, a chain out of order and an expired leaf: 400 naming the field")
    func validation() async throws {
        let fixture = try TLSFixture()
        let good = try fixture.leaf("good.test", dnsNames: ["good.test"])
        let other = try fixture.leaf("other.test", dnsNames: ["other.test"])
        let expired = try fixture.expiredLeaf("old.test")
        try await TestServer.with { server in
            func create(_ certificate: String, _ key: String, query: String = "") async throws -> TestServer.Response {
                try await server.post("/v1/certificates\(query)", ["name": "c", "certificate_pem": certificate, "private_key_pem": key])
            }
            let garbled = "-----BEGIN CERTIFICATE-----\nMIIBnotacertificate\n-----END CERTIFICATE-----\n"
            let badCertificate = try await create(garbled, good.key)
            #expect(badCertificate.status == 400)
            #expect(badCertificate.errorFields == ["certificate_pem"], "\(badCertificate.text)")
            // A damaged second certificate is not silently dropped.
            let damagedChain = try await create(good.certificate + garbled, good.key)
            #expect(damagedChain.errorFields == ["certificate_pem"], "\(damagedChain.text)")

            let badKey = try await create(good.certificate, "-----BEGIN PRIVATE KEY-----\nnotakey\n-----END PRIVATE KEY-----\n")
            #expect(badKey.status == 400)
            #expect(badKey.errorFields == ["private_key_pem"], "\(badKey.text)")

            let mismatch = try await create(good.certificate, other.key)
            #expect(mismatch.status == 400)
            #expect(mismatch.errorFields == ["private_key_pem"], "\(mismatch.text)")
            #expect(mismatch.text.contains("not the private key of the leaf"))

            // Intermediate first, then the leaf: each must be issued by the next.
            let leafOnly = String(good.certificate.prefix(upTo: good.certificate.range(of: "-----END CERTIFICATE-----\n")!.upperBound))
            let reversed = try await create(fixture.intermediate + leafOnly, good.key)
            #expect(reversed.status == 400)
            #expect(reversed.errorFields == ["certificate_pem"], "\(reversed.text)")
            #expect(reversed.text.contains("not issued by certificate 2"))
            // The leaf alone (no chain) is fine.
            let alone = try await server.post(
                "/v1/certificates", ["name": "alone", "certificate_pem": leafOnly, "private_key_pem": good.key])
            #expect(alone.status == 201, "\(alone.text)")

            let old = try await create(expired.certificate, expired.key)
            #expect(old.status == 400)
            #expect(old.errorFields == ["certificate_pem"], "\(old.text)")
            #expect(old.text.contains("expired"))
            let forced = try await create(expired.certificate, expired.key, query: "?force=true")
            #expect(forced.status == 201, "\(forced.text)")
            #expect(forced.json["not_after"] as? String == "2020-02-01T00:00:00Z")
            let forcedUpdate = try await server.put(
                "/v1/certificates/alone?force=true", ["certificate_pem": expired.certificate, "private_key_pem": expired.key])
            #expect(forcedUpdate.status == 200, "\(forcedUpdate.text)")
            let refusedUpdate = try await server.put(
                "/v1/certificates/alone", ["certificate_pem": expired.certificate, "private_key_pem": expired.key])
            #expect(refusedUpdate.errorFields == ["certificate_pem"])

            let badName = try await server.post(
                "/v1/certificates", ["name": "Bad Name", "certificate_pem": good.certificate, "private_key_pem": good.key])
            #expect(badName.status == 400)
            #expect(badName.errorFields.contains("name"), "\(badName.text)")
            #expect((try await server.get("/v1/certificates").json["items"] as? [Any])?.count == 2)
        }
    }

    @Test("without a master key the server runs, and creating a certificate is refused with 503 saying why")
    func withoutMasterKey() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("a.test", dnsNames: ["a.test"])
        try await TestServer.with(masterKey: nil) { server in
            let refused = try await server.post(
                "/v1/certificates", ["name": "a", "certificate_pem": leaf.certificate, "private_key_pem": leaf.key])
            #expect(refused.status == 503)
            #expect(refused.text.contains("master-key-not-configured"), "\(refused.text)")
            #expect(refused.text.contains("SWITCHYARD_MASTER_KEY_FILE"))
            #expect(try await server.get("/v1/certificates").status == 200)
            #expect(try await server.sql("SELECT count(*)::text FROM certificates") == ["0"])
        }
    }

    @Test("GET /v1/config shows certificates without keys; a PUT of it keeps them; rollback restores a deleted one")
    func configAndRollback() async throws {
        let fixture = try TLSFixture()
        let first = try fixture.leaf("a.test", dnsNames: ["a.test"])
        let second = try fixture.leaf("b.test", dnsNames: ["b.test"])
        try await TestServer.with { server in
            let created = try await server.post(
                "/v1/certificates", ["name": "a", "certificate_pem": first.certificate, "private_key_pem": first.key])
            #expect(created.status == 201)
            let generation = created.generation ?? 0
            let exported = try await server.get("/v1/config")
            #expect(!leaks(first, in: exported.text))
            var document = exported.json
            // The exported document as it is: nothing to change.
            let unchanged = try await server.put("/v1/config", document)
            #expect(unchanged.status == 200, "\(unchanged.text)")
            #expect(unchanged.json["applied"] as? Bool == false, "\(unchanged.text)")
            document["generation"] = nil

            // A new certificate needs its key; a changed chain too.
            var certificates = document["certificates"] as? [[String: Any]] ?? []
            certificates.append(["name": "b", "certificate_pem": second.certificate])
            document["certificates"] = certificates
            let keyless = try await server.put("/v1/config", document)
            #expect(keyless.status == 400)
            #expect(keyless.errorFields == ["certificates[1].private_key_pem"], "\(keyless.text)")
            certificates[1]["private_key_pem"] = first.key
            document["certificates"] = certificates
            let mismatch = try await server.put("/v1/config", document)
            #expect(mismatch.errorFields == ["certificates[1].private_key_pem"], "\(mismatch.text)")
            certificates[1]["private_key_pem"] = second.key
            document["certificates"] = certificates
            let added = try await server.put("/v1/config", document)
            #expect(added.status == 200, "\(added.text)")
            let changes = added.json["changes"] as? [[String: Any]] ?? []
            #expect(changes.map { $0["resource_type"] as? String } == ["certificate"])
            #expect((changes.first?["after"] as? [String: Any])?["fingerprint_sha256"] as? String == (try fixture.fingerprint(second.certificate)))
            #expect(!leaks(second, in: added.text))

            // Without certificates: both are deleted. Rollback brings them back, keys included.
            document["certificates"] = []
            let removed = try await server.put("/v1/config", document)
            #expect(removed.status == 200)
            #expect(try await server.get("/v1/certificates/a").status == 404)
            let rolledBack = try await server.post("/v1/config/rollback", ["generation": generation])
            #expect(rolledBack.status == 200, "\(rolledBack.text)")
            let restored = try await server.get("/v1/certificates/a")
            #expect(restored.status == 200)
            #expect(restored.json["fingerprint_sha256"] as? String == created.json["fingerprint_sha256"] as? String)
            #expect(try await server.get("/v1/certificates/b").status == 404)
            let sealed = try await server.sql("SELECT settings->'sealed_key'->>'sealed' FROM certificates WHERE name = 'a'")
            #expect(sealed.count == 1 && !(sealed[0] ?? "").isEmpty)
        }
    }
}
