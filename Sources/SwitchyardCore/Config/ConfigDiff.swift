/// The changes that turn one configuration into another, in an order a store can apply them in:
/// pools and certificates before the backends and listeners that need them, deletions of users before
/// what they use.
public enum ConfigDiff {
    public static func changes(from current: ConfigDocument, to target: ConfigDocument) -> [ConfigChange] {
        var upserts: [ConfigChange] = []
        var deletions: [ConfigChange] = []

        for name in target.certificates.keys.sorted() {
            let after = target.certificates[name]!
            let before = current.certificates[name]
            if before != after {
                upserts.append(
                    ConfigChange(resource: .certificate(name), before: before.map { .certificate($0) }, after: .certificate(after)))
            }
        }
        for name in target.pools.keys.sorted() {
            let after = target.pools[name]!.spec
            let before = current.pools[name]?.spec
            if before != after { upserts.append(ConfigChange(resource: .pool(name), before: before.map { .pool($0) }, after: .pool(after))) }
        }
        for pool in target.pools.keys.sorted() {
            let backends = target.pools[pool]!.backends
            for name in backends.keys.sorted() {
                let after = backends[name]!
                let before = current.pools[pool]?.backends[name]
                if before != after {
                    upserts.append(
                        ConfigChange(resource: .backend(name, in: pool), before: before.map { .backend($0) }, after: .backend(after)))
                }
            }
        }
        for name in target.listeners.keys.sorted() {
            let after = target.listeners[name]!
            let before = current.listeners[name]
            if before != after {
                upserts.append(ConfigChange(resource: .listener(name), before: before.map { .listener($0) }, after: .listener(after)))
            }
        }

        for name in current.listeners.keys.sorted() where target.listeners[name] == nil {
            deletions.append(ConfigChange(resource: .listener(name), before: .listener(current.listeners[name]!), after: nil))
        }
        for pool in current.pools.keys.sorted() {
            for (name, backend) in current.pools[pool]!.backends.sorted(by: { $0.key < $1.key })
            where target.pools[pool]?.backends[name] == nil {
                deletions.append(ConfigChange(resource: .backend(name, in: pool), before: .backend(backend), after: nil))
            }
        }
        for name in current.pools.keys.sorted() where target.pools[name] == nil {
            deletions.append(ConfigChange(resource: .pool(name), before: .pool(current.pools[name]!.spec), after: nil))
        }
        for name in current.certificates.keys.sorted() where target.certificates[name] == nil {
            deletions.append(ConfigChange(resource: .certificate(name), before: .certificate(current.certificates[name]!), after: nil))
        }
        return upserts + deletions
    }
}
