import Synchronization

/// Records every request a simulator served (method, path, instant), so tests can check rates and call patterns.
public final class RequestLog: Sendable {
    /// One recorded request.
    public struct Entry: Sendable, Hashable, Codable {
        public var method: String
        public var path: String
        /// Milliseconds since the log was created (monotonic clock).
        public var atMs: Double
        /// The status the simulator answered.
        public var status: Int

        enum CodingKeys: String, CodingKey {
            case method, path, status
            case atMs = "at_ms"
        }
    }

    private let start = ContinuousClock.now
    private let entries = Mutex<[Entry]>([])
    private let capacity: Int

    /// - Parameter capacity: the most entries kept (oldest dropped first).
    public init(capacity: Int = 1_000_000) {
        self.capacity = capacity
    }

    /// Records a request.
    public func record(method: String, path: String, status: Int) {
        let elapsed = start.duration(to: .now)
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeFirst(entries.count - capacity + 1) }
            entries.append(Entry(method: method, path: path, atMs: ms, status: status))
        }
    }

    /// Everything recorded, oldest first.
    public var all: [Entry] { entries.withLock { $0 } }

    /// Forgets everything recorded.
    public func reset() { entries.withLock { $0.removeAll() } }

    /// The largest number of requests with a path starting with `prefix` in any sliding window of `window` length.
    public func maxRequests(in window: Duration, pathPrefix: String = "/") -> Int {
        let windowMs = Double(window.components.seconds) * 1000 + Double(window.components.attoseconds) / 1e15
        let times = all.filter { $0.path.hasPrefix(pathPrefix) && !$0.path.hasPrefix("/__sim/") }.map(\.atMs)
        var best = 0
        var low = 0
        for high in times.indices {
            while times[high] - times[low] >= windowMs { low += 1 }
            best = max(best, high - low + 1)
        }
        return best
    }
}
