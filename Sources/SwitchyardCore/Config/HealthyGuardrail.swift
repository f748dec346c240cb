/// The `min_healthy_percent` guardrail: refuse a drain or delete that would leave too few backends
/// taking traffic, unless the operator forces it.
public enum HealthyGuardrail {
    /// Why the change from `before` to `after` (the pool's backends) is refused, or nil when it is allowed.
    /// A backend counts as healthy when it takes new requests and is not known to be down.
    public static func violation(
        minHealthyPercent: Int,
        before: [BackendSpec],
        after: [BackendSpec],
        isDown: (BackendSpec) -> Bool = { _ in false }
    ) -> String? {
        guard minHealthyPercent > 0, !before.isEmpty else { return nil }
        let healthyBefore = before.filter { $0.takesNewRequests && !isDown($0) }.count
        let healthyAfter = after.filter { $0.takesNewRequests && !isDown($0) }.count
        // Only changes that take serving capacity away are guarded.
        guard healthyAfter < healthyBefore else { return nil }
        guard healthyAfter * 100 < minHealthyPercent * before.count else { return nil }
        return
            "would leave \(healthyAfter) of \(before.count) backends healthy, below min_healthy_percent \(minHealthyPercent); add ?force=true to override"
    }
}
