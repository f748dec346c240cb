/// A run of an operation that only checks its request. The handler validates as usual, and its first step
/// towards a write ends the run: every write needs the caller (its audit row names the actor), and
/// `APIHandler.caller` throws `Finished` while a validation run is active. So no write can happen in one,
/// whatever the handler, and nothing beyond what the handler checks before asking for the caller.
enum ValidationRun {
    @TaskLocal static var active = false

    struct Finished: Error {}
}
