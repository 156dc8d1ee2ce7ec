import Synchronization

/// The uid that `common.authenticate` returned, cached for the life of the client (JSON-RPC and XML-RPC).
final class OdooSession: Sendable {
    private let uid = Mutex<Int64?>(nil)
    private let requestCounter = Atomic<Int>(0)

    /// A fresh JSON-RPC request id.
    func nextRequestID() -> Int { requestCounter.wrappingAdd(1, ordering: .relaxed).newValue }

    var cachedUID: Int64? { uid.withLock { $0 } }

    func store(_ value: Int64) { uid.withLock { $0 = value } }

    /// Forgets the uid (after `AccessDenied`, e.g. a rotated key), so the next call authenticates again.
    func invalidate() { uid.withLock { $0 = nil } }
}
