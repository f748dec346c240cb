/// A growable byte buffer for hand-written JSON: an append is a bounds check and a copy. `[UInt8]`
/// appends cost a uniqueness check, retains and generic dispatch each, which made up half of writing
/// a 10,000-backend list.
struct ByteSink: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
    }

    /// The bytes written, as an array.
    var bytes: [UInt8] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }

    /// The bytes written, as an array, and the sink emptied to be written again (its memory kept).
    mutating func takeBytes() -> [UInt8] {
        defer { count = 0 }
        return bytes
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    mutating func append(repeating byte: UInt8, count repeats: Int) {
        reserve(repeats)
        (base + count).update(repeating: byte, count: repeats)
        count += repeats
    }

    /// Lets `write` fill up to `maximum` bytes in place; it answers how many it wrote.
    mutating func write(upTo maximum: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> Int) {
        reserve(maximum)
        let written = write(UnsafeMutableBufferPointer(start: base + count, count: maximum))
        precondition(written <= maximum)
        count += written
    }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private mutating func grow(to needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.moveInitialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}
