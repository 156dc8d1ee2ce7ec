import Dispatch
import Synchronization

/// When webhooks last arrived at this node, so that the pipeline's helper workers can stand back while they arrive.
///
/// The ingress notes every delivery it receives (one relaxed atomic store, on the event loop). A pipeline worker after
/// the first asks `pause(window:)` before each claim: while webhooks arrived within the window it waits out the rest of
/// it, leaving the two-core machine to the acknowledgements and to the first worker, which never waits (so events are
/// always being processed). Once webhooks stop, every worker drains the backlog. See docs/architecture.md.
public final class IngestActivity: Sendable {
    /// The clock's reading at the last delivery; 0: none yet.
    private let last = Atomic<UInt64>(0)
    /// Monotonic nanoseconds (the system's uptime clock; a test's own).
    private let clock: @Sendable () -> UInt64

    /// The system's monotonic clock.
    public convenience init() { self.init(clock: { DispatchTime.now().uptimeNanoseconds }) }

    /// A clock of the caller's (tests).
    public init(clock: @escaping @Sendable () -> UInt64) {
        self.clock = clock
    }

    /// A delivery arrived.
    public func noteDelivery() {
        last.store(max(1, clock()), ordering: .relaxed)
    }

    /// How long a helper worker should wait before claiming: the rest of `window` after the last delivery, or `nil` when
    /// none arrived within it (or `window` is zero: helpers never wait).
    public func pause(window: Duration) -> Duration? {
        guard window > .zero else { return nil }
        let last = last.load(ordering: .relaxed)
        guard last != 0 else { return nil }
        let now = clock()
        // Another thread may have noted a delivery after this thread read the clock: that is "just now".
        let since = Duration.nanoseconds(now > last ? Int64(clamping: now - last) : 0)
        return since < window ? window - since : nil
    }
}
