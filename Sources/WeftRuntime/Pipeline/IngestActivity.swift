import Dispatch
public import Foundation
import ServiceLifecycle
import Synchronization
import WeftCore

/// When webhooks last arrived at this node, so that the pipeline's helper workers and the delivery loops after each
/// target's first can stand back while they arrive (`HelperYield`).
///
/// The ingress notes every delivery it receives (one relaxed atomic store, on the event loop). A helper asks its pool's
/// `HelperYield` before each claim, which asks `pause(window:)`: while webhooks arrived within the window the helper
/// waits out the rest of it, leaving the two-core machine to the acknowledgements and to the pool's first member, which
/// never waits. Once webhooks stop, every member drains the backlog. See docs/architecture.md.
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

/// Whether the helpers of one pool — a node's pipeline workers, or one target's delivery loops — stand back before
/// claiming: while webhooks arrive within `window` (`IngestActivity`) and the pool's first member keeps up. The first
/// member reports each claim (`firstClaimed`); once the oldest item it claimed had waited longer than `maxLag`, the
/// helpers join in although webhooks still arrive, so a steady stream that one member cannot keep up with (a target
/// slow to answer, more events than one worker processes) never builds a backlog without bound. See
/// docs/architecture.md §2 and §4.
public final class HelperYield: Sendable {
    /// How long the first member may run behind before the helpers join in whatever arrives.
    public static let defaultMaxLag = Duration.seconds(2)

    let ingest: IngestActivity
    let window: Duration
    /// `maxLag` in seconds, as the claims' instants compare.
    let maxLagSeconds: Double
    private let behind = Atomic<Bool>(false)

    public init(ingest: IngestActivity, window: Duration, maxLag: Duration = HelperYield.defaultMaxLag) {
        self.ingest = ingest
        self.window = window
        self.maxLagSeconds = maxLag.timeInterval
    }

    /// The first member claimed: `oldest` is when the oldest item of its claim arrived (`nil`: it claimed nothing, so it
    /// is not behind).
    public func firstClaimed(oldest: Date?, at now: Date) {
        let waited = oldest.map { now.timeIntervalSince($0) } ?? 0
        behind.store(waited > maxLagSeconds, ordering: .relaxed)
    }

    /// How long a helper waits before claiming: the rest of the window after the last webhook, or `nil` when none
    /// arrived within it, when the window is zero, or when the first member is running behind.
    public func pause() -> Duration? {
        if behind.load(ordering: .relaxed) { return nil }
        return ingest.pause(window: window)
    }

    /// Waits out `pause()`, if any, ending early at a graceful shutdown. Returns whether the helper stood back (it then
    /// looks again before claiming).
    public func standBack() async -> Bool {
        guard let pause = pause() else { return false }
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        return true
    }
}
