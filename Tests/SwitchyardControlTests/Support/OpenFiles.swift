import SwitchyardIO

/// The suite runs its servers in one process, side by side: well over a thousand descriptors at its
/// peak, more than a default soft limit of 1,024 (as on CI runners). Raised as `serve` raises it.
enum OpenFiles {
    private static let raised: Void = { OpenFileLimit.raiseToHardLimit() }()

    static func raise() { raised }
}
