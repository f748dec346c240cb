import Foundation
import Synchronization

/// Decoded `settings` columns by their text. Every snapshot reload and every write that locks a pool
/// reads its settings, which rarely change, and Foundation's JSONDecoder was a tenth of the API's
/// CPU under write load.
final class DecodedSettingsCache<Value: Decodable & Sendable>: Sendable {
    private let entries = Mutex<[String: Value]>([:])
    private let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func decode(_ text: String) throws -> Value {
        if let value = entries.withLock({ $0[text] }) { return value }
        let value = try ResourceJSON.decode(Value.self, from: text)
        entries.withLock { entries in
            // Bounded: settings that keep changing only cost a decode each.
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[text] = value
        }
        return value
    }
}
