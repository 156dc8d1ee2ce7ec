public import WeftCore

extension SQLiteStore {
    /// Store settings.
    public struct Configuration: Sendable {
        /// How durable a write is when the store answers it.
        public enum Synchronous: String, Sendable, CustomStringConvertible {
            /// An answered write survives power loss: the log holding it is flushed first (by `LogFlusher`, off the
            /// writer's thread; the writer commits at `synchronous=NORMAL`).
            case full
            /// An answered write survives a process crash, not necessarily a power loss; no flush waited for.
            case normal

            /// `full` or `normal`.
            public var description: String { rawValue }
        }

        /// Durability of an answered write; `full` unless told otherwise.
        public var synchronous: Synchronous
        /// How long a connection waits for a lock held by another process (operator commands) before failing.
        public var busyTimeout: Duration
        /// How many reader connections the pool may open.
        public var maximumReaderCount: Int
        /// Encrypts event payloads at rest when set (see `PayloadCipher`); `nil` stores them as received.
        public var payloadCipher: PayloadCipher?
        /// Whether opening applies this version's migrations (the default). `false` opens a store that another
        /// process, possibly another version of Weft, owns and migrates: `weft bench --against` reads the store of the
        /// build it compares with, whose schema it must not change under it.
        public var migrates = true

        /// - Parameters:
        ///   - synchronous: durability of an acknowledged write.
        ///   - busyTimeout: `busy_timeout` of every connection.
        ///   - maximumReaderCount: reader connections in the pool.
        ///   - payloadCipher: encryption of event payloads at rest, if any.
        public init(
            synchronous: Synchronous = .full, busyTimeout: Duration = .seconds(10), maximumReaderCount: Int = 4,
            payloadCipher: PayloadCipher? = nil
        ) {
            self.synchronous = synchronous
            self.busyTimeout = busyTimeout
            self.maximumReaderCount = maximumReaderCount
            self.payloadCipher = payloadCipher
        }
    }
}
