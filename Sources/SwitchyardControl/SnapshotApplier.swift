import Foundation
import Logging
import SwitchyardCore
import SwitchyardStore

/// Turns each configuration generation the change feed delivers into a `RuntimeConfig`, swaps it in,
/// and reports the applied generation at once (so `GET /v1/instances` shows it within milliseconds).
/// A snapshot that fails to build is refused and the previous one keeps serving.
struct SnapshotApplier: Sendable {
    let box: RuntimeConfigBox
    let store: Store
    let instanceID: UUID
    let metrics: APIMetrics
    let dataPlane: (any DataPlane)?
    /// Opens certificates' private keys for the data plane (nil: https listeners cannot be served).
    let masterKey: MasterKey?
    let logger: Logger

    /// A configuration followed by audit rows from the snapshot in force rebuilds only the pools those
    /// changed; any other (a whole read, or one after a refused snapshot) is built whole.
    func apply(_ stored: StoredConfiguration) async {
        let generation = stored.generation
        let config: RuntimeConfig
        do {
            let previous = box.config
            var openKey: RuntimeCertificate.KeyOpener?
            if let masterKey {
                openKey = { _, spec in try masterKey.open(spec.sealedKey, fingerprint: spec.details.fingerprintSha256) }
            }
            if let changed = stored.changedPools, changed.since == previous.generation {
                config = try RuntimeConfig(
                    document: stored.document, generation: generation, reusing: previous, changedPools: changed.pools, openKey: openKey)
            } else {
                config = try RuntimeConfig(document: stored.document, generation: generation, openKey: openKey)
            }
            for (name, reason) in config.unavailableCertificates.sorted(by: { $0.key < $1.key })
            where previous.unavailableCertificates[name] != reason {
                logger.error("certificate cannot be served", metadata: ["certificate": "\(name)", "error": "\(reason)"])
            }
            box.swap(config)
            metrics.setApplied(generation)
            logger.debug("applied configuration", metadata: ["generation": "\(generation)"])
        } catch {
            logger.error(
                "refused configuration; serving the previous one",
                metadata: ["generation": "\(generation)", "errors": "\(error.errors.map(\.description))"])
            return
        }
        await dataPlane?.apply(config)
        do {
            try await store.reportApplied(instance: instanceID, generation: generation)
        } catch {
            logger.warning("could not report the applied generation", metadata: ["error": "\(error)"])
        }
    }
}
