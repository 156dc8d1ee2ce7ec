import Synchronization
import Testing

@testable import WeftStoreSQLite

/// The SQLite store's write lane: one write at a time, the rest in arrival order, and a failing write lets the next in.
@Suite("SQLite write lane")
struct WriteLaneTests {
    @Test func writesRunOneAtATimeInArrivalOrder() async throws {
        let lane = WriteLane()
        let seen = Seen()
        let (release, holder) = AsyncStream<Void>.makeStream()
        let (entered, enter) = AsyncStream<Void>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The first holds the lane until released.
            group.addTask {
                try await lane.run {
                    enter.yield()
                    for await _ in release { break }
                    seen.order.withLock { $0.append(0) }
                }
            }
            for await _ in entered { break }
            for index in 1...5 {
                group.addTask {
                    try await lane.run {
                        let inside = seen.running.withLock { count -> Int in
                            count += 1
                            return count
                        }
                        #expect(inside == 1, "two writes inside the lane at once")
                        await Task.yield()
                        seen.order.withLock { $0.append(index) }
                        seen.running.withLock { $0 -= 1 }
                    }
                }
                // Each one is queued before the next is started, so arrival order is 1...5.
                while lane.waiting < index { await Task.yield() }
            }
            holder.yield()
            try await group.waitForAll()
        }
        #expect(seen.order.withLock { $0 } == [0, 1, 2, 3, 4, 5])
        #expect(lane.waiting == 0)
    }

    final class Seen: Sendable {
        let order = Mutex<[Int]>([])
        let running = Mutex(0)
    }

    @Test func aFailedWriteLetsTheNextIn() async throws {
        struct Failed: Error {}
        let lane = WriteLane()
        await #expect(throws: Failed.self) { try await lane.run { throw Failed() } }
        #expect(try await lane.run { 42 } == 42)
    }
}
