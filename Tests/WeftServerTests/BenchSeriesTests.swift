import Foundation
import Testing

@testable import WeftTools

/// `weft bench --runs N [--against BUILD]`: the figures a series reports.
@Suite("Bench series")
struct BenchSeriesTests {
    static func figures(
        e2e: Double, ingest: Double = 10_000, halfLoadP99: Double = 20, serveCPU: Double = 600, rss: Double = 90,
        failures: Int = 0, requests: Int = 8_000
    ) -> Bench.Figures {
        Bench.Figures(
            events: 20_000, concurrency: 256, ingestPerSecond: ingest, ackP50Ms: 20, ackP99Ms: 40, halfLoadPerSecond: ingest / 2,
            halfLoadAckP50Ms: 5, halfLoadAckP99Ms: halfLoadP99, endToEndPerSecond: e2e, commandsDelivered: 16_600,
            odooRequests: requests, store: "sqlite", nodes: 1, peakRSSMegabytes: rss, serveCPUMicrosPerEvent: serveCPU,
            odooCPUMicrosPerEvent: 150, harnessPeakRSSMegabytes: 200, lookupsPerSecond: 0, lookupP50Ms: 0, lookupP99Ms: 0,
            lookupConcurrency: 64, lookupFailures: failures, coldLookupsPerSecond: 0, lookupSingleP50Ms: 0, lookupSingleP99Ms: 0)
    }

    @Test func eachFigureIsItsOwnMedian() {
        let runs = [
            Self.figures(e2e: 2_000, ingest: 14_000, serveCPU: 700, rss: 95),
            Self.figures(e2e: 2_400, ingest: 9_000, serveCPU: 600, rss: 91),
            Self.figures(e2e: 1_800, ingest: 12_000, serveCPU: 650, rss: 93),
        ]
        let median = Bench.Figures.median(of: runs)
        // No run has all of these: each figure is taken on its own.
        #expect(median.endToEndPerSecond == 2_000)
        #expect(median.ingestPerSecond == 12_000)
        #expect(median.serveCPUMicrosPerEvent == 650)
        #expect(median.peakRSSMegabytes == 93)
        #expect(median.runs == 3)
        #expect(median.line.hasSuffix(" runs=3"))
        #expect(runs[0].line.contains("runs=") == false)
    }

    @Test func anEvenCountTakesTheMeanOfTheMiddleTwo() {
        let median = Bench.Figures.median(of: [
            Self.figures(e2e: 1_000, requests: 7_000), Self.figures(e2e: 4_000, requests: 9_001),
            Self.figures(e2e: 2_000, requests: 8_000), Self.figures(e2e: 3_000, requests: 8_500),
        ])
        #expect(median.endToEndPerSecond == 2_500)
        #expect(median.odooRequests == 8_250)
    }

    @Test func oneFailedLookupInAnyRunIsReported() {
        let median = Bench.Figures.median(of: [
            Self.figures(e2e: 1, failures: 0), Self.figures(e2e: 2, failures: 3), Self.figures(e2e: 3, failures: 0),
        ])
        #expect(median.lookupFailures == 3)
    }

    @Test func pairsAlternateWhichBuildRunsFirst() {
        #expect((0..<4).map(BenchSeries.measuredFirst(inPair:)) == [true, false, true, false])
    }

    @Test func aComparisonCountsThePairsTheMeasuredBuildDidBetterIn() throws {
        let measured = [
            Self.figures(e2e: 2_100, ingest: 9_000, halfLoadP99: 18, serveCPU: 600, rss: 95),
            Self.figures(e2e: 2_300, ingest: 13_000, halfLoadP99: 30, serveCPU: 560, rss: 94),
            Self.figures(e2e: 1_900, ingest: 12_000, halfLoadP99: 22, serveCPU: 640, rss: 93),
        ]
        let other = [
            Self.figures(e2e: 2_000, ingest: 10_000, halfLoadP99: 25, serveCPU: 650, rss: 92),
            Self.figures(e2e: 2_200, ingest: 12_000, halfLoadP99: 25, serveCPU: 600, rss: 92),
            // A tie is not better.
            Self.figures(e2e: 1_900, ingest: 11_000, halfLoadP99: 20, serveCPU: 700, rss: 92),
        ]
        let series = BenchSeries(runs: measured, againstExecutable: "/builds/old/weft", against: other)
        #expect(series.betterInPairs?["e2e_per_s"] == 2)
        #expect(series.betterInPairs?["ingest_per_s"] == 2)
        // Lower is better for latency, CPU and memory.
        #expect(series.betterInPairs?["half_load_ack_p99_ms"] == 1)
        #expect(series.betterInPairs?["serve_cpu_us_per_event"] == 3)
        #expect(series.betterInPairs?["peak_rss_mb"] == 0)
        #expect(series.againstMedian?.endToEndPerSecond == 2_000)
        #expect(series.median.endToEndPerSecond == 2_100)
        let line = try #require(series.comparisonLine)
        #expect(line.hasPrefix("pairs=3 better_e2e_per_s=2 better_ingest_per_s=2 "))
        #expect(BenchSeries(runs: measured).comparisonLine == nil)
    }
}

@Suite struct BenchWorkDirectoryTests {
    @Test func aNamedDirectoryIsKeptAndATemporaryOneRemoved() {
        let named = BenchWorkDirectory.forRun(workDir: "/srv/bench", series: false, label: "")
        #expect(named == BenchWorkDirectory(path: "/srv/bench", removedAfterRun: false))
        let inSeries = BenchWorkDirectory.forRun(workDir: "/srv/bench", series: true, label: "run-2-against")
        #expect(inSeries == BenchWorkDirectory(path: "/srv/bench/run-2-against", removedAfterRun: false))
        let first = BenchWorkDirectory.forRun(workDir: nil, series: true, label: "run-1", temporaryRoot: "/tmp")
        let second = BenchWorkDirectory.forRun(workDir: nil, series: true, label: "run-1", temporaryRoot: "/tmp/")
        #expect(first.removedAfterRun && second.removedAfterRun)
        #expect(first.path.hasPrefix("/tmp/weft-bench-") && second.path.hasPrefix("/tmp/weft-bench-"))
        #expect(first.path != second.path)
    }

    @Test func onlyANewOrEmptyDirectoryIsAccepted() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bench-dir-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(BenchWorkDirectory.problem(with: root) == nil)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        #expect(BenchWorkDirectory.problem(with: root) == nil)
        let store = root + "/store.sqlite"
        #expect(FileManager.default.createFile(atPath: store, contents: Data("x".utf8)))
        let notEmpty = try #require(BenchWorkDirectory.problem(with: root))
        #expect(notEmpty.contains("is not empty (1 entry)") && notEmpty.contains("kept after the run"))
        let file = try #require(BenchWorkDirectory.problem(with: store))
        #expect(file.contains("is a file"))
        // Refusing it left what was there untouched.
        #expect(FileManager.default.contents(atPath: store) == Data("x".utf8))
    }
}
