import Testing

@testable import WeftRuntime

/// A target's delivery loops run on one thread per loop, up to one per core: all on one thread, delivery could use one
/// core however many the machine had.
@Suite("Delivery threads")
struct DeliveryThreadsTests {
    @Test(arguments: [
        (concurrency: 4, cores: 2, threads: 2), (concurrency: 4, cores: 8, threads: 4), (concurrency: 1, cores: 8, threads: 1),
        (concurrency: 3, cores: 1, threads: 1), (concurrency: 0, cores: 2, threads: 1), (concurrency: 2, cores: 0, threads: 1),
    ])
    func loopsAreSpreadOverAThreadPerCoreAtMost(_ case: (concurrency: Int, cores: Int, threads: Int)) {
        #expect(DispatcherService.threads(concurrency: `case`.concurrency, cores: `case`.cores) == `case`.threads)
    }
}
