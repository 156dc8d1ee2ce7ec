public import WeftCore

extension SQLiteStore {
    /// Store settings.
    public struct Configuration: Sendable {
        /// SQLite `synchronous` level of the writer connection.
        public enum Synchronous: String, Sendable, CustomStringConvertible {
            /// An acknowledged write survives power loss (the WAL is flushed at every commit).
            case full
            /// An acknowledged write survives a process crash, not necessarily a power loss; faster.
            case normal

            /// The `PRAGMA synchronous` argument.
            var pragmaValue: String { rawValue.uppercased() }
            /// The number `PRAGMA synchronous` reports.
            var level: Int { self == .full ? 2 : 1 }

            /// `full` or `normal`.
            public var description: String { rawValue }
        }

        /// `synchronous` level; FULL unless told otherwise.
        public var synchronous: Synchronous
        /// How long a connection waits for a lock held by another process (operator commands) before failing.
        public var busyTimeout: Duration
        /// How many reader connections the pool may open.
        public var maximumReaderCount: Int
        /// Encrypts event payloads at rest when set (see `PayloadCipher`); `nil` stores them as received.
        public var payloadCipher: PayloadCipher?

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
