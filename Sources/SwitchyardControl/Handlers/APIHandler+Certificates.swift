import Foundation
import SwitchyardAPI
import SwitchyardCore
import SwitchyardStore

extension APIHandler {
    func listCertificates(_ input: Operations.ListCertificates.Input) async throws -> Operations.ListCertificates.Output {
        let limit = try Self.pageLimit(input.query.limit)
        let cursor = try Self.decodeCursor(input.query.cursor)
        let rows = try await store.read { try await $0.certificates(after: cursor, limit: limit + 1) }
        let page = Self.page(rows, limit: limit, key: \.name)
        return .ok(.init(body: .json(.init(items: page.items.map(Schemas.Certificate.init), nextCursor: page.next))))
    }

    func getCertificate(_ input: Operations.GetCertificate.Input) async throws -> Operations.GetCertificate.Output {
        let name = input.path.certificate
        guard let record = try await store.read({ try await $0.certificate(name) }) else {
            throw APIError.notFound("no certificate named '\(name)'")
        }
        return .ok(.init(headers: .init(eTag: Self.etag(record.version)), body: .json(.init(record))))
    }

    func createCertificate(_ input: Operations.CreateCertificate.Input) async throws -> Operations.CreateCertificate.Output {
        guard case .json(let body) = input.body else { throw APIError.unsupportedMediaType("expected application/json") }
        let name = body.name
        let spec = try Self.sealedCertificate(
            name: name, certificatePEM: body.certificatePem, privateKeyPEM: body.privateKeyPem, force: input.query.force ?? false,
            masterKey: masterKey)
        let outcome = try await idempotentWrite(
            key: input.headers.idempotencyKey, request: body, exists: { try await self.store.read { try await $0.certificate(name) } != nil }
        ) { locks in
            let transaction = locks.done()
            _ = try await transaction.generation()
            if try await transaction.read.certificate(name) != nil { throw APIError.conflict("a certificate named '\(name)' already exists") }
            try await transaction.apply(ConfigChange(resource: .certificate(name), before: nil, after: .certificate(spec)))
            let record = try await transaction.read.certificate(name)!
            return (Schemas.Certificate(record), Self.etag(record.version), "/v1/certificates/\(name)")
        }
        return .created(
            .init(
                headers: .init(eTag: outcome.etag ?? "", switchyardGeneration: outcome.generation, location: outcome.location ?? ""),
                body: .json(outcome.body)))
    }

    func replaceCertificate(_ input: Operations.ReplaceCertificate.Input) async throws -> Operations.ReplaceCertificate.Output {
        guard case .json(let body) = input.body else { throw APIError.unsupportedMediaType("expected application/json") }
        let name = input.path.certificate
        let spec = try Self.sealedCertificate(
            name: nil, certificatePEM: body.certificatePem, privateKeyPEM: body.privateKeyPem, force: input.query.force ?? false,
            masterKey: masterKey)
        let context = try caller
        let (record, generation) = try await store.write(context.writeContext) { locks in
            let transaction = locks.done()
            _ = try await transaction.generation()
            guard let current = try await transaction.read.certificate(name) else { throw APIError.notFound("no certificate named '\(name)'") }
            try Self.checkIfMatch(input.headers.ifMatch, version: current.version)
            try await transaction.apply(ConfigChange(resource: .certificate(name), before: .certificate(current.spec), after: .certificate(spec)))
            return try await transaction.read.certificate(name)!
        }
        return .ok(.init(headers: .init(eTag: Self.etag(record.version), switchyardGeneration: generation), body: .json(.init(record))))
    }

    func deleteCertificate(_ input: Operations.DeleteCertificate.Input) async throws -> Operations.DeleteCertificate.Output {
        let name = input.path.certificate
        let context = try caller
        let (_, generation) = try await store.write(context.writeContext) { locks in
            let transaction = locks.done()
            _ = try await transaction.generation()
            guard let current = try await transaction.read.certificate(name) else { throw APIError.notFound("no certificate named '\(name)'") }
            try Self.checkIfMatch(input.headers.ifMatch, version: current.version)
            let users = try await transaction.read.listeners().filter { $0.spec.tls?.certificates.contains(name) ?? false }.map(\.name)
            if !users.isEmpty {
                throw APIError.conflict(
                    "certificate '\(name)' is named by listener " + users.map { "'\($0)'" }.joined(separator: ", ")
                        + "; take it out of their tls.certificates first")
            }
            try await transaction.apply(ConfigChange(resource: .certificate(name), before: .certificate(current.spec), after: nil))
        }
        return .noContent(.init(headers: .init(switchyardGeneration: generation)))
    }

    /// Reads and checks a chain and key (400 naming each bad field, `fieldPrefix` before it), then seals
    /// the key under the master key (503 without one). An expired leaf is refused unless `force`.
    static func sealedCertificate(
        name: String?, certificatePEM: String, privateKeyPEM: String, force: Bool, masterKey: MasterKey?, fieldPrefix: String = "",
        now: Date = Date()
    ) throws -> CertificateSpec {
        var errors = FieldErrorCollector(prefix: fieldPrefix)
        if let name, !ResourceName.isValid(name) { errors.add("name", ResourceName.rule) }
        if certificatePEM.utf8.count > CertificateSpec.maxPEMBytes { errors.add("certificate_pem", "at most 65536 bytes") }
        if privateKeyPEM.utf8.count > CertificateSpec.maxPEMBytes { errors.add("private_key_pem", "at most 65536 bytes") }
        if !errors.errors.isEmpty { throw APIError.validation(errors.errors) }
        let facts: CertificateInspector.Facts
        do {
            facts = try CertificateInspector.inspect(certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM)
        } catch {
            errors.add(error.field, error.message)
            throw APIError.validation(errors.errors)
        }
        if facts.notAfter < now && !force {
            errors.add("certificate_pem", "expired on \(facts.details.notAfter); force=true stores it anyway")
        }
        if !errors.errors.isEmpty { throw APIError.validation(errors.errors) }
        guard let masterKey else { throw APIError.noMasterKey }
        let sealed = try masterKey.seal(privateKeyPEM, fingerprint: facts.details.fingerprintSha256)
        return CertificateSpec(certificatePem: certificatePEM, details: facts.details, sealedKey: sealed)
    }
}
